//! What an eperson resource shows of a user besides their name (email, first and last name),
//! and users who come from an OpenID Connect provider: created on first sight, without a
//! password, their groups and admin right written from the provider's token whenever they
//! change (so a session begun with such a token keeps them).

use diesel::prelude::*;
use process_core::User;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::connection::{write_transaction, AnyConnection};
use crate::error::StoreError;
use crate::schema::{user_groups as g, users as u};
use crate::timestamp::to_micros;
use crate::users::{add_groups, load_user, present, user_id_by_name};
use crate::Store;

/// A user with what their eperson resource shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub user: User,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Made from an identity provider's token: no password, groups from the provider.
    pub external: bool,
    /// May log in with a password.
    pub has_password: bool,
    /// The version every login session of the user must carry.
    pub session_version: i64,
}

/// A change to a user's profile: `Some` sets a field (an empty string clears it), `None`
/// leaves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A user as an identity provider's token describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUser {
    pub name: String,
    pub admin: bool,
    pub groups: Vec<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

type ProfileRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    Option<String>,
);

fn load_profile(conn: &mut AnyConnection, id: &str) -> Result<Option<Profile>, StoreError> {
    let Some((user, session_version)) = load_user(conn, id)? else {
        return Ok(None);
    };
    let (email, first_name, last_name, external, hash) = u::table
        .filter(u::id.eq(id))
        .select((
            u::email,
            u::first_name,
            u::last_name,
            u::external,
            u::password_hash,
        ))
        .first::<ProfileRow>(conn)?;
    Ok(Some(Profile {
        user,
        email,
        first_name,
        last_name,
        external,
        has_password: hash.is_some(),
        session_version,
    }))
}

fn cleared(value: &Option<String>) -> Option<Option<&str>> {
    value
        .as_deref()
        .map(|v| Some(v.trim()).filter(|v| !v.is_empty()))
}

impl ExternalUser {
    /// Does `profile` already say what this token says?
    fn matches(&self, profile: &Profile) -> bool {
        profile.external
            && profile.user.admin == self.admin
            && profile.user.groups == self.groups
            && profile.email == self.email
            && profile.first_name == self.first_name
            && profile.last_name == self.last_name
    }
}

impl Store {
    /// A user's profile, by id.
    pub fn profile(&self, id: process_core::UserId) -> Result<Option<Profile>, StoreError> {
        load_profile(&mut *self.conn()?, &id.to_string())
    }

    /// Changes the profile of user `name`; false when there is no such user.
    pub fn set_profile(&self, name: &str, change: &ProfileChange) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let Some(id) = user_id_by_name(conn, name)? else {
                return Ok(false);
            };
            let target = u::table.filter(u::id.eq(&id));
            if let Some(email) = cleared(&change.email) {
                diesel::update(target)
                    .set(u::email.eq(email))
                    .execute(conn)?;
            }
            if let Some(first) = cleared(&change.first_name) {
                diesel::update(target)
                    .set(u::first_name.eq(first))
                    .execute(conn)?;
            }
            if let Some(last) = cleared(&change.last_name) {
                diesel::update(target)
                    .set(u::last_name.eq(last))
                    .execute(conn)?;
            }
            Ok(true)
        })
    }

    /// The user an identity provider's token names, created on first sight and brought up to
    /// date (groups, admin, email, names) when the token says something new; a token that
    /// says nothing new costs one read. `None` when the name belongs to a local user: a
    /// provider never takes over an account it did not make.
    pub fn sync_external_user(
        &self,
        ext: &ExternalUser,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        // Two first sights at once on PostgreSQL: both may insert, and the loser's unique
        // violation is settled by looking again, when the row is there.
        self.sync_external_once(ext, now)
            .or_else(|_| self.sync_external_once(ext, now))
    }

    fn sync_external_once(
        &self,
        ext: &ExternalUser,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        let mut ext = ext.clone();
        ext.groups.sort();
        ext.groups.dedup();
        let mut conn = self.conn()?;
        if let Some(id) = user_id_by_name(&mut conn, &ext.name)? {
            if let Some(profile) = load_profile(&mut conn, &id)? {
                if !profile.external {
                    return Ok(None);
                }
                if ext.matches(&profile) {
                    return Ok(Some(profile.user));
                }
            }
        }
        write_transaction(&mut conn, |conn| {
            let id = match user_id_by_name(conn, &ext.name)? {
                Some(id) => {
                    let external: bool = u::table
                        .filter(u::id.eq(&id))
                        .select(u::external)
                        .first(conn)?;
                    if !external {
                        return Ok(None);
                    }
                    diesel::update(u::table.filter(u::id.eq(&id)))
                        .set((
                            u::admin.eq(ext.admin),
                            u::email.eq(&ext.email),
                            u::first_name.eq(&ext.first_name),
                            u::last_name.eq(&ext.last_name),
                        ))
                        .execute(conn)?;
                    diesel::delete(
                        g::table
                            .filter(g::user_id.eq(&id))
                            .filter(g::name.ne_all(&ext.groups)),
                    )
                    .execute(conn)?;
                    id
                }
                None => {
                    let id = Uuid::new_v4().to_string();
                    diesel::insert_into(u::table)
                        .values((
                            u::id.eq(&id),
                            u::name.eq(&ext.name),
                            u::admin.eq(ext.admin),
                            u::creation_time.eq(to_micros(now)),
                            u::email.eq(&ext.email),
                            u::first_name.eq(&ext.first_name),
                            u::last_name.eq(&ext.last_name),
                            u::external.eq(true),
                        ))
                        .execute(conn)?;
                    id
                }
            };
            add_groups(conn, &id, &ext.groups)?;
            present(conn, &id).map(Some)
        })
    }
}
