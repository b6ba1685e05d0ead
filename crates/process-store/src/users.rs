//! Users, their groups and API tokens. Tokens are random and high-entropy, so they are stored
//! as a SHA-256 digest: a leaked database yields no usable token.

use diesel::prelude::*;
use process_core::{User, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::connection::{write_transaction, AnyConnection};
use crate::error::StoreError;
use crate::schema::{api_tokens as t, user_groups as g, users as u};
use crate::timestamp::to_micros;
use crate::Store;

/// Prefix of every API token, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "pd_";

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn load_user(conn: &mut AnyConnection, id: &str) -> Result<Option<User>, StoreError> {
    let Some((id, name, admin)) = u::table
        .filter(u::id.eq(id))
        .select((u::id, u::name, u::admin))
        .first::<(String, String, bool)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let groups = g::table
        .filter(g::user_id.eq(&id))
        .order(g::name)
        .select(g::name)
        .load(conn)?;
    Ok(Some(User {
        id: id.parse::<UserId>()?,
        name,
        admin,
        groups,
    }))
}

impl Store {
    /// Creates user `name`, or updates an existing one: `admin` can only grant (never revoke)
    /// admin rights, and groups are added to the ones it has.
    pub fn upsert_user(
        &self,
        name: &str,
        admin: bool,
        groups: &[String],
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let existing: Option<String> = u::table
                .filter(u::name.eq(name))
                .select(u::id)
                .first(conn)
                .optional()?;
            let id = match existing {
                Some(id) => {
                    if admin {
                        diesel::update(u::table.filter(u::id.eq(&id)))
                            .set(u::admin.eq(true))
                            .execute(conn)?;
                    }
                    id
                }
                None => {
                    let id = Uuid::new_v4().to_string();
                    diesel::insert_into(u::table)
                        .values((
                            u::id.eq(&id),
                            u::name.eq(name),
                            u::admin.eq(admin),
                            u::creation_time.eq(to_micros(now)),
                        ))
                        .execute(conn)?;
                    id
                }
            };
            let have: Vec<String> = g::table
                .filter(g::user_id.eq(&id))
                .select(g::name)
                .load(conn)?;
            for group in groups.iter().filter(|gr| !have.contains(gr)) {
                diesel::insert_into(g::table)
                    .values((g::user_id.eq(&id), g::name.eq(group)))
                    .execute(conn)?;
            }
            load_user(conn, &id)?.ok_or(StoreError::Query(diesel::result::Error::NotFound))
        })
    }

    /// Issues a new API token for a user and returns it; only its digest is kept.
    pub fn create_token(&self, user: UserId, now: OffsetDateTime) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        diesel::insert_into(t::table)
            .values((
                t::token_hash.eq(token_hash(&token)),
                t::user_id.eq(user.to_string()),
                t::creation_time.eq(to_micros(now)),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(token)
    }

    /// The user a token belongs to, if any.
    pub fn user_by_token(&self, token: &str) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn()?;
        let user_id: Option<String> = t::table
            .filter(t::token_hash.eq(token_hash(token)))
            .select(t::user_id)
            .first(&mut *conn)
            .optional()?;
        match user_id {
            Some(id) => load_user(&mut conn, &id),
            None => Ok(None),
        }
    }

    /// Sets the password hash (a PHC string) of user `name`; false when there is no such user.
    pub fn set_password_hash(&self, name: &str, hash: &str) -> Result<bool, StoreError> {
        let n = diesel::update(u::table.filter(u::name.eq(name)))
            .set(u::password_hash.eq(Some(hash)))
            .execute(&mut *self.conn()?)?;
        Ok(n == 1)
    }

    /// A user and their password hash, by name.
    pub fn user_with_password(
        &self,
        name: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let mut conn = self.conn()?;
        let Some((id, hash)) = u::table
            .filter(u::name.eq(name))
            .select((u::id, u::password_hash))
            .first::<(String, Option<String>)>(&mut *conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(load_user(&mut conn, &id)?.map(|user| (user, hash)))
    }

    pub fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        load_user(&mut *self.conn()?, &id.to_string())
    }
}
