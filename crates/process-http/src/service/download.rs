//! Serving one stored file: actix-files does Range (206/416), ETag and If-None-Match; we add
//! an attachment disposition with a safe name. The file is opened by `Layout::open_stored`,
//! so only what was registered is ever served.

use actix_files::NamedFile;
use actix_web::body::BoxBody;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use process_core::ProcessFile;
use process_datadir::StoredFileError;

use crate::error::ApiError;
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
    // The path only names the file (content type); the bytes come from the file opened above.
    let named = NamedFile::from_file(source, &path).map_err(ApiError::internal)?;
    let named = named.set_content_disposition(attachment(&file.name));
    // RFC 9110 §14.2: a Range in a unit other than bytes is ignored. actix-files would answer
    // 416 instead, so such requests get the whole file without it looking at the header.
    let foreign_unit = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim_start().to_ascii_lowercase().starts_with("bytes="));
    if foreign_unit {
        return whole(named).await;
    }
    let size = named.metadata().len();
    let source = named.file().try_clone().map_err(ApiError::internal)?;
    let mut res = named.into_response(req);
    // actix-files answers a range that covers the whole file (`bytes=0-`) with 200 and a
    // Content-Range; a Content-Range belongs to a 206.
    if res.status() == StatusCode::OK && res.headers().contains_key(header::CONTENT_RANGE) {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    // actix-files decided status and headers (Range, ETag, preconditions); the bytes are sent
    // in large chunks rather than its 64 KiB ones, which cap throughput near 1 GB/s.
    if matches!(res.status(), StatusCode::OK | StatusCode::PARTIAL_CONTENT) {
        let (offset, length) = match res.headers().get(header::CONTENT_RANGE) {
            Some(v) => served_range(v.to_str().unwrap_or_default()).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("unexpected Content-Range {v:?}"))
            })?,
            None => (0, size),
        };
        res = res.set_body(body(source, offset, length).await?);
    }
    Ok(res)
}

/// `bytes FIRST-LAST/SIZE` (as actix-files wrote it) → (offset, length).
fn served_range(content_range: &str) -> Option<(u64, u64)> {
    let (first, last) = content_range
        .strip_prefix("bytes ")?
        .split_once('/')?
        .0
        .split_once('-')?;
    let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
    (last >= first).then(|| (first, last - first + 1))
}

/// Bytes read per chunk of a download.
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

/// The whole file as a 200, with the headers `NamedFile` would give it.
async fn whole(named: NamedFile) -> Result<HttpResponse, ApiError> {
    let length = named.metadata().len();
    let content_type = named.content_type().to_string();
    let disposition = named.content_disposition().to_string();
    let source = named.file().try_clone().map_err(ApiError::internal)?;
    let body = body(source, 0, length).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_ranges_are_read_back() {
        assert_eq!(served_range("bytes 0-9/100"), Some((0, 10)));
        assert_eq!(served_range("bytes 95-99/100"), Some((95, 5)));
        assert_eq!(served_range("bytes */100"), None);
        assert_eq!(served_range("bytes 9-0/100"), None);
    }

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(safe_filename("report.csv"), "report.csv");
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("a\"b\r\n.txt"), "a_b__.txt");
        assert_eq!(safe_filename(".."), "download");
        assert_eq!(safe_filename("résumé.pdf"), "r_sum_.pdf");
    }
}
