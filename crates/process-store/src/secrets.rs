//! Secrets earlier versions kept in the database (the JWT signing key). They live in the data
//! directory now; `take_secret` moves one out at start, so sessions survive the upgrade.

use diesel::prelude::*;

use crate::connection::write_transaction;
use crate::error::StoreError;
use crate::schema::service_secrets as s;
use crate::Store;

impl Store {
    /// Removes the secret `name` from the database and returns it, if it was there.
    pub fn take_secret(&self, name: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let value: Option<String> = s::table
                .filter(s::name.eq(name))
                .select(s::value)
                .first(conn)
                .optional()?;
            diesel::delete(s::table.filter(s::name.eq(name))).execute(conn)?;
            Ok(value)
        })
    }

    /// Stores a secret the way earlier versions did (for tests of the upgrade).
    #[cfg(feature = "testing")]
    pub fn put_legacy_secret(&self, name: &str, value: &str) -> Result<(), StoreError> {
        use crate::connection::dispatch;
        let row = (
            s::name.eq(name),
            s::value.eq(value),
            s::creation_time.eq(crate::timestamp::to_micros(time::OffsetDateTime::now_utc())),
        );
        dispatch!(&mut *self.conn()?, |c| diesel::insert_into(s::table)
            .values(row)
            .execute(c)?);
        Ok(())
    }
}
