//! Events: recorded in the transaction of the change they describe, each with the process as
//! it was then; and the outbox the webhook sender fills from them, behind a cursor.

use diesel::dsl::max;
use diesel::prelude::*;
use std::collections::HashMap;

use diesel::sql_types::BigInt;
use process_core::{Event, EventKind, Process, UserId};
use time::OffsetDateTime;

use crate::connection::{dispatch, write_transaction, AnyConnection};
use crate::error::StoreError;
use crate::schema::{
    events as e, webhook_cursor as cur, webhook_deliveries as d, webhook_events as k, webhooks as w,
};
use crate::timestamp::{from_micros, to_micros};
use crate::Store;

/// Events older than this are removed by housekeeping once no delivery of theirs is pending;
/// a live-stream client resuming after longer starts from the oldest kept.
pub const EVENT_RETENTION: time::Duration = time::Duration::days(7);

/// The PostgreSQL advisory lock every event-writing transaction takes before it inserts: ids
/// are then handed out in commit order, so a reader that has seen id N has seen every id
/// below N (a cursor never skips a late commit). SQLite serializes writers anyway.
const EVENT_ORDER_LOCK: i64 = 0x7072_6f63_6576;

#[derive(Insertable)]
#[diesel(table_name = e)]
struct NewEventRow<'a> {
    process_id: i64,
    user_id: Option<String>,
    kind: &'a str,
    time: i64,
    process: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = e)]
pub(crate) struct EventRow {
    id: i64,
    kind: String,
    time: i64,
    process: String,
}

impl EventRow {
    pub(crate) fn into_event(self) -> Result<Event, StoreError> {
        let process: Process = serde_json::from_str(&self.process).map_err(|err| {
            StoreError::Corrupt(process_core::ParseError::new(
                "event",
                self.id.to_string(),
                format!("a process snapshot ({err})"),
            ))
        })?;
        Ok(Event::new(
            self.id,
            self.kind.parse()?,
            from_micros(self.time),
            process,
        ))
    }
}

/// Records `kind` for each of `processes` at `at`, inside the caller's transaction, as one
/// insert. Call it after the transaction's other writes: on PostgreSQL it takes the
/// event-order lock, and a transaction that then waited for a row lock could deadlock with
/// one that holds that row and waits for the event-order lock. (The webhook sender queues
/// deliveries from these rows later, in batches: see `Store::fill_outbox`.)
pub(crate) fn record(
    conn: &mut AnyConnection,
    kind: EventKind,
    at: OffsetDateTime,
    processes: &[Process],
) -> Result<(), StoreError> {
    if processes.is_empty() {
        return Ok(());
    }
    if let AnyConnection::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(EVENT_ORDER_LOCK)
            .execute(c)?;
    }
    let time = to_micros(at);
    let rows: Vec<NewEventRow> = processes
        .iter()
        .map(|process| NewEventRow {
            process_id: process.id.get(),
            user_id: process.owner.map(|u| u.to_string()),
            kind: kind.as_str(),
            time,
            process: serde_json::to_string(process).expect("a process serializes"),
        })
        .collect();
    dispatch!(conn, |c| diesel::insert_into(e::table)
        .values(&rows)
        .execute(c)?);
    Ok(())
}

impl Store {
    /// Up to `limit` events after `after`, in order; of `owner`'s processes only, when given.
    pub fn events_after(
        &self,
        after: i64,
        owner: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let mut query = e::table
            .filter(e::id.gt(after))
            .order(e::id)
            .limit(i64::from(limit))
            .select(EventRow::as_select())
            .into_boxed();
        if let Some(owner) = owner {
            query = query.filter(e::user_id.eq(owner.to_string()));
        }
        query
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(EventRow::into_event)
            .collect()
    }

    /// The id of the newest event (0 when there is none).
    pub fn last_event_id(&self) -> Result<i64, StoreError> {
        Ok(e::table
            .select(max(e::id))
            .first::<Option<i64>>(&mut *self.conn()?)?
            .unwrap_or(0))
    }

    /// Removes events older than [`EVENT_RETENTION`] that the outbox has passed and none of
    /// whose deliveries is pending (their finished deliveries go with them); returns how many.
    pub fn prune_events(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let cutoff = to_micros(now - EVENT_RETENTION);
        let mut conn = self.conn()?;
        let filled: i64 = cur::table.select(cur::last_event).first(&mut *conn)?;
        let pending = d::table.filter(d::state.eq("pending")).select(d::event_id);
        Ok(diesel::delete(
            e::table
                .filter(e::time.lt(cutoff))
                .filter(e::id.le(filled))
                .filter(e::id.ne_all(pending)),
        )
        .execute(&mut *conn)?)
    }

    /// Queues the deliveries of up to `limit` events not yet in the outbox, for every webhook
    /// that wants each (its kind, its process, and newer than the webhook), and moves the
    /// outbox cursor past them, in one transaction; returns how many events it passed.
    pub fn fill_outbox(&self, limit: u32) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        // Most calls find nothing new: they end with two reads, never taking the write lock.
        let filled: i64 = cur::table.select(cur::last_event).first(&mut *conn)?;
        let newest: Option<i64> = e::table.select(max(e::id)).first(&mut *conn)?;
        if newest.unwrap_or(0) <= filled {
            return Ok(0);
        }
        write_transaction(&mut conn, |conn| {
            let after: i64 = match conn {
                AnyConnection::Sqlite(c) => cur::table.select(cur::last_event).first(c)?,
                // Nodes fill the outbox one at a time.
                AnyConnection::Postgres(c) => {
                    cur::table.select(cur::last_event).for_update().first(c)?
                }
            };
            let events: Vec<(i64, i64, Option<String>, String, i64)> = e::table
                .filter(e::id.gt(after))
                .order(e::id)
                .limit(i64::from(limit))
                .select((e::id, e::process_id, e::user_id, e::kind, e::time))
                .load(conn)?;
            let Some(last) = events.last().map(|ev| ev.0) else {
                return Ok(0);
            };
            let hooks: Vec<(i64, String, bool, i64)> = w::table
                .select((w::id, w::user_id, w::all_processes, w::after_event))
                .load(conn)?;
            let mut kinds: HashMap<i64, Vec<String>> = HashMap::new();
            for (id, kind) in k::table
                .select((k::webhook_id, k::kind))
                .load::<(i64, String)>(conn)?
            {
                kinds.entry(id).or_default().push(kind);
            }
            let mut rows = Vec::new();
            for (event, process, owner, kind, time) in &events {
                for (hook, hook_owner, all, hook_after) in &hooks {
                    let wants = kinds.get(hook).is_some_and(|k| k.contains(kind));
                    let covers = *all || owner.as_ref() == Some(hook_owner);
                    if wants && covers && event > hook_after {
                        rows.push((
                            d::webhook_id.eq(*hook),
                            d::event_id.eq(*event),
                            d::process_id.eq(*process),
                            d::state.eq("pending"),
                            d::attempts.eq(0),
                            d::queued_time.eq(*time),
                            d::next_attempt.eq(*time),
                        ));
                    }
                }
            }
            // In bounded statements: a backlog can be large.
            for chunk in rows.chunks(500) {
                dispatch!(conn, |c| diesel::insert_into(d::table)
                    .values(chunk)
                    .execute(c)?);
            }
            diesel::update(cur::table)
                .set(cur::last_event.eq(last))
                .execute(conn)?;
            Ok(events.len())
        })
    }
}
