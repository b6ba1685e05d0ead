//! Users, their groups and API tokens. Tokens are random and high-entropy, so they are stored
//! as a SHA-256 digest: a leaked database yields no usable token. Each user has a session
//! version that login JWTs carry; bumping it ends every login session issued before.

use diesel::prelude::*;
use process_core::{User, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::connection::{write_transaction, AnyConnection};
use crate::error::StoreError;
use crate::schema::{api_tokens as t, user_groups as g, users as u};
use crate::timestamp::{from_micros, to_micros};
use crate::Store;

/// Prefix of every API token, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "pd_";

/// A token's last use is written at most this often (microseconds): it is looked up on every
/// request, and a write per request would contend with the runner for SQLite's one writer.
const LAST_USE_GRANULARITY_MICROS: i64 = 60 * 1_000_000;

/// What an administrator may know about an API token: never the token or its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Names the token in `revoke_token`; never reused.
    pub id: i64,
    pub creation_time: OffsetDateTime,
    /// To the minute (see `LAST_USE_GRANULARITY_MICROS`); `None` if never used.
    pub last_used: Option<OffsetDateTime>,
    /// `None` for a token that does not expire.
    pub expires_at: Option<OffsetDateTime>,
}

/// A change to an existing user's rights.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// Grant (`Some(true)`) or revoke (`Some(false)`) admin rights; `None` leaves them.
    pub admin: Option<bool>,
    pub add_groups: Vec<String>,
    pub remove_groups: Vec<String>,
}

/// What a password login needs: the user, their password hash and the session version a new
/// JWT must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: User,
    pub password_hash: Option<String>,
    pub session_version: i64,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A user and their session version.
