DROP TABLE output_lines;
DROP TABLE process_files;
DROP TABLE process_dependencies;
DROP TABLE process_parameters;
DROP TABLE processes;
DROP TABLE api_tokens;
DROP TABLE user_groups;
DROP TABLE users;
