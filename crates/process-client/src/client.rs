//! The client: one method per call of the API.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use md5::{Digest, Md5};
use reqwest::{multipart, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::launch::Launch;
use crate::types::{Bitstream, Event, Line, Lines, Page, Process, Script, UploadSession, User};

/// A process to ask about: its id and, for an anonymous process, its capability.
#[derive(Debug, Clone)]
pub struct ProcessRef {
    pub id: String,
    pub access: Option<String>,
}

impl From<&Process> for ProcessRef {
    fn from(p: &Process) -> Self {
        Self {
            id: p.process_id.clone(),
            access: p.access_token.clone(),
        }
    }
}

impl From<&str> for ProcessRef {
    fn from(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            access: None,
        }
    }
}

impl From<u64> for ProcessRef {
    fn from(id: u64) -> Self {
        Self {
            id: id.to_string(),
            access: None,
        }
    }
}

/// A processd at a base URL (`http://host:port`), as an anonymous caller or with a token (an
/// API token or a login JWT).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    poll: Duration,
}

impl Client {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base_url.into().trim_end_matches('/').to_owned(),
            token: None,
            poll: Duration::from_millis(200),
        }
    }

    /// Calls with `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// How often [`Client::wait`] asks (200 ms by default).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A password login; answers the login JWT (valid 30 minutes), for [`Client::with_token`].
    pub async fn login(&self, user: &str, password: &str) -> Result<String> {
        let res = self
            .http
            .post(self.url("/api/authn/login"))
            .form(&[("user", user), ("password", password)])
            .send()
            .await?;
        let res = checked(res).await?;
        res.headers()
            .get(reqwest::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::to_owned)
            .ok_or_else(|| Error::Protocol("a login without a token".to_owned()))
    }

    /// Who the token belongs to (`None` when anonymous).
    pub async fn whoami(&self) -> Result<Option<User>> {
        let status: Value = self.get_json("/api/authn/status").await?;
        let eperson = &status["_embedded"]["eperson"];
        Ok(eperson["name"].as_str().map(|name| User {
            name: name.to_owned(),
            uuid: eperson["uuid"].as_str().unwrap_or_default().to_owned(),
            admin: eperson["admin"].as_bool().unwrap_or(false),
        }))
    }

    /// Every script the caller may start.
    pub async fn scripts(&self) -> Result<Vec<Script>> {
        let mut scripts = Vec::new();
        let mut page = 0;
        loop {
            let body: Value = self
                .get_json(&format!("/api/system/scripts?page={page}&size=100"))
                .await?;
            scripts.extend(embedded::<Script>(&body, "scripts")?);
            let (number, total) = page_numbers(&body);
            if number + 1 >= total {
                return Ok(scripts);
            }
            page += 1;
        }
    }

    pub async fn script(&self, name: &str) -> Result<Script> {
        self.get_json(&format!("/api/system/scripts/{}", segment(name)))
            .await
    }

    /// Starts `script`; answers the SCHEDULED process (with its capability when anonymous).
    pub async fn launch(&self, script: &str, launch: &Launch) -> Result<Process> {
        let properties: Vec<Value> = launch
            .params
            .iter()
            .map(|(name, value)| match value {
                Some(value) => serde_json::json!({"name": name, "value": value}),
                None => serde_json::json!({"name": name}),
            })
            .collect();
        let mut form =
            multipart::Form::new().text("properties", Value::Array(properties).to_string());
        for path in &launch.files {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|source| file_error(path, source))?;
            let len = file
                .metadata()
                .await
                .map_err(|source| file_error(path, source))?
                .len();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
            form = form.part(
                "file",
                multipart::Part::stream_with_length(body, len).file_name(name),
            );
        }
        if !launch.depends_on.is_empty() {
            form = form.text("dependsOn", launch.depends_on.join(","));
            if launch.afterany {
                form = form.text("dependencyType", "afterany");
            }
        }
        if let Some(session) = &launch.upload {
            form = form.text("uploadDefinitionId", session.clone());
        }
        if let Some(at) = launch.start_time {
            let at = at
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| Error::Protocol(e.to_string()))?;
            form = form.text("startTime", at);
        }
        let req = self
            .http
            .post(self.url(&format!(
                "/api/system/scripts/{}/processes",
                segment(script)
            )))
            .multipart(form);
        json(self.send(req).await?).await
    }

    pub async fn process(&self, p: impl Into<ProcessRef>) -> Result<Process> {
        let p = p.into();
        let mut process: Process = self.get_process_json(&p, "").await?;
        process.access_token = process.access_token.or(p.access);
        Ok(process)
    }

    /// One page of the caller's processes (all of them for an admin), newest first.
    /// `filters` are query parameters such as `("processStatus", "FAILED")` or
    /// `("scriptName", "row-count")`.
    pub async fn processes(
        &self,
        filters: &[(&str, &str)],
        page: u32,
        size: u32,
    ) -> Result<Page<Process>> {
        let query = serde_urlencoded_pairs(filters);
        let body: Value = self
            .get_json(&format!(
                "/api/system/processes?page={page}&size={size}{query}"
            ))
            .await?;
        let (number, total_pages) = page_numbers(&body);
        Ok(Page {
            items: embedded(&body, "processes")?,
            number,
            total_pages,
            total_elements: body["page"]["totalElements"].as_u64().unwrap_or(0),
        })
    }

    /// Waits until the process is COMPLETED or FAILED and answers it.
    pub async fn wait(&self, p: impl Into<ProcessRef>) -> Result<Process> {
        let p = p.into();
        loop {
            let process = self.process(p.clone()).await?;
            if process.process_status.is_final() {
                return Ok(process);
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// The console output as text, stdout and stderr lines in the order they were captured.
    pub async fn output(&self, p: impl Into<ProcessRef>) -> Result<String> {
        let p = p.into();
        let req = self
            .process_request(&p, "/output")
            .header(reqwest::header::ACCEPT, "text/plain");
        Ok(self.send(req).await?.text().await?)
    }

    /// Up to `size` (at most 1000) console lines after sequence number `after`.
    pub async fn lines(&self, p: impl Into<ProcessRef>, after: u64, size: u32) -> Result<Lines> {
        let p = p.into();
        let body: Value = self
            .get_process_json(&p, &format!("/output/lines?after={after}&size={size}"))
            .await?;
        Ok(Lines {
            lines: embedded::<Line>(&body, "lines")?,
            last: body["last"].as_u64().unwrap_or(after),
            complete: body["complete"].as_bool().unwrap_or(false),
        })
    }

    /// The live console: every line after sequence number `after` (0 for all), as it is
    /// written, then [`Event::End`]. To resume after a broken connection, call again with
    /// the seq of the last line received.
    pub async fn follow(
        &self,
        p: impl Into<ProcessRef>,
        after: u64,
    ) -> Result<impl futures_util::Stream<Item = Result<Event>>> {
        use eventsource_stream::Eventsource;
        let p = p.into();
        let mut req = self
            .process_request(&p, "/output")
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if after > 0 {
            req = req.header("Last-Event-ID", after.to_string());
        }
        let res = self.send(req).await?;
        Ok(res
            .bytes_stream()
            .eventsource()
            .filter_map(|event| async move {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => return Some(Err(Error::Protocol(e.to_string()))),
                };
                let parsed = match event.event.as_str() {
                    "line" => {
                        #[derive(Deserialize)]
                        struct Data {
                            #[serde(with = "time::serde::rfc3339")]
                            time: time::OffsetDateTime,
                            line: String,
                            stream: String,
                        }
                        let seq = event.id.parse().unwrap_or_default();
                        serde_json::from_str::<Data>(&event.data).map(|d| {
                            Event::Line(Line {
                                seq,
                                time: d.time,
                                line: d.line,
                                stream: d.stream,
                            })
                        })
                    }
                    "end" => {
                        #[derive(Deserialize)]
                        #[serde(rename_all = "camelCase")]
                        struct Data {
                            process_status: crate::types::Status,
                            status_reason: Option<String>,
                            exit_code: Option<i32>,
                        }
                        serde_json::from_str::<Data>(&event.data).map(|d| Event::End {
                            status: d.process_status,
                            status_reason: d.status_reason,
                            exit_code: d.exit_code,
                        })
                    }
                    // Anything else (a comment, a newer kind of event) says nothing to us.
                    _ => return None,
                };
                Some(parsed.map_err(|e| Error::Protocol(e.to_string())))
            }))
    }

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
        let body: Value = self.get_process_json(&p, "/files?size=100").await?;
        let raw: Vec<RawBitstream> = embedded(&body, "bitstreams")?;
        Ok(raw.into_iter().map(Bitstream::from).collect())
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
        let req = self.authorize(self.http.get(&file.content_url), &p);
        let (written, actual) = self.save(req, dest, progress).await?;
        if file.file_type != "script_output" && actual != file.md5 {
            return Err(Error::Checksum {
                name: file.name.clone(),
                expected: file.md5.clone(),
                actual,
            });
        }
        Ok(written)
    }

    /// Every stored file of the process as one zip, streamed into `dest`; answers its size.
    pub async fn archive(&self, p: impl Into<ProcessRef>, dest: &Path) -> Result<u64> {
        let p = p.into();
        let req = self.process_request(&p, "/archive");
        Ok(self.save(req, dest, |_| {}).await?.0)
    }

    /// Streams an answer's body into `dest`; answers its size and MD5.
    async fn save(
        &self,
        req: RequestBuilder,
        dest: &Path,
        mut progress: impl FnMut(u64),
    ) -> Result<(u64, String)> {
        let res = self.send(req).await?;
        let mut out = tokio::fs::File::create(dest)
            .await
            .map_err(|source| file_error(dest, source))?;
        let mut md5 = Md5::new();
        let mut written = 0;
        let mut body = res.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            md5.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|source| file_error(dest, source))?;
            written += chunk.len() as u64;
            progress(written);
        }
        out.flush()
            .await
            .map_err(|source| file_error(dest, source))?;
        Ok((written, hex::encode(md5.finalize())))
    }

    /// Stops a SCHEDULED or RUNNING process (it ends FAILED `stopped`).
    pub async fn stop(&self, p: impl Into<ProcessRef>) -> Result<()> {
        let p = p.into();
        let req = self.authorize(
            self.http
                .post(self.url(&format!("/api/system/processes/{}/stop", segment(&p.id)))),
            &p,
        );
        self.send(req).await.map(drop)
    }

    /// Deletes a finished process with its output and files.
    pub async fn delete(&self, p: impl Into<ProcessRef>) -> Result<()> {
        let p = p.into();
        let req = self.authorize(
            self.http
                .delete(self.url(&format!("/api/system/processes/{}", segment(&p.id)))),
            &p,
        );
        self.send(req).await.map(drop)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorize(&self, req: RequestBuilder, p: &ProcessRef) -> RequestBuilder {
        match &p.access {
            Some(access) => req.header("X-Process-Access", access),
            None => req,
        }
    }

    fn process_request(&self, p: &ProcessRef, rest: &str) -> RequestBuilder {
        let url = self.url(&format!("/api/system/processes/{}{rest}", segment(&p.id)));
        self.authorize(self.http.get(url), p)
    }

    async fn get_process_json<T: DeserializeOwned>(&self, p: &ProcessRef, rest: &str) -> Result<T> {
        let req = self
            .process_request(p, rest)
            .header(reqwest::header::ACCEPT, "application/json");
        json(self.send(req).await?).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let req = self
            .http
            .get(self.url(path))
            .header(reqwest::header::ACCEPT, "application/json");
        json(self.send(req).await?).await
    }

    /// Sends with the token; an error status becomes [`Error::Api`].
    async fn send(&self, req: RequestBuilder) -> Result<Response> {
        let req = match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        };
        checked(req.send().await?).await
    }
}

