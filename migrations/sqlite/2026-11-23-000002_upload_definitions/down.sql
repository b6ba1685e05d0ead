DROP TABLE upload_files;
DROP TABLE upload_definitions;
