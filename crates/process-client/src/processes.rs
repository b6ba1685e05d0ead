//! Scripts and processes: list, launch, wait, stop, delete.

use reqwest::multipart;
use serde_json::Value;

use crate::client::{
    embedded, file_error, json, page_numbers, query_pairs, segment, Client, ProcessRef,
};
use crate::error::{Error, Result};
use crate::launch::Launch;
use crate::types::{Page, Process, Script};

impl Client {
    /// Every script the caller may start.
    pub async fn scripts(&self) -> Result<Vec<Script>> {
        let mut scripts = Vec::new();
        let mut page = 0;
        loop {
            let body: Value = self
                .get_json(&format!("/api/system/scripts?page={page}&size=100"))
                .await?;
            scripts.extend(embedded::<Script>(&body, "scripts")?);
            let (number, total) = page_numbers(&body);
            if number + 1 >= total {
                return Ok(scripts);
            }
            page += 1;
        }
    }

    pub async fn script(&self, name: &str) -> Result<Script> {
        self.get_json(&format!("/api/system/scripts/{}", segment(name)))
            .await
    }

    /// Starts `script`; answers the SCHEDULED process (with its capability when anonymous).
    pub async fn launch(&self, script: &str, launch: &Launch) -> Result<Process> {
        let properties: Vec<Value> = launch
            .params
            .iter()
            .map(|(name, value)| match value {
                Some(value) => serde_json::json!({"name": name, "value": value}),
                None => serde_json::json!({"name": name}),
            })
            .collect();
        let mut form =
            multipart::Form::new().text("properties", Value::Array(properties).to_string());
        for path in &launch.files {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|source| file_error(path, source))?;
            let len = file
                .metadata()
                .await
                .map_err(|source| file_error(path, source))?
                .len();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
            form = form.part(
                "file",
                multipart::Part::stream_with_length(body, len).file_name(name),
            );
        }
        if !launch.depends_on.is_empty() {
            form = form.text("dependsOn", launch.depends_on.join(","));
            if launch.afterany {
                form = form.text("dependencyType", "afterany");
            }
        }
        if let Some(session) = &launch.upload {
            form = form.text("uploadDefinitionId", session.clone());
        }
        if let Some(at) = launch.start_time {
            let at = at
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| Error::Protocol(e.to_string()))?;
            form = form.text("startTime", at);
        }
        let req = self
            .http
            .post(self.url(&format!(
                "/api/system/scripts/{}/processes",
                segment(script)
            )))
            .multipart(form);
        json(self.send(req).await?).await
    }

    pub async fn process(&self, p: impl Into<ProcessRef>) -> Result<Process> {
        let p = p.into();
        let mut process: Process = self.get_process_json(&p, "").await?;
        process.access_token = process.access_token.or(p.access);
        Ok(process)
    }

    /// One page of the caller's processes (all of them for an admin), newest first.
    /// `filters` are query parameters such as `("processStatus", "FAILED")` or
    /// `("scriptName", "row-count")`.
    pub async fn processes(
        &self,
        filters: &[(&str, &str)],
        page: u32,
        size: u32,
    ) -> Result<Page<Process>> {
        let query = query_pairs(filters);
        let body: Value = self
            .get_json(&format!(
                "/api/system/processes?page={page}&size={size}{query}"
            ))
            .await?;
        let (number, total_pages) = page_numbers(&body);
        Ok(Page {
            items: embedded(&body, "processes")?,
            number,
            total_pages,
            total_elements: body["page"]["totalElements"].as_u64().unwrap_or(0),
        })
    }

    /// Waits until the process is COMPLETED or FAILED and answers it.
    pub async fn wait(&self, p: impl Into<ProcessRef>) -> Result<Process> {
        let p = p.into();
        loop {
            let process = self.process(p.clone()).await?;
            if process.process_status.is_final() {
                return Ok(process);
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Stops a SCHEDULED or RUNNING process (it ends FAILED `stopped`).
    pub async fn stop(&self, p: impl Into<ProcessRef>) -> Result<()> {
        let p = p.into();
        let req = self.authorize(
            self.http
                .post(self.url(&format!("/api/system/processes/{}/stop", segment(&p.id)))),
            &p,
        );
        self.send(req).await.map(drop)
    }

    /// Deletes a finished process with its output and files.
    pub async fn delete(&self, p: impl Into<ProcessRef>) -> Result<()> {
        let p = p.into();
        let req = self.authorize(
            self.http
                .delete(self.url(&format!("/api/system/processes/{}", segment(&p.id)))),
            &p,
        );
        self.send(req).await.map(drop)
    }
}
