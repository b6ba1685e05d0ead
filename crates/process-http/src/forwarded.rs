//! Where a request was sent and where it came from, as links and rate limits need them:
//! `public_url` when configured, else the request's `Host`; the `X-Forwarded-*` headers only
//! when the peer is one of the `trusted_proxies` (anyone else could make processd write their
//! host into its links, or pose as another client).

use std::net::IpAddr;

use actix_web::http::header::{self, HeaderMap};
use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::hal::BaseUrl;

/// `public_url` of the configuration: `http[s]://authority[/prefix]`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    scheme: String,
    authority: String,
    prefix: String,
}

impl PublicUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let err = || format!("public_url must be http(s)://host[:port][/path], not {url:?}");
        let (scheme, rest) = url.split_once("://").ok_or_else(err)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(err());
        }
        let (authority, prefix) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        let prefix = prefix.trim_end_matches('/');
        if !valid_authority(authority) || !(prefix.is_empty() || valid_prefix(prefix)) {
            return Err(err());
        }
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `scheme://authority`, as a browser sends it in `Origin`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    fn base(&self) -> BaseUrl {
        BaseUrl::new(&format!("{}{}", self.origin(), self.prefix))
    }
}

/// `trusted_proxies`: the addresses (or CIDR networks) of reverse proxies whose
/// `X-Forwarded-For`, `-Proto`, `-Host` and `-Prefix` headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("trusted_proxies: {e:?} is not an IP address or a CIDR network")
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    fn trusts_peer(&self, req: &HttpRequest) -> bool {
        !self.0.is_empty() && req.peer_addr().is_some_and(|a| self.trusts(a.ip()))
    }
}

/// The base every link of the answer to `req` is made under. `public_url` wins; else the
/// scheme is http, or `X-Forwarded-Proto` of a trusted proxy; the authority is a trusted
/// proxy's `X-Forwarded-Host`, else `Host`, else (no `Host`, or one that is no `host[:port]`)
/// the address the connection came in on; a trusted proxy's `X-Forwarded-Prefix` goes before
/// `/api`.
pub fn base_url(
    req: &HttpRequest,
    public: Option<&PublicUrl>,
    proxies: &TrustedProxies,
) -> BaseUrl {
    if let Some(public) = public {
        return public.base();
    }
    let forwarded = proxies.trusts_peer(req).then(|| req.headers());
    let proto = forwarded
        .and_then(|h| first(h, "x-forwarded-proto"))
        .map(str::to_ascii_lowercase)
        .filter(|p| p == "http" || p == "https");
    let prefix = forwarded
        .and_then(|h| first(h, "x-forwarded-prefix"))
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| valid_prefix(p));
    format_base(
        proto.as_deref().unwrap_or("http"),
        &authority(req, forwarded),
        prefix.unwrap_or(""),
    )
}

fn format_base(scheme: &str, authority: &str, prefix: &str) -> BaseUrl {
    BaseUrl::new(&format!("{scheme}://{authority}{prefix}"))
}

/// The `host[:port]` the client addressed (see `base_url`), for links and for the
/// same-origin check of `guards::foreign_origin`.
pub fn authority(req: &HttpRequest, forwarded: Option<&HeaderMap>) -> String {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    forwarded
        .and_then(|h| first(h, "x-forwarded-host"))
        .filter(|h| valid_authority(h))
        .or(host.filter(|h| valid_authority(h)))
        .map_or_else(|| req.app_config().local_addr().to_string(), str::to_owned)
}

/// The headers of `req` when its peer is a trusted proxy: they may say where the request was
/// first sent.
pub fn forwarded_headers<'r>(
    req: &'r HttpRequest,
    proxies: &TrustedProxies,
) -> Option<&'r HeaderMap> {
    proxies.trusts_peer(req).then(|| req.headers())
}

