//! Secrets the service creates once and all nodes share, such as the JWT signing key.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::connection::dispatch;
use crate::error::StoreError;
use crate::schema::service_secrets as s;
use crate::timestamp::to_micros;
use crate::Store;

impl Store {
    /// The secret `name`, created from `generate` if there is none yet. Two nodes racing to
    /// create it both end up with the one that was stored first.
    pub fn secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        let mut conn = self.conn()?;
        let row = (
            s::name.eq(name),
            s::value.eq(generate()),
            s::creation_time.eq(to_micros(OffsetDateTime::now_utc())),
        );
        dispatch!(&mut *conn, |c| diesel::insert_into(s::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?);
        Ok(s::table
            .filter(s::name.eq(name))
            .select(s::value)
            .first(&mut *conn)?)
    }
}
