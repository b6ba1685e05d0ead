//! Webhooks and their deliveries: the subscriptions, the outbox rows the events queue (see
//! `events`), and what each delivery attempt did.

use std::collections::HashMap;

use diesel::prelude::*;
use process_core::{Event, EventKind, Page, PageRequest, UserId};
use time::OffsetDateTime;

use crate::connection::{dispatch, write_transaction};
use crate::error::StoreError;
use crate::events::EventRow;
use crate::schema::{events as e, webhook_deliveries as d, webhook_events as k, webhooks as w};
use crate::timestamp::{from_micros, to_micros};
use crate::Store;

/// A subscription as its owner sees it (the secret is never read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub owner: UserId,
    pub url: String,
    /// Where the owner reached this service when they subscribed: the base of the links in
    /// the deliveries.
    pub base_url: String,
    pub events: Vec<EventKind>,
    /// Every process, not only the owner's (administrators only).
    pub all_processes: bool,
    pub creation_time: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub owner: UserId,
    pub url: String,
    pub secret: String,
    pub base_url: String,
    pub events: Vec<EventKind>,
    pub all_processes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Given up after the retry period, or refused for good.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(process_core::ParseError::new(
                "delivery state",
                other,
                "pending, delivered or failed",
            )
            .into()),
        }
    }
}

/// One event queued for one webhook, with what its attempts did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub process_id: i64,
    pub state: DeliveryState,
    pub attempts: u32,
    pub queued_time: OffsetDateTime,
    pub next_attempt: OffsetDateTime,
    pub last_attempt: Option<OffsetDateTime>,
    /// The receiver's HTTP status of the last attempt, if it answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

/// A delivery to make now: where, signed with what, and the event it carries.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub url: String,
    pub secret: String,
    pub base_url: String,
    pub event: Event,
}

/// What one attempt did.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: OffsetDateTime,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// Delivered, failed for good, or pending again with the time of the next attempt.
    pub outcome: AttemptOutcome,
}

#[derive(Debug, Clone, Copy)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(OffsetDateTime),
    GiveUp,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = w)]
struct WebhookRow {
    id: i64,
    user_id: String,
    url: String,
    base_url: String,
    all_processes: bool,
    creation_time: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = d)]
struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    event_id: i64,
    process_id: i64,
    state: String,
    attempts: i32,
    queued_time: i64,
    next_attempt: i64,
    last_attempt: Option<i64>,
    last_status: Option<i32>,
    last_error: Option<String>,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            id: self.id,
            webhook_id: self.webhook_id,
            event_id: self.event_id,
            process_id: self.process_id,
            state: DeliveryState::parse(&self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            queued_time: from_micros(self.queued_time),
            next_attempt: from_micros(self.next_attempt),
            last_attempt: self.last_attempt.map(from_micros),
            last_status: self.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: self.last_error,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = w)]
struct NewWebhookRow<'a> {
    user_id: String,
    url: &'a str,
    secret: &'a str,
    base_url: &'a str,
    all_processes: bool,
    creation_time: i64,
    after_event: i64,
}

#[derive(Insertable)]
#[diesel(table_name = d)]
struct NewDeliveryRow<'a> {
    webhook_id: i64,
    event_id: i64,
    process_id: i64,
    state: &'a str,
    attempts: i32,
    queued_time: i64,
    next_attempt: i64,
}

fn kinds_of(
    conn: &mut crate::connection::AnyConnection,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<EventKind>>, StoreError> {
    let mut kinds: HashMap<i64, Vec<EventKind>> = HashMap::new();
    for (id, kind) in k::table
        .filter(k::webhook_id.eq_any(ids))
        .select((k::webhook_id, k::kind))
        .load::<(i64, String)>(conn)?
    {
        kinds.entry(id).or_default().push(kind.parse()?);
    }
    for list in kinds.values_mut() {
        // In the pinned order, whatever order they were given in.
        list.sort_by_key(|kind| EventKind::ALL.iter().position(|k| k == kind));
    }
    Ok(kinds)
}

fn hydrate(
    conn: &mut crate::connection::AnyConnection,
    rows: Vec<WebhookRow>,
) -> Result<Vec<Webhook>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut kinds = kinds_of(conn, &ids)?;
    rows.into_iter()
        .map(|row| {
            Ok(Webhook {
                id: row.id,
                owner: row.user_id.parse()?,
                url: row.url,
                base_url: row.base_url,
                events: kinds.remove(&row.id).unwrap_or_default(),
                all_processes: row.all_processes,
                creation_time: from_micros(row.creation_time),
            })
        })
        .collect()
}