/// The answer when its status is a success, else the service's error.
async fn checked(res: Response) -> Result<Response> {
    let status = res.status();
    if status.is_success() {
        return Ok(res);
    }
    let body: Value = res.json().await.unwrap_or(Value::Null);
    Err(Error::Api {
        status: status.as_u16(),
        code: body["code"].as_str().unwrap_or_default().to_owned(),
        message: body["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| status.to_string()),
    })
}

async fn json<T: DeserializeOwned>(res: Response) -> Result<T> {
    let bytes = res.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
}

/// `_embedded.<key>` of a HAL page (absent when the page is empty).
fn embedded<T: DeserializeOwned>(body: &Value, key: &str) -> Result<Vec<T>> {
    match body["_embedded"].get(key) {
        None => Ok(Vec::new()),
        Some(items) => serde_json::from_value(items.clone())
            .map_err(|e| Error::Protocol(format!("{key}: {e}"))),
    }
}

fn page_numbers(body: &Value) -> (u32, u32) {
    let number = |key: &str| {
        body["page"][key]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    (number("number"), number("totalPages"))
}

/// One path segment, percent-encoded.
fn segment(s: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a valid base");
    url.path_segments_mut().expect("a base URL").push(s);
    url.path()[1..].to_owned()
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a valid base");
    url.query_pairs_mut().extend_pairs(pairs);
    match url.query() {
        Some(q) if !q.is_empty() => format!("&{q}"),
        _ => String::new(),
    }
}

fn file_error(path: &Path, source: std::io::Error) -> Error {
    Error::File {
        path: path.display().to_string(),
        source,
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
