//! The console log of a process, one row per captured line.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use process_core::{OutputLine, ProcessId};
use time::OffsetDateTime;

use crate::connection::{write_transaction, AnyConnection};
use crate::error::StoreError;
use crate::rows::OutputRow;
use crate::schema::output_lines as o;
use crate::timestamp::to_micros;
use crate::Store;

/// Rows per INSERT statement on PostgreSQL, where each statement is a round trip.
const INSERT_CHUNK: usize = 2_000;

const SQLITE_INSERT: &str =
    "INSERT INTO output_lines (process_id, seq, time, stream, line) VALUES (?, ?, ?, ?, ?)";

/// Which lines to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputRange {
    /// Only lines with a sequence number above this.
    pub after_seq: i64,
    pub from_time: Option<OffsetDateTime>,
    pub to_time: Option<OffsetDateTime>,
}

impl Store {
    /// Appends a batch of lines in one transaction.
    pub fn append_output(
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
                // SQLite has no round trips: one fixed single-row INSERT, prepared once and
                // cached by the connection, executed per line. Building and binding a
                // 2,000-row VALUES statement per batch through the query builder cost more
                // than SQLite's own work (see docs/benchmarks.md, capture).
                AnyConnection::Sqlite(c) => {
                    for l in lines {
                        diesel::sql_query(SQLITE_INSERT)
                            .bind::<BigInt, _>(process.get())
                            .bind::<BigInt, _>(l.seq)
                            .bind::<BigInt, _>(to_micros(l.time))
                            .bind::<Text, _>(l.stream.as_str())
                            .bind::<Text, _>(&l.line)
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

    /// The sequence number of the last stored line, 0 if there is none.
    pub fn last_seq(&self, process: ProcessId) -> Result<i64, StoreError> {
        let max: Option<i64> = o::table
            .filter(o::process_id.eq(process.get()))
            .select(diesel::dsl::max(o::seq))
            .first(&mut *self.conn()?)?;
        Ok(max.unwrap_or(0))
    }

    /// Up to `limit` lines in capture order.
    pub fn read_output(
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