pub(crate) fn load_user(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(User, i64)>, StoreError> {
    let Some((id, name, admin, version)) = u::table
        .filter(u::id.eq(id))
        .select((u::id, u::name, u::admin, u::session_version))
        .first::<(String, String, bool, i64)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let groups = g::table
        .filter(g::user_id.eq(&id))
        .order(g::name)
        .select(g::name)
        .load(conn)?;
    let user = User {
        id: id.parse::<UserId>()?,
        name,
        admin,
        groups,
    };
    Ok(Some((user, version)))
}

pub(crate) fn user_id_by_name(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<String>, StoreError> {
    Ok(u::table
        .filter(u::name.eq(name))
        .select(u::id)
        .first(conn)
        .optional()?)
}

pub(crate) fn add_groups(
    conn: &mut AnyConnection,
    id: &str,
    groups: &[String],
) -> Result<(), StoreError> {
    let have: Vec<String> = g::table
        .filter(g::user_id.eq(id))
        .select(g::name)
        .load(conn)?;
    for group in groups.iter().filter(|gr| !have.contains(gr)) {
        diesel::insert_into(g::table)
            .values((g::user_id.eq(id), g::name.eq(group)))
            .execute(conn)?;
    }
    Ok(())
}

fn bump_session_version(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    let n = diesel::update(u::table.filter(u::id.eq(id)))
        .set(u::session_version.eq(u::session_version + 1))
        .execute(conn)?;
    Ok(n == 1)
}

pub(crate) fn present(conn: &mut AnyConnection, id: &str) -> Result<User, StoreError> {
    load_user(conn, id)?
        .map(|(user, _)| user)
        .ok_or(StoreError::Query(diesel::result::Error::NotFound))
}

impl Store {
    /// Creates user `name`, or updates an existing one: `admin` can only grant (never revoke)
    /// admin rights, and groups are added to the ones it has. `update_user` revokes.
    pub fn upsert_user(
        &self,
        name: &str,
        admin: bool,
        groups: &[String],
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let id = match user_id_by_name(conn, name)? {
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
            add_groups(conn, &id, groups)?;
            present(conn, &id)
        })
    }

    /// Changes the rights of user `name`; `None` when there is no such user. Requests already
    /// authenticated keep the rights they were checked with; every later one sees the change.
    pub fn update_user(&self, name: &str, change: &UserChange) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let Some(id) = user_id_by_name(conn, name)? else {
                return Ok(None);
            };
            if let Some(admin) = change.admin {
                diesel::update(u::table.filter(u::id.eq(&id)))
                    .set(u::admin.eq(admin))
                    .execute(conn)?;
            }
            add_groups(conn, &id, &change.add_groups)?;
            if !change.remove_groups.is_empty() {
                diesel::delete(
                    g::table
                        .filter(g::user_id.eq(&id))
                        .filter(g::name.eq_any(&change.remove_groups)),
                )
                .execute(conn)?;
            }
            present(conn, &id).map(Some)
        })
    }

    /// Issues a new API token for a user, valid until `expires_at` (or for ever), and returns
    /// it; only its digest is kept.
    pub fn create_token(
        &self,
        user: UserId,
        now: OffsetDateTime,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        diesel::insert_into(t::table)
            .values((
                t::token_hash.eq(token_hash(&token)),
                t::user_id.eq(user.to_string()),
                t::creation_time.eq(to_micros(now)),
                t::expires_at.eq(expires_at.map(to_micros)),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(token)
    }

    /// The user a token belongs to, if the token exists and has not expired at `now`; records
    /// its use.
    pub fn user_by_token(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn()?;
        let now = to_micros(now);
        let found: Option<(i64, String, Option<i64>)> = t::table
            .filter(t::token_hash.eq(token_hash(token)))
            .filter(t::expires_at.is_null().or(t::expires_at.gt(now)))
            .select((t::id, t::user_id, t::last_used_at))
            .first(&mut *conn)
            .optional()?;
        let Some((token_id, user_id, last_used)) = found else {
            return Ok(None);
        };
        if last_used.is_none_or(|at| at <= now - LAST_USE_GRANULARITY_MICROS) {
            diesel::update(t::table.filter(t::id.eq(token_id)))
                .set(t::last_used_at.eq(now))
                .execute(&mut *conn)?;
        }
        Ok(load_user(&mut conn, &user_id)?.map(|(user, _)| user))
    }

    /// The tokens of user `name`, oldest first (expired ones too, until revoked); `None` when
    /// there is no such user.
    pub fn list_tokens(&self, name: &str) -> Result<Option<Vec<TokenInfo>>, StoreError> {
        let mut conn = self.conn()?;
        let Some(id) = user_id_by_name(&mut conn, name)? else {
            return Ok(None);
        };
        let rows: Vec<(i64, i64, Option<i64>, Option<i64>)> = t::table
            .filter(t::user_id.eq(&id))
            .order(t::id)
            .select((t::id, t::creation_time, t::last_used_at, t::expires_at))
            .load(&mut *conn)?;
        Ok(Some(
            rows.into_iter()
                .map(|(id, created, last_used, expires)| TokenInfo {
                    id,
                    creation_time: from_micros(created),
                    last_used: last_used.map(from_micros),
                    expires_at: expires.map(from_micros),
                })
                .collect(),
        ))
    }

    /// Deletes token `token_id` of user `name`; false when that user has no such token.
    pub fn revoke_token(&self, name: &str, token_id: i64) -> Result<bool, StoreError> {
        let n = diesel::delete(
            t::table
                .filter(t::id.eq(token_id))
                .filter(t::user_id.eq_any(u::table.filter(u::name.eq(name)).select(u::id))),
        )
        .execute(&mut *self.conn()?)?;
        Ok(n == 1)
    }

    /// Deletes every token of user `name` and ends their login sessions; the number of tokens
    /// deleted, or `None` when there is no such user.
    pub fn revoke_all_tokens(&self, name: &str) -> Result<Option<usize>, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let Some(id) = user_id_by_name(conn, name)? else {
                return Ok(None);
            };
            let n = diesel::delete(t::table.filter(t::user_id.eq(&id))).execute(conn)?;
            bump_session_version(conn, &id)?;
            Ok(Some(n))
        })
    }

    /// Sets the password hash (a PHC string) of user `name` and ends their login sessions, so
    /// whoever knew the old password is logged out; false when there is no such user.
    pub fn set_password_hash(&self, name: &str, hash: &str) -> Result<bool, StoreError> {
        let n = diesel::update(u::table.filter(u::name.eq(name)))
            .set((
                u::password_hash.eq(Some(hash)),
                u::session_version.eq(u::session_version + 1),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(n == 1)
    }

    /// A user, their password hash and session version, by name.
    pub fn user_with_password(&self, name: &str) -> Result<Option<Login>, StoreError> {
        let mut conn = self.conn()?;
        let Some((id, hash)) = u::table
            .filter(u::name.eq(name))
            .select((u::id, u::password_hash))
            .first::<(String, Option<String>)>(&mut *conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(
            load_user(&mut conn, &id)?.map(|(user, session_version)| Login {
                user,
                password_hash: hash,
                session_version,
            }),
        )
    }

    /// The user a login session names, if `session_version` is still theirs.
    pub fn session_user(
        &self,
        id: UserId,
        session_version: i64,
    ) -> Result<Option<User>, StoreError> {
        Ok(load_user(&mut *self.conn()?, &id.to_string())?
            .filter(|(_, version)| *version == session_version)
            .map(|(user, _)| user))
    }

    /// Ends every login session of a user (the JWTs issued so far stop working); false when
    /// there is no such user.
    pub fn end_sessions(&self, id: UserId) -> Result<bool, StoreError> {
        bump_session_version(&mut *self.conn()?, &id.to_string())
    }

    pub fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(load_user(&mut *self.conn()?, &id.to_string())?.map(|(user, _)| user))
    }

    /// A user by name.
    pub fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn()?;
        match user_id_by_name(&mut conn, name)? {
            Some(id) => Ok(load_user(&mut conn, &id)?.map(|(user, _)| user)),
            None => Ok(None),
        }
    }
}
