//! HAL building blocks: links and the Spring-style page object DSpace clients read. (The
//! `page` and `size` a client sends are `resources::requests::Paging`.) Every link is absolute,
//! made by a `BaseUrl` (`crate::forwarded` says where it comes from), as DSpace's are: a client
//! follows `_links` literally, from another origin or behind a path prefix.

use process_core::Page;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Link {
    /// An absolute URL.
    href: String,
}

impl Link {
    pub fn href(&self) -> &str {
        &self.href
    }
}

/// Where this service is reached by the client of one request, as an absolute URL without a
/// trailing slash (`https://repo.example.org/server`): `public_url`, or what the request says
/// (see `crate::forwarded`). The one way to make a link or a `Location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// `url` is trusted to be `scheme://authority[/prefix]`; a trailing slash is dropped.
    pub(crate) fn new(url: &str) -> Self {
        Self(url.trim_end_matches('/').to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The absolute URL of `path` (`/api/...`).
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    pub fn link(&self, path: &str) -> Link {
        Link {
            href: self.href(path),
        }
    }

    /// A link that carries the capability of an anonymous process (see `with_access`).
    pub fn link_with(&self, path: &str, access: Option<&str>) -> Link {
        Link {
            href: with_access(self.href(path), access),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub size: u32,
    pub total_elements: u64,
    pub total_pages: u64,
    pub number: u32,
}

impl PageInfo {
    pub fn of<T>(page: &Page<T>) -> Self {
        Self {
            size: page.request.size(),
            total_elements: page.total,
            total_pages: page.total_pages(),
            number: page.request.page(),
        }
    }
}

/// `self`, `first`, `prev`, `next` and `last` links of a page; `query` is the rest of the
/// query string (already encoded, without page and size).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub first: Link,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    pub last: Link,
}

impl PageLinks {
    pub fn of<T>(base: &BaseUrl, page: &Page<T>, path: &str, query: &str) -> Self {
        let size = page.request.size();
        let at = |n: u64| {
            let extra = if query.is_empty() {
                String::new()
            } else {
                format!("&{query}")
            };
            base.link(&format!("{path}?page={n}&size={size}{extra}"))
        };
        let number = u64::from(page.request.page());
        let last = page.total_pages().saturating_sub(1);
        Self {
            this: at(number),
            first: at(0),
            prev: (number > 0).then(|| at(number - 1)),
            next: (number < last).then(|| at(number + 1)),
            last: at(last),
        }
    }
}

/// `href` carrying the capability of an anonymous process (when the answer is about one the
/// caller opened with it), so a client that follows the link keeps its access.
pub fn with_access(href: String, access: Option<&str>) -> String {
    if access.is_none() {
        return href;
    }
    let sep = if href.contains('?') { '&' } else { '?' };
    format!("{href}{sep}{}", access_query(access))
}

/// `access=<capability>`, or nothing: the query that `with_access` adds (a capability is hex,
/// so it needs no escaping).
pub fn access_query(access: Option<&str>) -> String {
    access
        .map(|a| format!("{}={a}", crate::capability::QUERY))
        .unwrap_or_default()
}

/// RFC 3339 in UTC, as the API writes every time.
pub fn timestamp(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
