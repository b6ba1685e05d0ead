//! The script resource, as DSpace's scripts endpoint shapes it.

use process_core::Script;
use serde::Serialize;

use crate::hal::{BaseUrl, Link};

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSpecResource {
    pub name: String,
    pub name_long: Option<String>,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub mandatory: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScriptLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub processes: Link,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScriptResource {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub parameters: Vec<ParameterSpecResource>,
    #[serde(rename = "_links")]
    pub links: ScriptLinks,
}

impl ScriptResource {
    pub fn from_script(base: &BaseUrl, s: &Script) -> Self {
        let this = format!("/api/system/scripts/{}", s.name);
        Self {
            id: s.name.to_string(),
            name: s.name.to_string(),
            description: s.description.clone(),
            kind: "script",
            parameters: s
                .parameters
                .iter()
                .map(|p| ParameterSpecResource {
                    name: p.name.clone(),
                    name_long: p.long.clone(),
                    description: p.description.clone(),
                    kind: p.ty.dspace_name(),
                    mandatory: p.mandatory,
                })
                .collect(),
            links: ScriptLinks {
                processes: base.link(&format!("{this}/processes")),
                this: base.link(&this),
            },
        }
    }
}
