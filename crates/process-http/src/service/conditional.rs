//! What a download answers, decided from its conditional and Range headers as RFC 9110 orders
//! them (§13.2.2): `If-Match`, `If-Unmodified-Since`, `If-None-Match`, `If-Modified-Since`,
//! then `If-Range` and `Range`. The headers are read with actix's typed headers and the Range
//! syntax with `http-range-header`; actix-files is not asked because it answers a Range it
//! should ignore (another unit, `bytes=5-2`) with 416 before looking at `If-None-Match`, and
//! does not know `If-Range`.

use std::time::SystemTime;

use actix_web::http::header::{
    self, EntityTag, Header, HttpDate, IfMatch, IfModifiedSince, IfNoneMatch, IfRange,
    IfUnmodifiedSince,
};
use actix_web::HttpRequest;
use http_range_header::{EndPosition, StartPosition};

/// What identifies one version of a file: its ETag and its modification time.
pub struct Validators {
    pub etag: EntityTag,
    pub last_modified: HttpDate,
}

/// The answer to a download request.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the whole file.
    Whole,
    /// 206 with `length` bytes from `start`.
    Part { start: u64, length: u64 },
    /// 304.
    NotModified,
    /// 412.
    PreconditionFailed,
    /// 416: no range of the request overlaps the file.
    Unsatisfiable,
}

/// Decides the answer to `req` for a file of `len` bytes with validators `v`.
pub fn decide(req: &HttpRequest, v: &Validators, len: u64) -> Answer {
    let has = |name| req.headers().contains_key(name);
    if has(header::IF_MATCH) {
        let matches = match IfMatch::parse(req) {
            Ok(IfMatch::Any) => true,
            Ok(IfMatch::Items(tags)) => tags.iter().any(|t| t.strong_eq(&v.etag)),
            Err(_) => false,
        };
        if !matches {
            return Answer::PreconditionFailed;
        }
    } else if let Ok(IfUnmodifiedSince(since)) = IfUnmodifiedSince::parse(req) {
        if seconds(v.last_modified) > seconds(since) {
            return Answer::PreconditionFailed;
        }
    }
    if has(header::IF_NONE_MATCH) {
        let matches = match IfNoneMatch::parse(req) {
            Ok(IfNoneMatch::Any) => true,
            Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&v.etag)),
            Err(_) => false,
        };
        if matches {
            return Answer::NotModified;
        }
    } else if let Ok(IfModifiedSince(since)) = IfModifiedSince::parse(req) {
        if seconds(v.last_modified) <= seconds(since) {
            return Answer::NotModified;
        }
    }
    range(req, v, len)
}

/// The Range part of the decision: a Range that is absent, in another unit, malformed,
/// invalid (`bytes=5-2`) or made stale by `If-Range` is ignored (the whole file).
fn range(req: &HttpRequest, v: &Validators, len: u64) -> Answer {
    let Some(value) = req.headers().get(header::RANGE) else {
        return Answer::Whole;
    };
    if req.headers().contains_key(header::IF_RANGE) && !if_range_holds(req, v) {
        return Answer::Whole;
    }
    let Some(parsed) = value
        .to_str()
        .ok()
        .and_then(|s| http_range_header::parse_range_header(s).ok())
    else {
        return Answer::Whole;
    };
    let invalid = parsed.ranges.iter().any(|r| match (r.start, r.end) {
        (StartPosition::Index(first), EndPosition::Index(last)) => first > last,
        _ => false,
    });
    if invalid {
        return Answer::Whole;
    }
    // Several ranges get one part: the first that overlaps the file (RFC 9110 §15.3.7 lets a
    // server send fewer parts than asked).
    parsed
        .ranges
        .iter()
        .find_map(|r| {
            let (first, last) = match (r.start, r.end) {
                (StartPosition::Index(first), EndPosition::Index(last)) => (first, last),
                (StartPosition::Index(first), EndPosition::LastByte) => (first, u64::MAX),
                (StartPosition::FromLast(n), _) => (len.saturating_sub(n), u64::MAX),
            };
            (first < len).then(|| Answer::Part {
                start: first,
                length: last.min(len - 1) - first + 1,
            })
        })
        .unwrap_or(Answer::Unsatisfiable)
}

