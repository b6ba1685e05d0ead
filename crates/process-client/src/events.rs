//! The service's event stream: every change of the processes the caller may see.

use futures_util::StreamExt;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::ProcessEvent;

impl Client {
    /// Every change of the processes the caller may see (an administrator: all) as it
    /// happens: from the next one, or right after event `after` (to resume after a broken
    /// connection, pass the `id` of the last event received; 0 replays every event kept).
    /// Needs a login.
    pub async fn events(
        &self,
        after: Option<u64>,
    ) -> Result<impl futures_util::Stream<Item = Result<ProcessEvent>>> {
        use eventsource_stream::Eventsource;
        let mut req = self
            .http
            .get(self.url("/api/system/events"))
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(after) = after {
            req = req.header("Last-Event-ID", after.to_string());
        }
        let res = self.send(req).await?;
        Ok(res
            .bytes_stream()
            .eventsource()
            .filter_map(|event| async move {
                match event {
                    // Every event carries its JSON; comments (keep-alives) do not reach here.
                    Ok(event) if !event.data.is_empty() => Some(
                        serde_json::from_str::<ProcessEvent>(&event.data)
                            .map_err(|e| Error::Protocol(e.to_string())),
                    ),
                    Ok(_) => None,
                    Err(e) => Some(Err(Error::Protocol(e.to_string()))),
                }
            }))
    }
}
