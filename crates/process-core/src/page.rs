//! Paging and sorting requests, checked before they reach a query.

use std::str::FromStr;

use crate::error::ParseError;

/// A page request: zero-based page number and page size (1..=100, default 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    size: u32,
}

impl PageRequest {
    pub const DEFAULT_SIZE: u32 = 20;
    pub const MAX_SIZE: u32 = 100;
    /// Deep pages cost a scan; beyond this offset we refuse rather than stall.
    pub const MAX_OFFSET: u64 = 10_000_000;
    /// The last page number served, whatever the size: a bound that does not depend on the
    /// size lets the API document say exactly which page numbers are valid.
    pub const MAX_PAGE: u32 = (Self::MAX_OFFSET / Self::MAX_SIZE as u64) as u32;

    /// `page` and `size` as a client sent them. As Spring (and so DSpace) does, a size over
    /// the maximum is clamped to it and a size of 0 (or none) is the default: the DSpace UI
    /// asks for `size=9999` to mean "all". A negative or non-numeric value is refused.
    pub fn new(page: Option<&str>, size: Option<&str>) -> Result<Self, ParseError> {
        let page = match page {
            None => 0,
            Some(p) => p
                .parse::<u32>()
                .map_err(|_| ParseError::new("page", p, "a page number (0, 1, ...)"))?,
        };
        let size = match size {
            None => Self::DEFAULT_SIZE,
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                // All digits: only an overflow fails to parse, and that is over the maximum.
                match s.parse::<u64>().unwrap_or(u64::MAX) {
                    0 => Self::DEFAULT_SIZE,
                    n => u32::try_from(n.min(u64::from(Self::MAX_SIZE))).unwrap_or(Self::MAX_SIZE),
                }
            }
            Some(s) => {
                return Err(ParseError::new(
                    "size",
                    s,
                    "a page size (0 or none: 20; over 100: 100)",
                ))
            }
        };
        let req = Self { page, size };
        if page > Self::MAX_PAGE {
            return Err(ParseError::new(
                "page",
                page.to_string(),
                format!("a page number up to {}", Self::MAX_PAGE),
            ));
        }
        Ok(req)
    }

    pub fn first(size: u32) -> Self {
        Self {
            page: 0,
            size: size.clamp(1, Self::MAX_SIZE),
        }
    }

    pub fn page(&self) -> u32 {
        self.page
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page) * u64::from(self.size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(Self::DEFAULT_SIZE)
    }
}

/// One page of results and the total they were taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.request.size()))
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            request: self.request,
        }
    }
}

/// The fields processes may be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreationTime,
    StartTime,
    EndTime,
    ScriptName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

/// `sort=field[,asc|desc]`, as Spring Data clients (DSpace's UI) send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub dir: SortDir,
}

impl Default for Sort {
    /// Newest first, as an admin looking at a list wants.
    fn default() -> Self {
        Self {
            field: SortField::CreationTime,
            dir: SortDir::Desc,
        }
    }
}

impl FromStr for Sort {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || {
            ParseError::new(
                "sort",
                s,
                "creationTime|startTime|endTime|scriptName, optionally followed by ,asc or ,desc",
            )
        };
        let (field, dir) = s.split_once(',').unwrap_or((s, "asc"));
        let field = match field {
            "creationTime" => SortField::CreationTime,
            "startTime" => SortField::StartTime,
            "endTime" => SortField::EndTime,
            "scriptName" => SortField::ScriptName,
            _ => return Err(err()),
        };
        let dir = match dir.to_ascii_lowercase().as_str() {
            "asc" => SortDir::Asc,
            "desc" => SortDir::Desc,
            _ => return Err(err()),
        };
        Ok(Sort { field, dir })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_requests() {
        assert_eq!(PageRequest::new(None, None), Ok(PageRequest::first(20)));
        let p = PageRequest::new(Some("2"), Some("5")).unwrap();
        assert_eq!((p.page(), p.size(), p.offset()), (2, 5, 10));
        // Spring's rules: 0 or nothing is the default, too large is the maximum; an empty
        // value is no number (the API document says integer).
        assert_eq!(PageRequest::new(None, Some("0")).unwrap().size(), 20);
        assert_eq!(PageRequest::new(None, Some("101")).unwrap().size(), 100);
        assert_eq!(PageRequest::new(None, Some("9999")).unwrap().size(), 100);
        let huge = PageRequest::new(None, Some("99999999999999999999999")).unwrap();
        assert_eq!(huge.size(), 100);
        for bad in ["-1", "abc", "1.5", "+5", " 5", ""] {
            assert!(PageRequest::new(None, Some(bad)).is_err(), "{bad}");
        }
        assert!(PageRequest::new(Some("-1"), None).is_err());
        assert!(PageRequest::new(Some("4000000000"), Some("100")).is_err());
        // The page bound does not depend on the size.
        assert!(PageRequest::new(Some("100000"), Some("100")).is_ok());
        assert!(PageRequest::new(Some("100001"), Some("1")).is_err());
    }

    #[test]
    fn sorts() {
        let s: Sort = "creationTime,DESC".parse().unwrap();
        assert_eq!((s.field, s.dir), (SortField::CreationTime, SortDir::Desc));
        let s: Sort = "scriptName".parse().unwrap();
        assert_eq!((s.field, s.dir), (SortField::ScriptName, SortDir::Asc));
        assert!("userId,asc".parse::<Sort>().is_err());
        assert!("endTime,up".parse::<Sort>().is_err());
    }

    #[test]
    fn total_pages_rounds_up() {
        let page: Page<()> = Page {
            items: vec![],
            total: 14,
            request: PageRequest::first(5),
        };
        assert_eq!(page.total_pages(), 3);
    }
}
