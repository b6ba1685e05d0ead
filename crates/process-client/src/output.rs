//! A process's console: as text, as pages of lines, as a live stream.

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{embedded, Client, ProcessRef};
use crate::error::{Error, Result};
use crate::types::{Event, Line, Lines};

impl Client {
    /// The console output as text, stdout and stderr lines in the order they were captured.
    pub async fn output(&self, p: impl Into<ProcessRef>) -> Result<String> {
        let p = p.into();
        let req = self
            .process_request(&p, "/output")
            .header(reqwest::header::ACCEPT, "text/plain");
        Ok(self.send(req).await?.text().await?)
    }

    /// Up to `size` (at most 1000) console lines after sequence number `after`.
    pub async fn lines(&self, p: impl Into<ProcessRef>, after: u64, size: u32) -> Result<Lines> {
        let p = p.into();
        let body: Value = self
            .get_process_json(&p, &format!("/output/lines?after={after}&size={size}"))
            .await?;
        Ok(Lines {
            lines: embedded::<Line>(&body, "lines")?,
            last: body["last"].as_u64().unwrap_or(after),
            complete: body["complete"].as_bool().unwrap_or(false),
        })
    }

    /// The live console: every line after sequence number `after` (0 for all), as it is
    /// written, then [`Event::End`]. To resume after a broken connection, call again with
    /// the seq of the last line received.
    pub async fn follow(
        &self,
        p: impl Into<ProcessRef>,
        after: u64,
    ) -> Result<impl futures_util::Stream<Item = Result<Event>>> {
        use eventsource_stream::Eventsource;
        let p = p.into();
        let mut req = self
            .process_request(&p, "/output")
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if after > 0 {
            req = req.header("Last-Event-ID", after.to_string());
        }
        let res = self.send(req).await?;
        Ok(res
            .bytes_stream()
            .eventsource()
            .filter_map(|event| async move {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => return Some(Err(Error::Protocol(e.to_string()))),
                };
                let parsed = match event.event.as_str() {
                    "line" => {
                        #[derive(Deserialize)]
                        struct Data {
                            #[serde(with = "time::serde::rfc3339")]
                            time: time::OffsetDateTime,
                            line: String,
                            stream: String,
                        }
                        let seq = event.id.parse().unwrap_or_default();
                        serde_json::from_str::<Data>(&event.data).map(|d| {
                            Event::Line(Line {
                                seq,
                                time: d.time,
                                line: d.line,
                                stream: d.stream,
                            })
                        })
                    }
                    "end" => {
                        #[derive(Deserialize)]
                        #[serde(rename_all = "camelCase")]
                        struct Data {
                            process_status: crate::types::Status,
                            status_reason: Option<String>,
                            exit_code: Option<i32>,
                        }
                        serde_json::from_str::<Data>(&event.data).map(|d| Event::End {
                            status: d.process_status,
                            status_reason: d.status_reason,
                            exit_code: d.exit_code,
                        })
                    }
                    // Anything else (a comment, a newer kind of event) says nothing to us.
                    _ => return None,
                };
                Some(parsed.map_err(|e| Error::Protocol(e.to_string())))
            }))
    }
}
