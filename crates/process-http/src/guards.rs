//! Checks every request and response passes through: a browser page of another origin may not
//! change anything, and answers carrying a caller's data are not cached.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;

use crate::error::ApiError;

/// A state-changing request sent by a page of another origin: refused. Without this, any web
/// page a developer visits could start an anonymous script on the processd at
/// `localhost:8080` (a multipart form POST needs no CORS preflight). Requests without an
/// `Origin` do not come from such a page; the service's own origin (its `Host`) and the
/// `trusted_origins` of the config are let through. This is not CORS: nothing is answered to
/// preflights, and reading responses is not opened to anyone.
pub fn foreign_origin(req: &ServiceRequest, trusted: &[String]) -> Option<ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let origin = req.headers().get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("null").trim();
    let host = req.connection_info().host().to_owned();
    let allowed = same_origin(origin, &host)
        || trusted
            .iter()
            .any(|t| t.trim_end_matches('/').eq_ignore_ascii_case(origin));
    (!allowed).then(|| {
        ApiError::CrossOrigin(format!(
            "requests from pages of {origin} may not change anything here; add it to trusted_origins to allow it"
        ))
    })
}

/// Whether `origin` (`scheme://host[:port]`) names the same host and port as `host` (a
/// `Host` header), the scheme's default port being implied when absent.
fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    if authority.is_empty() || authority.contains(['/', '@']) {
        return false;
    }
    let normal = |a: &str| {
        let a = a.to_ascii_lowercase();
        match a.strip_suffix(default_port) {
            Some(bare) => bare.to_owned(),
            None => a,
        }
    };
    normal(authority) == normal(host)
}

/// `Cache-Control: no-store` on JSON answers to authenticated requests and on every answer
/// of the login (it carries a token), unless the handler chose a policy.
pub fn no_store<B>(res: &mut ServiceResponse<B>) {
    let req = res.request();
    let login = req.path() == "/api/authn/login";
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.starts_with("application/json") || v.starts_with("application/hal+json")
        });
    if (login || (authenticated && json)) && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_their_host_with_default_ports() {
        assert!(same_origin("http://localhost:8080", "localhost:8080"));
        assert!(same_origin("http://LOCALHOST:8080", "localhost:8080"));
        assert!(same_origin("http://example.org", "example.org:80"));
        assert!(same_origin("https://example.org:443", "example.org"));
        assert!(same_origin("http://[::1]:8080", "[::1]:8080"));
        assert!(!same_origin("http://evil.example", "localhost:8080"));
        assert!(!same_origin("http://localhost:9999", "localhost:8080"));
        assert!(!same_origin("https://example.org", "example.org:80"));
        assert!(!same_origin("null", "localhost:8080"));
        assert!(!same_origin("file://", "localhost:8080"));
        assert!(!same_origin("http://user@localhost:8080", "localhost:8080"));
    }
}
