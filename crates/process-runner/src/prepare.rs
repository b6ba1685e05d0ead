//! Preparing a run: a fresh private working directory, read-only copies of the uploaded
//! inputs in it, the argv of the script protocol and an environment built from nothing.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;

use process_core::file::INPUT_FILETYPE;
use process_core::params::argv;
use process_core::{Process, ProcessFile, Script};
use process_datadir::{private_dir, read_only_copy, Layout, StoredFileError};

use crate::confine::command_dirs;
use crate::executor::Job;

/// The few variables a script gets from the service's own environment.
#[derive(Debug, Clone)]
pub struct BaseEnv {
    pub path: String,
    pub lang: String,
}

impl BaseEnv {
    /// PATH and LANG of the service (with safe defaults); nothing else is passed on.
    pub fn from_service() -> Self {
        Self {
            path: std::env::var("PATH")
                .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned()),
            lang: std::env::var("LANG").unwrap_or_else(|_| "C.UTF-8".to_owned()),
        }
    }
}

/// A safe extension taken from a client's file name (`data.csv` → `.csv`), so scripts that
/// look at extensions still work. Only short alphanumeric extensions are kept.
fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=10).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            format!(".{ext}")
        }
        _ => String::new(),
    }
}

/// Creates the run's directories, copies the inputs and builds the job.
pub fn prepare(
    layout: &Layout,
    script: &Script,
    process: &Process,
    files: &[ProcessFile],
    base: &BaseEnv,
) -> io::Result<Job> {
    let run = layout.run_dir(process.id);
    let work = layout.work_dir(process.id);
    let output = layout.output_dir(process.id);
    let tmp = layout.run_tmp_dir(process.id);
    for dir in [&run, &work, &output, &tmp] {
        private_dir(dir)?;
    }
    let mut inputs: HashMap<&str, PathBuf> = HashMap::new();
    let inputs_dir = work.join("inputs");
    for f in files.iter().filter(|f| f.filetype == INPUT_FILETYPE) {
        // Opened like a download: only the registered bytes, never through a symlink.
        let mut source = match layout.open_stored(f) {
            Ok(source) => source,
            Err(StoredFileError::Missing) => continue,
            Err(StoredFileError::Refused(why)) => {
                tracing::warn!(process = %process.id, file = %f.id, reason = %why, "input file refused");
                continue;
            }
            Err(StoredFileError::Io(e)) => return Err(e),
        };
        private_dir(&inputs_dir)?;
        // The name inside the working directory is the file's id: never client text. The
        // script gets its own read-only copy: whatever it does to it, the stored bytes stay
        // those whose MD5 was recorded.
        let target = inputs_dir.join(format!("{}{}", f.id, extension(&f.name)));
        read_only_copy(&mut source, &target)?;
        inputs.insert(f.name.as_str(), target);
    }
    // Every file parameter names an input validated at launch; one that is missing now
    // (its bytes gone) fails the run rather than passing the client's name on as a path.
    let missing = process.parameters.iter().find(|p| {
        script.parameter(&p.name).map(|s| s.ty) == Some(process_core::ParamType::File)
            && !inputs.contains_key(p.value.as_str())
    });
    if let Some(p) = missing {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "the input file {:?} of parameter {} is missing",
                p.value, p.name
            ),
        ));
    }
    let argv = argv(script, &process.parameters, |name| {
        inputs
            .get(name)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    });
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), base.path.clone());
    env.insert("LANG".to_owned(), base.lang.clone());
    env.insert("HOME".to_owned(), work.display().to_string());
    env.insert("TMPDIR".to_owned(), tmp.display().to_string());
    env.extend(script.env.clone());
    env.insert("PROCESS_ID".to_owned(), process.id.to_string());
    env.insert(
        "PROCESS_OUTPUT_DIR".to_owned(),
        output.display().to_string(),
    );
    Ok(Job {
        process: process.id,
        argv,
        env,
        work_dir: work.clone(),
        writable: vec![work, output, tmp],
        readable: command_dirs(&script.command),
        timeout: script.max_clock_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_kept_only_when_safe() {
        assert_eq!(extension("data.csv"), ".csv");
        assert_eq!(extension("a.tar.gz"), ".gz");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("x./../y"), "");
        assert_eq!(extension("noext"), "");
        assert_eq!(extension("a.verylongextension"), "");
    }
}
