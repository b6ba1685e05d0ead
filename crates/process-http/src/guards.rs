//! Checks every request and response passes through: a browser page of another origin may not
//! change anything, and answers carrying a caller's data are not cached.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;

use crate::config::Config;
use crate::error::ApiError;
use crate::forwarded::{authority, forwarded_headers};

/// A state-changing request sent by a page of another origin: refused. Without this, any web
/// page a developer visits could start an anonymous script on the processd at
/// `localhost:8080` (a multipart form POST needs no CORS preflight). Requests without an
/// `Origin` do not come from such a page. Let through: the service's own origin (the host its
/// links are made with, see `forwarded`, and `public_url`'s), `trusted_origins` (pages that
/// may change things but not read answers) and `cors_allowed_origins` (pages that may call the
/// API from a browser: reading without changing would be no use to them, so one list is
/// enough for a UI). CORS itself, preflights and the headers that let a page read answers, is
/// the `actix-cors` middleware's.
pub fn foreign_origin(req: &ServiceRequest, config: &Config) -> Option<ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let origin = req.headers().get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("null").trim();
    let forwarded = forwarded_headers(req.request(), &config.trusted_proxies);
    let host = authority(req.request(), forwarded);
    let public = config.public_url.as_ref().is_some_and(|p| {
        let scheme = format!("{}://", p.scheme());
        origin.to_ascii_lowercase().starts_with(&scheme) && same_origin(origin, p.authority())
    });
    let allowed = same_origin(origin, &host)
        || public
        || config
            .trusted_origins
            .iter()
            .chain(&config.cors_allowed_origins)
            .any(|t| t.trim_end_matches('/').eq_ignore_ascii_case(origin));
    (!allowed).then(|| {
        ApiError::CrossOrigin(format!(
            "requests from pages of {origin} may not change anything here; add it to cors_allowed_origins (or trusted_origins) to allow it"
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
