//! Upload sessions ("upload definitions", after FOLIO's data-import API): a user declares the
//! files they will send, uploads each one's bytes, and a process launch consumes the whole
//! session. A definition's status follows from its files' statuses until a process consumes
//! it; the file and definition events name the statuses they may start from, so the store
//! can apply them as compare-and-sets.

use std::collections::HashSet;

use time::OffsetDateTime;

use crate::ids::{FileId, ProcessId, UploadId, UserId};

string_enum!(
    /// Where an upload definition is. NEW (nothing sent yet) → IN_PROGRESS (some files sent
    /// or being sent) → LOADED (every file UPLOADED) → COMPLETED (consumed by a process; no
    /// change after that).
    UploadStatus, "uploadDefinition status" {
        New => "NEW",
        InProgress => "IN_PROGRESS",
        Loaded => "LOADED",
        Completed => "COMPLETED",
    }
);

string_enum!(
    /// Where one file of an upload definition is. NEW → UPLOADING → UPLOADED | ERROR, and
    /// ERROR → UPLOADING again for a retry.
    FileStatus, "fileDefinition status" {
        New => "NEW",
        Uploading => "UPLOADING",
        Uploaded => "UPLOADED",
        Error => "ERROR",
    }
);

/// Most file definitions one upload definition may hold.
pub const MAX_FILES: usize = 64;
/// Longest accepted file name, in characters (as the API document and JSON Schema count them;
/// names are data, never paths, so no file system limit applies).
pub const MAX_NAME_CHARS: usize = 255;
/// Longest accepted `uiKey`, in characters.
pub const MAX_UI_KEY_CHARS: usize = 255;

/// Why an upload definition or one of its files cannot do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    #[error("cannot {event} an upload definition that is {from}")]
    Definition {
        from: UploadStatus,
        event: &'static str,
    },
    #[error("cannot {event} file {name:?}: it is {from}")]
    File {
        name: String,
        from: FileStatus,
        event: &'static str,
    },
    #[error(
        "file name {name:?} must be 1 to {MAX_NAME_CHARS} characters without control characters"
    )]
    InvalidName { name: String },
    #[error("uiKey must be at most {MAX_UI_KEY_CHARS} characters without control characters")]
    InvalidUiKey,
    #[error("two file definitions are named {name:?}")]
    DuplicateName { name: String },
    #[error("file definition {id} is not part of this upload definition")]
    UnknownFile { id: FileId },
    #[error("an upload definition holds at most {MAX_FILES} files")]
    TooManyFiles,
    #[error("the upload definition changed while it was being used; try again")]
    Changed,
}

impl UploadStatus {
    /// The status of a definition that no process consumed yet, from its files' statuses:
    /// LOADED when there are files and all are UPLOADED, IN_PROGRESS when any was touched,
    /// NEW otherwise. Never COMPLETED: only [`DefinitionEvent::Consume`] leads there.
    pub fn derive(files: impl IntoIterator<Item = FileStatus>) -> UploadStatus {
        let (mut any, mut all_uploaded, mut touched) = (false, true, false);
        for f in files {
            any = true;
            all_uploaded &= f == FileStatus::Uploaded;
            touched |= f != FileStatus::New;
        }
        match (any && all_uploaded, touched) {
            (true, _) => UploadStatus::Loaded,
            (false, true) => UploadStatus::InProgress,
            (false, false) => UploadStatus::New,
        }
    }
}

/// Something asked of an upload definition as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionEvent {
    /// Add, rename, delete or upload files: any status but COMPLETED; the new status is
    /// derived from the files afterwards.
    Edit,
    /// A process takes the files: LOADED → COMPLETED.
    Consume,
}

impl DefinitionEvent {
    pub const ALL: &'static [DefinitionEvent] = &[DefinitionEvent::Edit, DefinitionEvent::Consume];

    pub fn name(self) -> &'static str {
        match self {
            DefinitionEvent::Edit => "change",
            DefinitionEvent::Consume => "launch a process with",
        }
    }

    /// The statuses this event may be applied to.
    pub fn sources(self) -> &'static [UploadStatus] {
        match self {
            DefinitionEvent::Edit => &[
                UploadStatus::New,
                UploadStatus::InProgress,
                UploadStatus::Loaded,
            ],
            DefinitionEvent::Consume => &[UploadStatus::Loaded],
        }
    }

    pub fn check(self, from: UploadStatus) -> Result<(), UploadError> {
        if self.sources().contains(&from) {
            Ok(())
        } else {
            Err(UploadError::Definition {
                from,
                event: self.name(),
            })
        }
    }
}

