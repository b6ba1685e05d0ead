//! Files: a process's files and their downloads, archives, upload sessions.

use std::path::Path;

use futures_util::StreamExt;
use md5::{Digest, Md5};
use reqwest::RequestBuilder;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::client::{embedded, file_error, json, page_numbers, segment, Client, ProcessRef};
use crate::error::{Error, Result};
use crate::types::{Bitstream, UploadSession};

impl Client {
    /// A new upload session for files of these names; answers it with its file ids.
    pub async fn create_upload(&self, names: &[&str]) -> Result<UploadSession> {
        let body = serde_json::json!({
            "fileDefinitions": names.iter().map(|n| serde_json::json!({"name": n})).collect::<Vec<_>>(),
        });
        let req = self
            .http
            .post(self.url("/api/system/uploadDefinitions"))
            .json(&body);
        json(self.send(req).await?).await
    }

    /// Uploads the file at `path` (streamed) as the session's file `file_id`; answers the
    /// session as it is then (`LOADED` once every file is there).
    pub async fn upload_file(
        &self,
        session: &UploadSession,
        file_id: &str,
        path: &Path,
    ) -> Result<UploadSession> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| file_error(path, source))?;
        let url = self.url(&format!(
            "/api/system/uploadDefinitions/{}/files/{}",
            segment(&session.id),
            segment(file_id)
        ));
        let req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(
                tokio_util::io::ReaderStream::new(file),
            ));
        self.send(req).await?;
        self.get_json(&format!(
            "/api/system/uploadDefinitions/{}",
            segment(&session.id)
        ))
        .await
    }

    /// The process's files: the stored ones, then its console log (`script_output`).
    pub async fn files(&self, p: impl Into<ProcessRef>) -> Result<Vec<Bitstream>> {
        let p = p.into();
        let mut files = Vec::new();
        for page in 0.. {
            let body: Value = self
                .get_process_json(&p, &format!("/files?page={page}&size=100"))
                .await?;
            let raw: Vec<RawBitstream> = embedded(&body, "bitstreams")?;
            files.extend(raw.into_iter().map(Bitstream::from));
            let (number, total) = page_numbers(&body);
            if number + 1 >= total {
                break;
            }
        }
        Ok(files)
    }

    /// Downloads a file into `dest`, streamed, and checks its MD5; answers the bytes written.
    /// A console log that is still growing is not checked (its MD5 moves with it).
    pub async fn download(
        &self,
        p: impl Into<ProcessRef>,
        file: &Bitstream,
        dest: &Path,
    ) -> Result<u64> {
        self.download_with(p, file, dest, |_| {}).await
    }

    /// [`Client::download`], telling `progress` the bytes written so far after each chunk.
    pub async fn download_with(
        &self,
        p: impl Into<ProcessRef>,
        file: &Bitstream,
        dest: &Path,
        progress: impl FnMut(u64),
    ) -> Result<u64> {
        let p = p.into();
        // Fetched at this client's base, whatever host the link names: the token goes only
        // where the client was told to send it.
        let url = self.url(&format!(
            "/api/core/bitstreams/{}/content",
            segment(&file.uuid)
        ));
        let req = self.authorize(self.http.get(url), &p);
        // A console log still growing has no MD5 to hold it to yet.
        let expected = (file.file_type != "script_output").then_some(file.md5.as_str());
        self.save(req, dest, expected, &file.name, progress).await
    }

    /// Every stored file of the process as one zip, streamed into `dest`; answers its size.
    pub async fn archive(&self, p: impl Into<ProcessRef>, dest: &Path) -> Result<u64> {
        let p = p.into();
        let req = self.process_request(&p, "/archive");
        self.save(req, dest, None, "archive", |_| {}).await
    }

    /// Streams an answer's body into `<dest>.part`, checks its MD5 when one is expected, then
    /// renames it to `dest`; answers its size. Nothing is left under either name on failure.
    async fn save(
        &self,
        req: RequestBuilder,
        dest: &Path,
        expected_md5: Option<&str>,
        name: &str,
        mut progress: impl FnMut(u64),
    ) -> Result<u64> {
        let res = self.send(req).await?;
        let mut part = dest.as_os_str().to_owned();
        part.push(".part");
        let part = std::path::PathBuf::from(part);
        let written = async {
            let mut out = tokio::fs::File::create(&part)
                .await
                .map_err(|source| file_error(&part, source))?;
            let mut md5 = Md5::new();
            let mut written = 0;
            let mut body = res.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                md5.update(&chunk);
                out.write_all(&chunk)
                    .await
                    .map_err(|source| file_error(&part, source))?;
                written += chunk.len() as u64;
                progress(written);
            }
            out.sync_all()
                .await
                .map_err(|source| file_error(&part, source))?;
            let actual = hex::encode(md5.finalize());
            match expected_md5 {
                Some(expected) if expected != actual => Err(Error::Checksum {
                    name: name.to_owned(),
                    expected: expected.to_owned(),
                    actual,
                }),
                _ => Ok(written),
            }
        }
        .await;
        match written {
            Ok(written) => {
                tokio::fs::rename(&part, dest)
                    .await
                    .map_err(|source| file_error(dest, source))?;
                Ok(written)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                Err(e)
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBitstream {
    uuid: String,
    name: String,
    size_bytes: u64,
    metadata: serde_json::Map<String, Value>,
    check_sum: Value,
    #[serde(rename = "_links")]
    links: Value,
}

impl From<RawBitstream> for Bitstream {
    fn from(raw: RawBitstream) -> Self {
        let file_type = raw
            .metadata
            .get("dspace.process.filetype")
            .and_then(|values| values[0]["value"].as_str())
            .unwrap_or_default()
            .to_owned();
        Self {
            uuid: raw.uuid,
            name: raw.name,
            size_bytes: raw.size_bytes,
            file_type,
            md5: raw.check_sum["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            content_url: raw.links["content"]["href"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}
