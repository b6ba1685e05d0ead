//! The console log of a process: an append-only file under `logs/` (process-datadir's
//! `FileLog`), read and written through the output-log port. Logs captured before logs were
//! files are rows of `output_lines`; they stay readable (a process without a log file is read
//! from its rows) and move into a file when such a process gets a new line.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use process_core::{OutputBatch, OutputLine, OutputRange, ProcessId};

use crate::connection::{write_transaction, AnyConnection};
use crate::error::StoreError;
use crate::rows::OutputRow;
use crate::schema::output_lines as o;
use crate::schema::processes as p;
use crate::timestamp::to_micros;
use crate::Store;

/// Rows per INSERT statement on PostgreSQL, where each statement is a round trip.
const INSERT_CHUNK: usize = 2_000;

/// Rows moved into a log file per read.
const ADOPT_PAGE: u32 = 10_000;

/// Inserts the lines of one process from a JSON array of `[seq, time, stream, line]`.
const SQLITE_INSERT_JSON: &str = "INSERT INTO output_lines (process_id, seq, time, stream, line) \
     SELECT ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?)";

/// `[[seq, time, "stream", "line"], ...]`.
fn batch_json(lines: &[OutputLine]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(lines.iter().map(|l| l.line.len() + 48).sum());
    out.push('[');
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "[{},{},\"{}\",\"",
            l.seq,
            to_micros(l.time),
            l.stream.as_str()
        );
        for c in l.line.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if u32::from(c) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        out.push_str("\"]");
    }
    out.push(']');
    out
}

