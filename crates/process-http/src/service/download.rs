//! Serving one stored file: `conditional` decides between 200, 206, 304, 412 and 416 (Range,
//! If-Range, ETag and date preconditions); we add an attachment disposition with a safe name.
//! The file is opened by `Layout::open_stored`, so only what was registered is ever served.

use actix_files::NamedFile;
use actix_web::body::BoxBody;
use std::time::SystemTime;

use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ETag, EntityTag,
    ExtendedValue, HttpDate, LastModified,
};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use process_core::ProcessFile;
use process_datadir::StoredFileError;

use crate::error::ApiError;
use crate::service::conditional::{self, Answer, Validators};
use crate::state::AppState;

/// An ASCII name for `filename=`: the last path segment, with anything risky replaced.
pub fn safe_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ()+,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "download".to_owned()
    } else {
        trimmed.to_owned()
    }
}

pub fn attachment(name: &str) -> ContentDisposition {
    let last = crate::names::shown(name.rsplit(['/', '\\']).next().unwrap_or(name)).into_owned();
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(safe_filename(name)),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: last.into_bytes(),
            }),
        ],
    }
}

pub async fn serve(
    state: &AppState,
    req: &HttpRequest,
    file: &ProcessFile,
) -> Result<HttpResponse, ApiError> {
    let layout = state.store.layout().clone();
    let path = layout.resolve(&file.storage_path).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("invalid storage path for {}", file.id))
    })?;
    let registered = file.clone();
    let opened = tokio::task::spawn_blocking(move || layout.open_stored(&registered))
        .await
        .map_err(ApiError::internal)?;
    let gone = || ApiError::NotFound(format!("the content of file {} is gone", file.id));
    let source = match opened {
        Ok(f) => f,
        Err(StoredFileError::Missing) => return Err(gone()),
        // Something else stands where the registered file was (a symlink, another size):
        // never served, and answered like a missing file.
        Err(StoredFileError::Refused(why)) => {
            tracing::warn!(file = %file.id, path = %file.storage_path, reason = %why, "refused to serve a file that is not the one registered");
            return Err(gone());
        }
        Err(StoredFileError::Io(e)) => return Err(ApiError::internal(e)),
    };
    // actix-files names the content type from the path; the bytes come from the file opened
    // above, and the answer is decided by `conditional` (see there why not by actix-files).
    let named = NamedFile::from_file(source, &path).map_err(ApiError::internal)?;
    let content_type = named.content_type().to_string();
    let size = named.metadata().len();
    let source = named.file().try_clone().map_err(ApiError::internal)?;
    // A stored file never changes, so its MD5 is a strong ETag that survives moves and
    // restores of the data directory.
    let validators = Validators {
        etag: EntityTag::new_strong(file.md5.clone()),
        last_modified: HttpDate::from(SystemTime::from(file.creation_time)),
    };
    let mut res = HttpResponse::build(StatusCode::OK);
    res.insert_header(ETag(validators.etag.clone()))
        .insert_header(LastModified(validators.last_modified));
    let (offset, length) = match conditional::decide(req, &validators, size) {
        Answer::NotModified => return Ok(res.status(StatusCode::NOT_MODIFIED).finish()),
        Answer::PreconditionFailed => {
            return Ok(HttpResponse::build(StatusCode::PRECONDITION_FAILED).finish())
        }
        // No disposition: the answer is an error, not the file.
        Answer::Unsatisfiable => {
            return Ok(HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE)
                .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                .finish())
        }
        Answer::Whole => (0, size),
        Answer::Part { start, length } => {
            res.status(StatusCode::PARTIAL_CONTENT).insert_header((
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{size}", start + length - 1),
            ));
            (start, length)
        }
    };
    Ok(res
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(attachment(&file.name))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .body(body(source, offset, length).await?))
}

/// Bytes read per chunk of a download: large ones, as actix-files' 64 KiB cap throughput
/// near 1 GB/s.
const DOWNLOAD_CHUNK: usize = 1024 * 1024;

async fn body(source: std::fs::File, offset: u64, length: u64) -> Result<BoxBody, ApiError> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::from_std(source);
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(ApiError::internal)?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(length), DOWNLOAD_CHUNK);
    Ok(BoxBody::new(actix_web::body::SizedStream::new(
        length, stream,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(safe_filename("report.csv"), "report.csv");
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("a\"b\r\n.txt"), "a_b__.txt");
        assert_eq!(safe_filename(".."), "download");
        assert_eq!(safe_filename("résumé.pdf"), "r_sum_.pdf");
    }
}
