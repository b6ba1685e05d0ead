//! What a launch sends: parameters, files, dependencies, a start time.

use std::path::PathBuf;

use time::OffsetDateTime;

/// A launch of a script, built up and then given to [`crate::Client::launch`].
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub(crate) params: Vec<(String, Option<String>)>,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) depends_on: Vec<String>,
    pub(crate) afterany: bool,
    pub(crate) start_time: Option<OffsetDateTime>,
    pub(crate) upload: Option<String>,
}

impl Launch {
    pub fn new() -> Self {
        Self::default()
    }

    /// A parameter with a value (`-n 5`).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), Some(value.into())));
        self
    }

    /// A boolean parameter that is set (`--header`).
    pub fn flag(mut self, name: impl Into<String>) -> Self {
        self.params.push((name.into(), None));
        self
    }

    /// A file parameter: the file at `path` is uploaded and the parameter names it.
    pub fn file(mut self, name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.params.push((name.into(), Some(file_name)));
        self.files.push(path);
        self
    }

    /// Start only after this process has COMPLETED (or ended, with [`Launch::after_any`]).
    pub fn after(mut self, process_id: impl Into<String>) -> Self {
        self.depends_on.push(process_id.into());
        self
    }

    /// The dependencies count once they have ended, whatever their outcome.
    pub fn after_any(mut self) -> Self {
        self.afterany = true;
        self
    }

    /// Take the files of a LOADED upload session (see [`crate::Client::create_upload`]);
    /// file parameters name them.
    pub fn upload(mut self, session_id: impl Into<String>) -> Self {
        self.upload = Some(session_id.into());
        self
    }

    /// Do not start before `time`.
    pub fn at(mut self, time: OffsetDateTime) -> Self {
        self.start_time = Some(time);
        self
    }
}