/// `If-Range` holds when it names the current version: the same strong ETag, or exactly the
/// Last-Modified date.
fn if_range_holds(req: &HttpRequest, v: &Validators) -> bool {
    match IfRange::parse(req) {
        Ok(IfRange::EntityTag(tag)) => tag.strong_eq(&v.etag),
        Ok(IfRange::Date(date)) => seconds(date) == seconds(v.last_modified),
        Err(_) => false,
    }
}

/// HTTP dates have whole seconds.
fn seconds(d: HttpDate) -> u64 {
    SystemTime::from(d)
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn validators() -> Validators {
        Validators {
            etag: EntityTag::new_strong("abc".to_owned()),
            last_modified: HttpDate::from(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            ),
        }
    }

    fn answer(headers: &[(&str, &str)]) -> Answer {
        let mut req = TestRequest::get();
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        decide(&req.to_http_request(), &validators(), 100)
    }

    const DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

    #[test]
    fn ranges() {
        assert_eq!(answer(&[]), Answer::Whole);
        let part = |start, length| Answer::Part { start, length };
        assert_eq!(answer(&[("Range", "bytes=0-9")]), part(0, 10));
        assert_eq!(answer(&[("Range", "bytes=95-500")]), part(95, 5));
        assert_eq!(answer(&[("Range", "bytes=-5")]), part(95, 5));
        assert_eq!(answer(&[("Range", "bytes=-500")]), part(0, 100));
        assert_eq!(answer(&[("Range", "bytes=200-300,0-1")]), part(0, 2));
        assert_eq!(answer(&[("Range", "bytes=100-")]), Answer::Unsatisfiable);
        for ignored in [
            "items=0-1",
            "bytes=5-2",
            "bytes=abc",
            "bytes=0-1,9-3",
            "bytes=-0",
        ] {
            assert_eq!(answer(&[("Range", ignored)]), Answer::Whole, "{ignored}");
        }
    }

    #[test]
    fn if_range() {
        let part = Answer::Part {
            start: 0,
            length: 2,
        };
        for (validator, expected) in [
            ("\"abc\"", &part),
            ("W/\"abc\"", &Answer::Whole),
            ("\"old\"", &Answer::Whole),
            (DATE, &part),
            ("Tue, 14 Nov 2023 22:13:19 GMT", &Answer::Whole),
            ("garbage", &Answer::Whole),
        ] {
            let got = answer(&[("Range", "bytes=0-1"), ("If-Range", validator)]);
            assert_eq!(&got, expected, "{validator}");
        }
    }

    #[test]
    fn preconditions_come_before_ranges() {
        let not_modified = [("If-None-Match", "\"abc\""), ("Range", "items=0-1")];
        assert_eq!(answer(&not_modified), Answer::NotModified);
        let not_modified = [("If-None-Match", "W/\"abc\""), ("Range", "bytes=200-")];
        assert_eq!(answer(&not_modified), Answer::NotModified);
        assert_eq!(answer(&[("If-Modified-Since", DATE)]), Answer::NotModified);
        let changed = [("If-None-Match", "\"x\""), ("If-Modified-Since", DATE)];
        assert_eq!(answer(&changed), Answer::Whole);
        assert_eq!(answer(&[("If-Match", "\"x\"")]), Answer::PreconditionFailed);
        assert_eq!(answer(&[("If-Match", "*")]), Answer::Whole);
        let earlier = "Tue, 14 Nov 2023 22:13:19 GMT";
        assert_eq!(
            answer(&[("If-Unmodified-Since", earlier)]),
            Answer::PreconditionFailed
        );
    }
}
