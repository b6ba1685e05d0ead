//! Where webhooks may point (`webhook_allowed_hosts`). A webhook makes processd send requests
//! on a user's behalf, so by default only public addresses are reached: loopback, private,
//! link-local and other special ranges are refused, at creation for an address in the URL
//! and at every connection for the addresses a name resolves to (a name that resolves to an
//! internal address later is caught when it is reached, not only when it was checked). An
//! allow list replaces that rule: then only the listed hosts and networks are reached,
//! internal or not.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Ranges that are not the public Internet (RFC 6890 and friends).
const INTERNAL: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "64:ff9b::/96",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

fn internal() -> &'static [IpNet] {
    static NETS: OnceLock<Vec<IpNet>> = OnceLock::new();
    NETS.get_or_init(|| INTERNAL.iter().filter_map(|n| n.parse().ok()).collect())
}

/// Whether `ip` is on the public Internet (an IPv4-mapped IPv6 address is judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    !internal().iter().any(|net| net.contains(&ip))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    /// A host name, lower case, as written in URLs.
    Host(String),
    Net(IpNet),
}

/// The targets webhooks may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Empty: any public address.
    allowed: Vec<Allowed>,
}

impl TargetPolicy {
    /// `entries` are host names, IP addresses or networks (`10.1.0.0/16`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let allowed = entries
            .iter()
            .map(|e| {
                let e = e.trim().to_ascii_lowercase();
                if let Ok(net) = e.parse::<IpNet>() {
                    Ok(Allowed::Net(net))
                } else if let Ok(ip) = e.parse::<IpAddr>() {
                    Ok(Allowed::Net(IpNet::from(ip)))
                } else if !e.is_empty()
                    && e.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                {
                    Ok(Allowed::Host(e))
                } else {
                    Err(format!(
                        "webhook_allowed_hosts: {e:?} is not a host name, an IP address or a network"
                    ))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed })
    }

    /// Whether a connection to `ip`, for the URL host `host`, is allowed.
    pub fn allows(&self, host: &str, ip: IpAddr) -> bool {
        if self.allowed.is_empty() {
            return is_public(ip);
        }
        self.allowed.iter().any(|a| match a {
            Allowed::Host(h) => h.eq_ignore_ascii_case(host),
            Allowed::Net(net) => net.contains(&ip),
        })
    }

    /// Whether a host name may be reached at all (before resolving it): with an allow list,
    /// it must be listed or be an address in a listed network.
    fn allows_name(&self, host: &str) -> bool {
        self.allowed.is_empty()
            || self
                .allowed
                .iter()
                .any(|a| matches!(a, Allowed::Host(h) if h.eq_ignore_ascii_case(host)))
    }

    /// Checks a webhook URL: `http` or `https`, a host, no user name or password, and a
    /// target this policy allows as far as the URL alone tells.
    pub fn check_url(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|e| format!("url is not a valid URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("url must be http:// or https://".into());
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("url must not carry a user name or password".into());
        }
        let Some(host) = parsed.host() else {
            return Err("url has no host".into());
        };
        let refused = || {
            Err(format!(
                "url points to {host}, which webhooks may not reach (webhook_allowed_hosts)"
            ))
        };
        match host {
            url::Host::Ipv4(ip) if !self.allows(&host.to_string(), IpAddr::V4(ip)) => refused(),
            url::Host::Ipv6(ip) if !self.allows(&host.to_string(), IpAddr::V6(ip)) => refused(),
            url::Host::Domain(name) if !self.allows_name(name) => refused(),
            _ => Ok(parsed),
        }
    }
}

/// Resolves names for webhook deliveries and drops every address the policy does not allow,
/// so the check holds for the address actually connected to.
pub struct GuardedResolver {
    pub policy: Arc<TargetPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.allows(&host, a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{host} resolves to no address webhooks may reach (webhook_allowed_hosts)"
                )
                .into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_by_default() {
        let policy = TargetPolicy::default();
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!policy.allows("h", ip(internal)), "{internal}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(policy.allows("h", ip(public)), "{public}");
        }
    }

    #[test]
    fn an_allow_list_replaces_the_rule() {
        let policy = TargetPolicy::parse(&[
            "127.0.0.1".into(),
            "Hooks.Example.org".into(),
            "10.9.0.0/16".into(),
        ])
        .unwrap();
        assert!(policy.allows("127.0.0.1", ip("127.0.0.1")));
        assert!(policy.allows("hooks.example.org", ip("10.1.1.1")));
        assert!(policy.allows("x", ip("10.9.3.4")));
        assert!(!policy.allows("x", ip("8.8.8.8")));
        assert!(policy.check_url("http://127.0.0.1:9/hook").is_ok());
        assert!(policy.check_url("https://hooks.example.org/x").is_ok());
        assert!(policy.check_url("https://other.example.org/x").is_err());
        assert!(TargetPolicy::parse(&["bad host/".into()]).is_err());
    }

    #[test]
    fn urls_are_checked() {
        let policy = TargetPolicy::default();
        assert!(policy.check_url("https://hooks.example.org/x").is_ok());
        for bad in [
            "ftp://hooks.example.org/",
            "http://user:pw@hooks.example.org/",
            "http://127.0.0.1/",
            "http://[::1]:80/",
            "http://169.254.169.254/latest/meta-data",
            "not a url",
        ] {
            assert!(policy.check_url(bad).is_err(), "{bad}");
        }
    }
}
