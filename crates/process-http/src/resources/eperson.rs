//! A user as a DSpace eperson (`GET /api/eperson/epersons/{uuid}`, and embedded in the
//! authentication status).

use std::collections::BTreeMap;

use process_core::UserId;
use process_store::Profile;
use serde::Serialize;

use crate::hal::{BaseUrl, Link};
use crate::resources::bitstream::MetadataValue;

/// Where epersons live.
pub const EPERSONS_PATH: &str = "/api/eperson/epersons";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EpersonLinks {
    #[serde(rename = "self")]
    pub this: Link,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EpersonResource {
    pub id: String,
    pub uuid: String,
    /// The login name.
    pub name: String,
    pub email: Option<String>,
    /// The name the identity provider knows the user by; `null` for users who log in here.
    pub netid: Option<String>,
    /// `eperson.firstname` and `eperson.lastname`, when known.
    pub metadata: BTreeMap<String, Vec<MetadataValue>>,
    /// Has a password, or comes from the identity provider.
    pub can_log_in: bool,
    pub admin: bool,
    pub groups: Vec<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_links")]
    pub links: EpersonLinks,
}

impl EpersonResource {
    pub fn href(id: UserId) -> String {
        format!("{EPERSONS_PATH}/{id}")
    }

    /// `profile` as DSpace shows an eperson.
    pub fn of(base: &BaseUrl, profile: Profile) -> Self {
        let Profile {
            user,
            email,
            first_name,
            last_name,
            external,
            has_password,
            ..
        } = profile;
        let mut metadata = BTreeMap::new();
        for (key, value) in [
            ("eperson.firstname", first_name),
            ("eperson.lastname", last_name),
        ] {
            if let Some(v) = value {
                metadata.insert(key.to_owned(), MetadataValue::single(&v));
            }
        }
        Self {
            id: user.id.to_string(),
            uuid: user.id.to_string(),
            netid: external.then(|| user.name.clone()),
            name: user.name,
            email,
            metadata,
            can_log_in: external || has_password,
            admin: user.admin,
            groups: user.groups,
            kind: "eperson",
            links: EpersonLinks {
                this: base.link(&Self::href(user.id)),
            },
        }
    }
}
