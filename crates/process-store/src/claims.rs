//! Claiming work: which SCHEDULED processes are due, starting them for a node in one write,
//! and what a node left RUNNING.
//!
//! One node per database for now: claims do not record the node, and `running_on` is every
//! RUNNING process. The claim itself is already safe for several claimers: on SQLite the
//! write transaction (`BEGIN IMMEDIATE`) serializes claims; on PostgreSQL the due rows are
//! locked with `FOR NO KEY UPDATE SKIP LOCKED`, so concurrent claims take disjoint sets. Not
//! `FOR UPDATE`: that lock conflicts with the key-share lock a launch's dependency row takes on
//! the process it depends on, and with the status-count triggers the two deadlocked.

use std::collections::HashMap;

use diesel::prelude::*;
use process_core::dependency::{readiness, Readiness};
use process_core::{
    Claim, EventKind, NodeName, Process, ProcessId, ProcessStatus, StatusReason, Transition, Unmet,
};
use time::OffsetDateTime;

use crate::connection::{write_transaction, AnyConnection};
use crate::error::StoreError;
use crate::events;
use crate::processes::{apply, hydrate, load_all};
use crate::rows::ProcessRow;
use crate::schema::{process_dependencies as pd, processes as p};
use crate::timestamp::{from_micros, to_micros};
use crate::Store;

/// The ids of due processes, oldest first: SCHEDULED, start time come, and no dependency
/// still SCHEDULED or RUNNING (so a long queue of waiters cannot hide ready work behind the
/// limit).
macro_rules! due_ids {
    ($now:expr, $limit:expr) => {{
        let dep = diesel::alias!(crate::schema::processes as dependency);
        let unfinished = dep
            .filter(dep.field(p::status).eq_any([
                ProcessStatus::Scheduled.as_str(),
                ProcessStatus::Running.as_str(),
            ]))
            .select(dep.field(p::id));
        let waiting = pd::table
            .filter(pd::depends_on.eq_any(unfinished))
            .select(pd::process_id);
        p::table
            .filter(p::status.eq(ProcessStatus::Scheduled.as_str()))
            .filter(
                p::not_before
                    .is_null()
                    .or(p::not_before.le(to_micros($now))),
            )
            .filter(p::id.ne_all(waiting))
            .order(p::id)
            .limit(i64::from($limit))
            .select(p::id)
    }};
}

/// The status of each id that still exists.
fn statuses(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<i64, ProcessStatus>, StoreError> {
    p::table
        .filter(p::id.eq_any(ids))
        .select((p::id, p::status))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, s)| Ok((id, s.parse::<ProcessStatus>()?)))
        .collect()
}

impl Store {
    /// Claims up to `limit` due processes (see `ProcessRepository::claim`) in one write
    /// transaction: the due rows, their dependencies' statuses, then one compare-and-set for
    /// those to start and one for those whose dependencies can no longer be met.
    pub fn claim(
        &self,
        node: &NodeName,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Claim, StoreError> {
        tracing::trace!(%node, limit, "claim");
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let ids: Vec<i64> = match conn {
                AnyConnection::Sqlite(c) => due_ids!(now, limit).load(c)?,
                AnyConnection::Postgres(c) => due_ids!(now, limit)
                    .for_no_key_update()
                    .skip_locked()
                    .load(c)?,
            };
            // Most claims (one after every launch and every end) find nothing due: they end
            // here, without the statements below.
            if ids.is_empty() {
                return Ok(Claim::default());
            }
            let due = load_all(conn, &ids)?;
            let deps: Vec<i64> = due
                .iter()
                .flat_map(|d| d.depends_on.iter().map(|i| i.get()))
                .collect();
            let known = statuses(conn, &deps)?;
            let mut start = Vec::new();
            let mut fail = Vec::new();
            for process in &due {
                let of_deps: Vec<Option<ProcessStatus>> = process
                    .depends_on
                    .iter()
                    .map(|d| known.get(&d.get()).copied())
                    .collect();
                match readiness(process.dependency_type, &of_deps) {
                    Readiness::Ready => start.push(process.id.get()),
                    Readiness::Fail => fail.push(process.id.get()),
                    // A dependency changed since the due query: the next claim sees it.
                    Readiness::Wait => {}
                }
            }
            apply(
                conn,
                &start,
                &Transition::Start {
                    at: now,
                    executor_job_id: None,
                },
            )?;
            apply(
                conn,
                &fail,
                &Transition::Fail {
                    at: now,
                    reason: StatusReason::Dependency,
                    exit_code: None,
                },
            )?;
            let started = load_all(conn, &start)?;
            let failed = load_all(conn, &fail)?;
            events::record(conn, EventKind::Running, now, &started)?;
            events::record(conn, EventKind::Failed, now, &failed)?;
            let unmet = failed
                .into_iter()
                .map(|process| {
                    let dependencies: Vec<ProcessId> = process
                        .depends_on
                        .iter()
                        .copied()
                        .filter(|d| known.get(&d.get()) != Some(&ProcessStatus::Completed))
                        .collect();
                    Unmet {
                        process,
                        dependencies,
                    }
                })
                .collect();
            Ok(Claim { started, unmet })
        })
    }

    /// The earliest future start time of a SCHEDULED process.
    pub fn next_start_time(
        &self,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let min: Option<i64> = p::table
            .filter(p::status.eq(ProcessStatus::Scheduled.as_str()))
            .filter(p::not_before.gt(to_micros(now)))
            .select(diesel::dsl::min(p::not_before))
            .first(&mut *self.conn()?)?;
        Ok(min.map(from_micros))
    }

    /// The RUNNING processes of `node`: with one node per database, every RUNNING process.
    pub fn running_on(&self, _node: &NodeName) -> Result<Vec<Process>, StoreError> {
        let mut conn = self.conn()?;
        let rows = p::table
            .filter(p::status.eq(ProcessStatus::Running.as_str()))
            .order(p::id)
            .select(ProcessRow::as_select())
            .load(&mut *conn)?;
        hydrate(&mut conn, rows)
    }
}