/// A change of one file's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEvent {
    /// NEW | ERROR → UPLOADING: bytes start to arrive.
    Start,
    /// UPLOADING → UPLOADED: every byte arrived and is stored.
    Finish,
    /// UPLOADING → ERROR: the upload failed or was aborted; its bytes are gone.
    Fail,
}

impl FileEvent {
    pub const ALL: &'static [FileEvent] = &[FileEvent::Start, FileEvent::Finish, FileEvent::Fail];

    pub fn name(self) -> &'static str {
        match self {
            FileEvent::Start => "upload",
            FileEvent::Finish => "finish uploading",
            FileEvent::Fail => "fail uploading",
        }
    }

    pub fn sources(self) -> &'static [FileStatus] {
        match self {
            FileEvent::Start => &[FileStatus::New, FileStatus::Error],
            FileEvent::Finish | FileEvent::Fail => &[FileStatus::Uploading],
        }
    }

    pub fn target(self) -> FileStatus {
        match self {
            FileEvent::Start => FileStatus::Uploading,
            FileEvent::Finish => FileStatus::Uploaded,
            FileEvent::Fail => FileStatus::Error,
        }
    }

    /// The status after this event, for the file `name` now in `from`.
    pub fn check(self, name: &str, from: FileStatus) -> Result<FileStatus, UploadError> {
        if self.sources().contains(&from) {
            Ok(self.target())
        } else {
            Err(UploadError::File {
                name: name.to_owned(),
                from,
                event: self.name(),
            })
        }
    }
}

/// One file of an upload definition ("file definition").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    pub id: FileId,
    pub upload_id: UploadId,
    /// The client's file name: data, never a path. Unique within its definition.
    pub name: String,
    /// An opaque key a client may attach before the definition is saved (FOLIO's `uiKey`).
    pub ui_key: Option<String>,
    pub status: FileStatus,
    pub create_date: OffsetDateTime,
    /// Set once UPLOADED.
    pub uploaded_date: Option<OffsetDateTime>,
    pub size_bytes: Option<u64>,
    /// Lower-case hex MD5 of the content, once UPLOADED.
    pub md5: Option<String>,
}

/// An upload definition with its files, in creation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDefinition {
    pub id: UploadId,
    pub owner: UserId,
    pub status: UploadStatus,
    /// The process that consumed it, once COMPLETED.
    pub process_id: Option<ProcessId>,
    pub create_date: OffsetDateTime,
    pub updated_date: OffsetDateTime,
    pub updated_by: UserId,
    pub files: Vec<UploadFile>,
}

impl UploadDefinition {
    pub fn file(&self, id: FileId) -> Option<&UploadFile> {
        self.files.iter().find(|f| f.id == id)
    }
}

/// A file definition as a client declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUploadFile {
    pub name: String,
    pub ui_key: Option<String>,
}

impl NewUploadFile {
    /// Checks the name and key; names are shown and matched, never used as paths.
    pub fn check(&self) -> Result<(), UploadError> {
        let name = &self.name;
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(UploadError::InvalidName { name: name.clone() });
        }
        if let Some(key) = &self.ui_key {
            if key.chars().count() > MAX_UI_KEY_CHARS || key.chars().any(char::is_control) {
                return Err(UploadError::InvalidUiKey);
            }
        }
        Ok(())
    }
}

