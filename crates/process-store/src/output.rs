//! The console log of a process, one row per captured line.

use diesel::prelude::*;
use process_core::{OutputLine, ProcessId};
use time::OffsetDateTime;

use crate::connection::dispatch;
use crate::connection::write_transaction;
use crate::error::StoreError;
use crate::rows::OutputRow;
use crate::schema::output_lines as o;
use crate::timestamp::to_micros;
use crate::Store;

/// Rows per INSERT statement: 5 bind parameters each stays far below SQLite's limit.
const INSERT_CHUNK: usize = 2_000;

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
        let rows: Vec<OutputRow> = lines
            .iter()
            .map(|l| OutputRow::from_line(process, l))
            .collect();
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            for chunk in rows.chunks(INSERT_CHUNK) {
                dispatch!(&mut *conn, |c| diesel::insert_into(o::table)
                    .values(chunk)
                    .execute(c)?);
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
