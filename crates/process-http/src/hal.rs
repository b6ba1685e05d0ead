//! HAL building blocks: links and the Spring-style page object DSpace clients read. (The
//! `page` and `size` a client sends are `resources::requests::Paging`.)

use process_core::Page;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Link {
    pub href: String,
}

impl Link {
    pub fn new(href: impl Into<String>) -> Self {
        Self { href: href.into() }
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
    pub fn of<T>(page: &Page<T>, path: &str, query: &str) -> Self {
        let size = page.request.size();
        let at = |n: u64| {
            let extra = if query.is_empty() {
                String::new()
            } else {
                format!("&{query}")
            };
            Link::new(format!("{path}?page={n}&size={size}{extra}"))
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
