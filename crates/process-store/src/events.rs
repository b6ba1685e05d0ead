//! Events: recorded in the transaction of the change they describe, each with the process as
//! it was then, and queued for every matching webhook in the same transaction (the outbox).

use diesel::dsl::max;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use process_core::{Event, EventKind, Process, UserId};
use time::OffsetDateTime;

use crate::connection::{dispatch, AnyConnection};
use crate::error::StoreError;
use crate::schema::{events as e, webhook_deliveries as d, webhook_events as k, webhooks as w};
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

/// Records `kind` for each of `processes` at `at` and queues it for the webhooks that want
/// it, inside the caller's transaction. Call it after the transaction's other writes: on
/// PostgreSQL it takes the event-order lock, and a transaction that then waited for a row
/// lock could deadlock with one that holds that row and waits for the event-order lock.
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
    for process in processes {
        let owner = process.owner.map(|u| u.to_string());
        let row = NewEventRow {
            process_id: process.id.get(),
            user_id: owner.clone(),
            kind: kind.as_str(),
            time,
            process: serde_json::to_string(process).expect("a process serializes"),
        };
        let id: i64 = dispatch!(conn, |c| diesel::insert_into(e::table)
            .values(&row)
            .returning(e::id)
            .get_result(c)?);
        queue(conn, kind, id, process.id.get(), owner, time)?;
    }
    Ok(())
}

/// Queues event `id` for every webhook subscribed to `kind` that covers the process.
fn queue(
    conn: &mut AnyConnection,
    kind: EventKind,
    id: i64,
    process: i64,
    owner: Option<String>,
    time: i64,
) -> Result<(), StoreError> {
    let subscribers = w::table
        .inner_join(k::table)
        .filter(k::kind.eq(kind.as_str()))
        .filter(w::all_processes.or(w::user_id.nullable().eq(owner)))
        .select((
            w::id,
            id.into_sql::<BigInt>(),
            process.into_sql::<BigInt>(),
            "pending".into_sql::<Text>(),
            0.into_sql::<Integer>(),
            time.into_sql::<BigInt>(),
            time.into_sql::<BigInt>(),
        ));
    let columns = (
        d::webhook_id,
        d::event_id,
        d::process_id,
        d::state,
        d::attempts,
        d::queued_time,
        d::next_attempt,
    );
    dispatch!(conn, |c| diesel::insert_into(d::table)
        .values(subscribers.clone())
        .into_columns(columns)
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

    /// Removes events older than [`EVENT_RETENTION`] none of whose deliveries is pending
    /// (their finished deliveries go with them); returns how many.
    pub fn prune_events(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let cutoff = to_micros(now - EVENT_RETENTION);
        let pending = d::table.filter(d::state.eq("pending")).select(d::event_id);
        Ok(diesel::delete(
            e::table
                .filter(e::time.lt(cutoff))
                .filter(e::id.ne_all(pending)),
        )
        .execute(&mut *self.conn()?)?)
    }
}