/// Checks the file names a definition would hold after a change: each valid, none twice, not
/// too many. A launch finds a session's files by name, so names must be unique.
pub fn check_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), UploadError> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(UploadError::DuplicateName {
                name: name.to_owned(),
            });
        }
    }
    if seen.len() > MAX_FILES {
        return Err(UploadError::TooManyFiles);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use FileStatus as F;
    use UploadStatus as U;

    /// Every (file status, event) pair: the next status, or None when illegal.
    #[test]
    fn every_file_state_event_pair() {
        let table: [(FileStatus, FileEvent, Option<FileStatus>); 12] = [
            (F::New, FileEvent::Start, Some(F::Uploading)),
            (F::New, FileEvent::Finish, None),
            (F::New, FileEvent::Fail, None),
            (F::Uploading, FileEvent::Start, None),
            (F::Uploading, FileEvent::Finish, Some(F::Uploaded)),
            (F::Uploading, FileEvent::Fail, Some(F::Error)),
            (F::Uploaded, FileEvent::Start, None),
            (F::Uploaded, FileEvent::Finish, None),
            (F::Uploaded, FileEvent::Fail, None),
            (F::Error, FileEvent::Start, Some(F::Uploading)),
            (F::Error, FileEvent::Finish, None),
            (F::Error, FileEvent::Fail, None),
        ];
        for (from, event, expected) in table {
            let got = event.check("a.csv", from);
            match expected {
                Some(to) => assert_eq!(got, Ok(to), "{from} {event:?}"),
                None => assert_eq!(
                    got,
                    Err(UploadError::File {
                        name: "a.csv".into(),
                        from,
                        event: event.name()
                    }),
                    "{from} {event:?}"
                ),
            }
        }
        assert_eq!(table.len(), FileStatus::ALL.len() * FileEvent::ALL.len());
    }

    /// Every (definition status, event) pair: allowed or not.
    #[test]
    fn every_definition_state_event_pair() {
        use DefinitionEvent::{Consume, Edit};
        let table: [(UploadStatus, DefinitionEvent, bool); 8] = [
            (U::New, Edit, true),
            (U::New, Consume, false),
            (U::InProgress, Edit, true),
            (U::InProgress, Consume, false),
            (U::Loaded, Edit, true),
            (U::Loaded, Consume, true),
            (U::Completed, Edit, false),
            (U::Completed, Consume, false),
        ];
        for (from, event, allowed) in table {
            let got = event.check(from);
            if allowed {
                assert_eq!(got, Ok(()), "{from} {event:?}");
            } else {
                assert_eq!(
                    got,
                    Err(UploadError::Definition {
                        from,
                        event: event.name()
                    }),
                    "{from} {event:?}"
                );
            }
        }
        assert_eq!(
            table.len(),
            UploadStatus::ALL.len() * DefinitionEvent::ALL.len()
        );
    }

    #[test]
    fn definition_status_follows_the_files() {
        let cases: &[(&[FileStatus], UploadStatus)] = &[
            (&[], U::New),
            (&[F::New], U::New),
            (&[F::New, F::New], U::New),
            (&[F::New, F::Uploading], U::InProgress),
            (&[F::New, F::Uploaded], U::InProgress),
            (&[F::Error], U::InProgress),
            (&[F::Uploaded, F::Error], U::InProgress),
            (&[F::Uploaded, F::Uploading], U::InProgress),
            (&[F::Uploaded], U::Loaded),
            (&[F::Uploaded, F::Uploaded], U::Loaded),
        ];
        for (files, expected) in cases {
            assert_eq!(
                UploadStatus::derive(files.iter().copied()),
                *expected,
                "{files:?}"
            );
        }
    }

    #[test]
    fn statuses_round_trip_and_errors_read_well() {
        for s in UploadStatus::ALL {
            assert_eq!(s.as_str().parse::<UploadStatus>(), Ok(*s));
        }
        for s in FileStatus::ALL {
            assert_eq!(s.as_str().parse::<FileStatus>(), Ok(*s));
        }
        assert_eq!(
            "DONE".parse::<UploadStatus>().unwrap_err().to_string(),
            "invalid uploadDefinition status \"DONE\": expected one of NEW, IN_PROGRESS, LOADED, COMPLETED"
        );
        assert_eq!(
            DefinitionEvent::Consume
                .check(U::Completed)
                .unwrap_err()
                .to_string(),
            "cannot launch a process with an upload definition that is COMPLETED"
        );
        assert_eq!(
            FileEvent::Start
                .check("a.csv", F::Uploaded)
                .unwrap_err()
                .to_string(),
            "cannot upload file \"a.csv\": it is UPLOADED"
        );
    }

    #[test]
    fn names_are_checked() {
        let new = |name: &str| NewUploadFile {
            name: name.into(),
            ui_key: None,
        };
        assert_eq!(new("marc.mrc").check(), Ok(()));
        assert_eq!(new("../odd name.csv").check(), Ok(()));
        for bad in ["", "a\nb", "tab\there", &"x".repeat(256)] {
            assert!(
                matches!(new(bad).check(), Err(UploadError::InvalidName { .. })),
                "{bad:?}"
            );
        }
        let keyed = NewUploadFile {
            name: "a".into(),
            ui_key: Some("k\u{7}".into()),
        };
        assert_eq!(keyed.check(), Err(UploadError::InvalidUiKey));

        assert_eq!(check_names(["a", "b"]), Ok(()));
        assert_eq!(
            check_names(["a", "b", "a"]),
            Err(UploadError::DuplicateName { name: "a".into() })
        );
        let many: Vec<String> = (0..=MAX_FILES).map(|i| i.to_string()).collect();
        assert_eq!(
            check_names(many.iter().map(String::as_str)),
            Err(UploadError::TooManyFiles)
        );
    }
}