impl Store {
    pub fn create_webhook(
        &self,
        new: &NewWebhook,
        now: OffsetDateTime,
    ) -> Result<Webhook, StoreError> {
        let mut conn = self.conn()?;
        let id = write_transaction(&mut conn, |conn| {
            // Every event up to the newest one is committed (ids follow commit order): the
            // webhook gets exactly those after it.
            let after_event: i64 = e::table
                .select(diesel::dsl::max(e::id))
                .first::<Option<i64>>(conn)?
                .unwrap_or(0);
            let row = NewWebhookRow {
                user_id: new.owner.to_string(),
                url: &new.url,
                secret: &new.secret,
                base_url: &new.base_url,
                all_processes: new.all_processes,
                creation_time: to_micros(now),
                after_event,
            };
            let id: i64 = dispatch!(conn, |c| diesel::insert_into(w::table)
                .values(&row)
                .returning(w::id)
                .get_result(c)?);
            let mut kinds: Vec<&str> = new.events.iter().map(|k| k.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            let rows: Vec<_> = kinds
                .into_iter()
                .map(|kind| (k::webhook_id.eq(id), k::kind.eq(kind)))
                .collect();
            dispatch!(conn, |c| diesel::insert_into(k::table)
                .values(&rows)
                .execute(c)?);
            Ok(id)
        })?;
        self.webhook(id)?
            .ok_or(StoreError::Query(diesel::result::Error::NotFound))
    }

    pub fn webhook(&self, id: i64) -> Result<Option<Webhook>, StoreError> {
        let mut conn = self.conn()?;
        let rows = w::table
            .filter(w::id.eq(id))
            .select(WebhookRow::as_select())
            .load(&mut *conn)?;
        Ok(hydrate(&mut conn, rows)?.pop())
    }

    /// Every webhook, or `owner`'s only, oldest first.
    pub fn webhooks(&self, owner: Option<UserId>) -> Result<Vec<Webhook>, StoreError> {
        let mut conn = self.conn()?;
        let mut query = w::table
            .order(w::id)
            .select(WebhookRow::as_select())
            .into_boxed();
        if let Some(owner) = owner {
            query = query.filter(w::user_id.eq(owner.to_string()));
        }
        let rows = query.load(&mut *conn)?;
        hydrate(&mut conn, rows)
    }

    /// Deletes a webhook with its queue; false when it did not exist.
    pub fn delete_webhook(&self, id: i64) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            diesel::delete(d::table.filter(d::webhook_id.eq(id))).execute(conn)?;
            diesel::delete(k::table.filter(k::webhook_id.eq(id))).execute(conn)?;
            Ok(diesel::delete(w::table.filter(w::id.eq(id))).execute(conn)? > 0)
        })
    }

    /// A webhook's deliveries, newest first.
    pub fn deliveries(
        &self,
        webhook: i64,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let mut conn = self.conn()?;
        let total: i64 = d::table
            .filter(d::webhook_id.eq(webhook))
            .count()
            .get_result(&mut *conn)?;
        let items = d::table
            .filter(d::webhook_id.eq(webhook))
            .order(d::id.desc())
            .limit(i64::from(page.size()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .select(DeliveryRow::as_select())
            .load(&mut *conn)?
            .into_iter()
            .map(DeliveryRow::into_delivery)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    /// Queues the event of `delivery` again for its webhook, as a new delivery due now (or
    /// gives the pending delivery of that event there already is); `None` when the webhook has
    /// no such delivery (or its event was pruned).
    pub fn redeliver(
        &self,
        webhook: i64,
        delivery: i64,
        now: OffsetDateTime,
    ) -> Result<Option<Delivery>, StoreError> {
        let mut conn = self.conn()?;
        let id = write_transaction(&mut conn, |conn| {
            let Some(old) = d::table
                .filter(d::id.eq(delivery))
                .filter(d::webhook_id.eq(webhook))
                .select(DeliveryRow::as_select())
                .first(conn)
                .optional()?
            else {
                return Ok(None);
            };
            // Asking again while one is pending gives that one: repeated clicks queue the
            // event once.
            let pending: Option<i64> = d::table
                .filter(d::webhook_id.eq(webhook))
                .filter(d::event_id.eq(old.event_id))
                .filter(d::state.eq(DeliveryState::Pending.as_str()))
                .select(d::id)
                .first(conn)
                .optional()?;
            if pending.is_some() {
                return Ok(pending);
            }
            let row = NewDeliveryRow {
                webhook_id: webhook,
                event_id: old.event_id,
                process_id: old.process_id,
                state: DeliveryState::Pending.as_str(),
                attempts: 0,
                queued_time: to_micros(now),
                next_attempt: to_micros(now),
            };
            let id: i64 = dispatch!(conn, |c| diesel::insert_into(d::table)
                .values(&row)
                .returning(d::id)
                .get_result(c)?);
            Ok(Some(id))
        })?;
        let Some(id) = id else { return Ok(None) };
        d::table
            .filter(d::id.eq(id))
            .select(DeliveryRow::as_select())
            .first(&mut *conn)?
            .into_delivery()
            .map(Some)
    }

    /// Up to `limit` deliveries due at `now`, oldest first, leaving out `busy` ones and those
    /// of `full` webhooks (as many in flight as they may have): of each
    /// webhook's pending deliveries for one process only the oldest is ever due, so a process's
    /// events reach a receiver in order.
    pub fn due_deliveries(
        &self,
        now: OffsetDateTime,
        busy: &[i64],
        full: &[i64],
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut conn = self.conn()?;
        let earlier = diesel::alias!(crate::schema::webhook_deliveries as earlier);
        let blocked = earlier
            .filter(earlier.field(d::webhook_id).eq(d::webhook_id))
            .filter(earlier.field(d::process_id).eq(d::process_id))
            .filter(earlier.field(d::state).eq(DeliveryState::Pending.as_str()))
            .filter(earlier.field(d::id).lt(d::id))
            .select(earlier.field(d::id));
        let rows: Vec<DeliveryRow> = d::table
            .filter(d::state.eq(DeliveryState::Pending.as_str()))
            .filter(d::next_attempt.le(to_micros(now)))
            .filter(d::id.ne_all(busy.to_vec()))
            .filter(d::webhook_id.ne_all(full.to_vec()))
            .filter(diesel::dsl::not(diesel::dsl::exists(blocked)))
            .order(d::id)
            .limit(i64::from(limit))
            .select(DeliveryRow::as_select())
            .load(&mut *conn)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let hooks: Vec<i64> = rows.iter().map(|r| r.webhook_id).collect();
        let targets: HashMap<i64, (String, String, String)> = w::table
            .filter(w::id.eq_any(&hooks))
            .select((w::id, w::url, w::secret, w::base_url))
            .load::<(i64, String, String, String)>(&mut *conn)?
            .into_iter()
            .map(|(id, url, secret, base)| (id, (url, secret, base)))
            .collect();
        let event_ids: Vec<i64> = rows.iter().map(|r| r.event_id).collect();
        let events: HashMap<i64, Event> = e::table
            .filter(e::id.eq_any(&event_ids))
            .select(EventRow::as_select())
            .load(&mut *conn)?
            .into_iter()
            .map(|row| row.into_event().map(|ev| (ev.id, ev)))
            .collect::<Result<_, StoreError>>()?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let (Some((url, secret, base_url)), Some(event)) = (
                targets.get(&row.webhook_id),
                events.get(&row.event_id).cloned(),
            ) else {
                continue;
            };
            due.push(DueDelivery {
                url: url.clone(),
                secret: secret.clone(),
                base_url: base_url.clone(),
                event,
                delivery: row.into_delivery()?,
            });
        }
        Ok(due)
    }

    /// Records what an attempt at `delivery` did.
    pub fn record_attempt(&self, delivery: i64, attempt: &Attempt) -> Result<(), StoreError> {
        let (state, next) = match attempt.outcome {
            AttemptOutcome::Delivered => (DeliveryState::Delivered, attempt.at),
            AttemptOutcome::GiveUp => (DeliveryState::Failed, attempt.at),
            AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, at),
        };
        diesel::update(d::table.filter(d::id.eq(delivery)))
            .set((
                d::state.eq(state.as_str()),
                d::attempts.eq(d::attempts + 1),
                d::next_attempt.eq(to_micros(next)),
                d::last_attempt.eq(Some(to_micros(attempt.at))),
                d::last_status.eq(attempt.status.map(i32::from)),
                d::last_error.eq(attempt.error.as_deref()),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }
}