/// The address of the client behind `req`: its peer, or, when the peer is a trusted proxy,
/// the nearest address in `X-Forwarded-For` that is not one (proxies append the address they
/// saw, so what lies further left is only the client's word).
pub fn client_ip(req: &HttpRequest, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !proxies.trusts_peer(req) {
        return Some(peer);
    }
    let chain = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rev();
    let mut nearest = peer;
    for hop in chain {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // Garbage in the chain: the last address believed is the answer.
            break;
        };
        nearest = ip;
        if !proxies.trusts(ip) {
            break;
        }
    }
    Some(nearest)
}

/// The first value of a (possibly comma-separated, possibly repeated) forwarding header: the
/// one the outermost proxy set.
fn first<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let value = headers.get(name)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

/// `host[:port]` where host is a DNS name, an IPv4 address or a bracketed IPv6 address. Anything
/// else (spaces, `@`, `/`, quotes) could turn a link into something else.
pub fn valid_authority(a: &str) -> bool {
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            p => (v6, p.strip_prefix(':').unwrap_or("x")),
        }
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (a, "1"),
        }
    };
    let host_ok = a.starts_with('[')
        || (!host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !host.starts_with(['-', '.']));
    let port_ok = port.len() <= 5
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p > 0);
    host_ok && port_ok
}

/// A path prefix such as `/server`: segments of URL-safe characters, no `.` or `..` segment.
fn valid_prefix(p: &str) -> bool {
    p.starts_with('/')
        && p.len() <= 200
        && p[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
        })
}

/// `scheme://host[:port]` of an origin in the configuration (`cors_allowed_origins`),
/// lower-cased as browsers send it, or why it is not one.
pub fn parse_origin(key: &str, origin: &str) -> Result<String, String> {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let ok = o.split_once("://").is_some_and(|(scheme, authority)| {
        (scheme == "http" || scheme == "https") && valid_authority(authority)
    });
    if ok {
        Ok(o)
    } else {
        Err(format!(
            "{key}: {origin:?} is not an origin like https://ui.example.org"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        for good in [
            "localhost",
            "localhost:8080",
            "repo.example.org",
            "10.0.0.1:443",
            "[::1]",
            "[::1]:8080",
            "a-b.c",
        ] {
            assert!(valid_authority(good), "{good}");
        }
        for bad in [
            "",
            ":80",
            "host:",
            "host:0",
            "host:65536",
            "host:8o",
            "user@host",
            "host/path",
            "ho st",
            "evil\"x",
            "[::1",
            "[nothex]:80",
            "[::1]80",
            "-lead",
            ".lead",
        ] {
            assert!(!valid_authority(bad), "{bad}");
        }
    }

    #[test]
    fn public_urls() {
        let p = PublicUrl::parse("https://repo.example.org/server/").unwrap();
        assert_eq!(p.base().as_str(), "https://repo.example.org/server");
        assert_eq!(p.origin(), "https://repo.example.org");
        let p = PublicUrl::parse("HTTP://localhost:8080").unwrap();
        assert_eq!(p.base().as_str(), "http://localhost:8080");
        for bad in [
            "repo.example.org",
            "ftp://repo.example.org",
            "https://",
            "https://repo.example.org/a b",
            "https://repo.example.org/../x",
            "https://repo.example.org/x?y=1",
            "https://u@repo.example.org",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn proxies_and_prefixes() {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into(), "192.168.1.5".into()])
            .unwrap();
        assert!(t.trusts("10.1.2.3".parse().unwrap()));
        assert!(t.trusts("::ffff:10.1.2.3".parse().unwrap()));
        assert!(t.trusts("::1".parse().unwrap()));
        assert!(t.trusts("192.168.1.5".parse().unwrap()));
        assert!(!t.trusts("192.168.1.6".parse().unwrap()));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
        assert!(valid_prefix("/server"));
        assert!(valid_prefix("/a/b-c"));
        for bad in ["server", "/", "//x", "/a/../b", "/a b", "/a?b"] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }

    #[test]
    fn origins() {
        assert_eq!(
            parse_origin("k", "https://UI.example.org/").unwrap(),
            "https://ui.example.org"
        );
        for bad in ["*", "ui.example.org", "https://ui.example.org/path", "null"] {
            assert!(parse_origin("k", bad).is_err(), "{bad}");
        }
    }
}
