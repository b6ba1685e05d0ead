//! `GET /api/system/processes/{id}/output/lines`: a page of timestamped console lines, and
//! the link to the next page, which a client follows until `complete`.

use process_core::{OutputLine, Process};
use serde::Serialize;

use crate::hal::{timestamp, BaseUrl, Link};
use crate::resources::ProcessResource;

/// One console line.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineItem {
    /// Its place in the log: 1, 2, ... without gaps.
    pub seq: i64,
    /// When the line was read (RFC 3339).
    pub time: String,
    pub line: String,
    /// `stdout` or `stderr`.
    #[schema(example = "stdout")]
    pub stream: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineList {
    pub lines: Vec<LineItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutputLinesLinks {
    #[serde(rename = "self")]
    pub this: Link,
    /// The lines after these; absent once `complete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    pub process: Link,
    /// The console log as text (or, asked for JSON, as a bitstream).
    pub output: Link,
}

/// A page of console lines.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutputLinesResource {
    #[serde(rename = "_embedded")]
    pub embedded: LineList,
    /// The page holds the lines after this `seq`.
    pub after: i64,
    /// The `seq` of the page's last line (`after` when it has none): the next page's `after`.
    pub last: i64,
    /// The most lines a page holds.
    pub size: u32,
    /// The process had ended before this page was read and no line comes after it.
    pub complete: bool,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_links")]
    pub links: OutputLinesLinks,
}

/// What a page was asked with, to build its links.
pub struct LinesAsked<'a> {
    pub after: i64,
    pub size: u32,
    pub from_time: Option<&'a str>,
    pub to_time: Option<&'a str>,
    /// The capability the links carry.
    pub access: Option<&'a str>,
}

impl OutputLinesResource {
    pub fn of(
        base: &BaseUrl,
        process: &Process,
        lines: Vec<OutputLine>,
        complete: bool,
        asked: &LinesAsked,
    ) -> Self {
        let last = lines.last().map_or(asked.after, |l| l.seq);
        let path = ProcessResource::path(process);
        let at = |after: i64| {
            let mut pairs = vec![
                ("after", after.to_string()),
                ("size", asked.size.to_string()),
            ];
            for (k, v) in [("fromTime", asked.from_time), ("toTime", asked.to_time)] {
                if let Some(v) = v {
                    pairs.push((k, v.to_owned()));
                }
            }
            let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            base.link_with(&format!("{path}/output/lines?{query}"), asked.access)
        };
        Self {
            embedded: LineList {
                lines: lines
                    .into_iter()
                    .map(|l| LineItem {
                        seq: l.seq,
                        time: timestamp(l.time),
                        stream: l.stream.as_str(),
                        line: l.line,
                    })
                    .collect(),
            },
            after: asked.after,
            last,
            size: asked.size,
            complete,
            kind: "outputlines",
            links: OutputLinesLinks {
                this: at(asked.after),
                next: (!complete).then(|| at(last)),
                process: base.link_with(&path, asked.access),
                output: base.link_with(&format!("{path}/output"), asked.access),
            },
        }
    }
}