impl Store {
    /// Appends a batch of lines, numbered from the last stored line + 1, as one write to the
    /// process's log file. The first line of a process checks that the process exists and
    /// moves any rows it has into the file.
    pub fn append_output(
        &self,
        process: ProcessId,
        lines: &[OutputLine],
    ) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        if !self.console.exists(process) {
            self.adopt_rows(process)?;
        }
        self.console
            .append(process, lines)
            .map_err(|e| self.log_error(process, e))
    }

    /// [`Store::append_output`] for a batch whose texts share one buffer (capture's).
    pub fn append_output_batch(
        &self,
        process: ProcessId,
        batch: &OutputBatch,
    ) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        if !self.console.exists(process) {
            self.adopt_rows(process)?;
        }
        self.console
            .append_batch(process, batch)
            .map_err(|e| self.log_error(process, e))
    }

    /// The sequence number of the last stored line, 0 if there is none.
    pub fn last_output_seq(&self, process: ProcessId) -> Result<i64, StoreError> {
        match self.console.last_seq(process) {
            Ok(Some(seq)) => Ok(seq),
            Ok(None) => self.last_output_seq_rows(process),
            Err(e) => Err(self.log_error(process, e)),
        }
    }

    /// Removes a process's log (file and rows).
    pub fn remove_output(&self, process: ProcessId) -> Result<(), StoreError> {
        self.console
            .remove(process)
            .map_err(|e| self.log_error(process, e))?;
        diesel::delete(o::table.filter(o::process_id.eq(process.get())))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Makes the log durable; the runner calls this before it records a final status.
    pub fn close_output(&self, process: ProcessId) -> Result<(), StoreError> {
        self.console
            .sync(process)
            .map_err(|e| self.log_error(process, e))
    }

    /// Up to `limit` lines in capture order.
    pub fn read_output(
        &self,
        process: ProcessId,
        range: OutputRange,
        limit: u32,
    ) -> Result<Vec<OutputLine>, StoreError> {
        match self.console.read(process, &range, limit) {
            Ok(Some(lines)) => Ok(lines),
            Ok(None) => self.read_output_rows(process, range, limit),
            Err(e) => Err(self.log_error(process, e)),
        }
    }

    fn log_error(&self, process: ProcessId, e: std::io::Error) -> StoreError {
        StoreError::io(self.layout().console_log_path(process), e)
    }

    /// Before a process's first line goes to a file: refuses output of a process that does not
    /// exist, and moves rows it has from before logs were files into the file, so the file
    /// is the whole log from then on.
    fn adopt_rows(&self, process: ProcessId) -> Result<(), StoreError> {
        // One read for both questions: whether the process exists, and its last row.
        let (rows, last): (i64, Option<i64>) = p::table
            .left_join(o::table)
            .filter(p::id.eq(process.get()))
            .select((
                diesel::dsl::count(p::id),
                diesel::dsl::max(o::seq.nullable()),
            ))
            .first(&mut *self.conn()?)?;
        if rows == 0 {
            return Err(StoreError::io(
                self.layout().console_log_path(process),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no process {process} to write output for"),
                ),
            ));
        }
        if last.is_none() {
            return Ok(());
        }
        let mut after = 0;
        loop {
            let rows = self.read_output_rows(process, OutputRange::after(after), ADOPT_PAGE)?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            self.console
                .append(process, &rows)
                .map_err(|e| self.log_error(process, e))?;
        }
        self.console
            .sync(process)
            .map_err(|e| self.log_error(process, e))?;
        diesel::delete(o::table.filter(o::process_id.eq(process.get())))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Appends lines as rows, the way logs were stored before they were files (tests of the
    /// read-through use it to make such a log).
    pub fn append_output_rows(
        &self,
        process: ProcessId,
        lines: &[OutputLine],
    ) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            match conn {
                // One statement per batch with the batch as one JSON parameter: SQLite
                // unpacks it in C. Lines holding NUL go row by row, as JSON text cannot
                // carry them through unchanged.
                AnyConnection::Sqlite(c) if !lines.iter().any(|l| l.line.contains('\0')) => {
                    diesel::sql_query(SQLITE_INSERT_JSON)
                        .bind::<BigInt, _>(process.get())
                        .bind::<Text, _>(batch_json(lines))
                        .execute(c)?;
                }
                AnyConnection::Sqlite(c) => {
                    for l in lines {
                        diesel::insert_into(o::table)
                            .values(OutputRow::from_line(process, l))
                            .execute(c)?;
                    }
                }
                AnyConnection::Postgres(c) => {
                    let rows: Vec<OutputRow> = lines
                        .iter()
                        .map(|l| OutputRow::from_line(process, l))
                        .collect();
                    for chunk in rows.chunks(INSERT_CHUNK) {
                        diesel::insert_into(o::table).values(chunk).execute(c)?;
                    }
                }
            }
            Ok(())
        })
    }

    fn last_output_seq_rows(&self, process: ProcessId) -> Result<i64, StoreError> {
        let max: Option<i64> = o::table
            .filter(o::process_id.eq(process.get()))
            .select(diesel::dsl::max(o::seq))
            .first(&mut *self.conn()?)?;
        Ok(max.unwrap_or(0))
    }

    fn read_output_rows(
        &self,
        process: ProcessId,
        range: OutputRange,
        limit: u32,
    ) -> Result<Vec<OutputLine>, StoreError> {
        let mut q = o::table
            .filter(o::process_id.eq(process.get()))
            .filter(o::seq.gt(range.after_seq))
            .into_boxed();
        if let Some(from) = range.from_time {
            q = q.filter(o::time.ge(to_micros(from)));
        }
        if let Some(to) = range.to_time {
            q = q.filter(o::time.le(to_micros(to)));
        }
        q.order(o::seq)
            .limit(i64::from(limit))
            .select(OutputRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(OutputRow::into_line)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sqlite::SqliteConnection;
    use time::OffsetDateTime;

    #[derive(QueryableByName, PartialEq, Debug)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        seq: i64,
        #[diesel(sql_type = BigInt)]
        time: i64,
        #[diesel(sql_type = Text)]
        stream: String,
        #[diesel(sql_type = Text)]
        line: String,
    }

    #[test]
    fn batch_json_reads_back_unchanged_in_sqlite() {
        let texts = [
            "plain",
            "",
            "quotes \" and 'single' and \\ backslash \\\\",
            "tab\tcr\rbell\u{7} esc\u{1b}[0m del\u{7f}",
            "\u{e9}t\u{e9} \u{1f600} \u{2028} [1,2] {\"a\":1}",
        ];
        let lines: Vec<OutputLine> = texts
            .iter()
            .zip(1..)
            .map(|(t, seq)| OutputLine {
                seq,
                time: OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time")
                    + time::Duration::microseconds(seq),
                stream: if seq % 2 == 0 {
                    process_core::Stream::Stderr
                } else {
                    process_core::Stream::Stdout
                },
                line: (*t).to_owned(),
            })
            .collect();
        let mut conn = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT value ->> 0 AS seq, value ->> 1 AS time, value ->> 2 AS stream, \
             value ->> 3 AS line FROM json_each(?)",
        )
        .bind::<Text, _>(batch_json(&lines))
        .load(&mut conn)
        .expect("json_each");
        let expected: Vec<Row> = lines
            .iter()
            .map(|l| Row {
                seq: l.seq,
                time: to_micros(l.time),
                stream: l.stream.as_str().to_owned(),
                line: l.line.clone(),
            })
            .collect();
        assert_eq!(rows, expected);
    }
}
