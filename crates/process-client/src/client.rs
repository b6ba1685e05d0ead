//! The client: who it talks to and as whom, and what every call shares (sending, errors,
//! HAL pages). The calls are in `processes`, `output` and `files`.

use std::path::Path;
use std::time::Duration;

use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::types::{Process, User};

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
    pub(crate) http: reqwest::Client,
    base: String,
    token: Option<String>,
    pub(crate) poll: Duration,
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

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn authorize(&self, req: RequestBuilder, p: &ProcessRef) -> RequestBuilder {
        match &p.access {
            Some(access) => req.header("X-Process-Access", access),
            None => req,
        }
    }

    pub(crate) fn process_request(&self, p: &ProcessRef, rest: &str) -> RequestBuilder {
        let url = self.url(&format!("/api/system/processes/{}{rest}", segment(&p.id)));
        self.authorize(self.http.get(url), p)
    }

    pub(crate) async fn get_process_json<T: DeserializeOwned>(
        &self,
        p: &ProcessRef,
        rest: &str,
    ) -> Result<T> {
        let req = self
            .process_request(p, rest)
            .header(reqwest::header::ACCEPT, "application/json");
        json(self.send(req).await?).await
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let req = self
            .http
            .get(self.url(path))
            .header(reqwest::header::ACCEPT, "application/json");
        json(self.send(req).await?).await
    }

    /// Sends with the token; an error status becomes [`Error::Api`].
    pub(crate) async fn send(&self, req: RequestBuilder) -> Result<Response> {
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

pub(crate) async fn json<T: DeserializeOwned>(res: Response) -> Result<T> {
    let bytes = res.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
}

/// `_embedded.<key>` of a HAL page (absent when the page is empty).
pub(crate) fn embedded<T: DeserializeOwned>(body: &Value, key: &str) -> Result<Vec<T>> {
    match body["_embedded"].get(key) {
        None => Ok(Vec::new()),
        Some(items) => serde_json::from_value(items.clone())
            .map_err(|e| Error::Protocol(format!("{key}: {e}"))),
    }
}

pub(crate) fn page_numbers(body: &Value) -> (u32, u32) {
    let number = |key: &str| {
        body["page"][key]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    (number("number"), number("totalPages"))
}

/// One path segment, percent-encoded.
pub(crate) fn segment(s: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a valid base");
    url.path_segments_mut().expect("a base URL").push(s);
    url.path()[1..].to_owned()
}

pub(crate) fn query_pairs(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a valid base");
    url.query_pairs_mut().extend_pairs(pairs);
    match url.query() {
        Some(q) if !q.is_empty() => format!("&{q}"),
        _ => String::new(),
    }
}

pub(crate) fn file_error(path: &Path, source: std::io::Error) -> Error {
    Error::File {
        path: path.display().to_string(),
        source,
    }
}
