//! Who may do what. Every endpoint asks one of these functions; none decides on its own.

use crate::ids::UserId;
use crate::script::{Principal, Script};

/// A known user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub admin: bool,
    pub groups: Vec<String>,
}

/// Whoever is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    User(User),
}

impl Caller {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Caller::Anonymous => None,
            Caller::User(u) => Some(u.id),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::User(u) if u.admin)
    }
}

/// Why a caller may not do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// A login is needed and none was given (401).
    #[error("authentication is required")]
    Unauthenticated,
    /// The caller is known but not allowed (403).
    #[error("you are not allowed to do this")]
    Forbidden,
    /// The resource is hidden from this caller, exactly as if it did not exist (404).
    #[error("not found")]
    Hidden,
}

/// May `caller` start `script`?
pub fn may_start(caller: &Caller, script: &Script) -> Result<(), Denied> {
    let allowed = script.allowed.iter().any(|p| match (p, caller) {
        (Principal::Anonymous, _) => true,
        (_, Caller::Anonymous) => false,
        (Principal::Authenticated, Caller::User(_)) => true,
        (Principal::Admin, Caller::User(u)) => u.admin,
        (Principal::Group(g), Caller::User(u)) => u.admin || u.groups.iter().any(|ug| ug == g),
    });
    match (allowed, caller) {
        (true, _) => Ok(()),
        (false, Caller::Anonymous) => Err(Denied::Unauthenticated),
        (false, Caller::User(_)) => Err(Denied::Forbidden),
    }
}

/// Who may see a process started anonymously: the `anonymous_process_access` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AnonymousAccess {
    /// Only whoever presents the capability its launch answered with (and admins): process
    /// ids are sequential, so anything weaker lets anyone read every anonymous process.
    #[default]
    Capability,
    /// Everyone, as if published: for sites whose anonymous scripts produce nothing private.
    Public,
}

impl AnonymousAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Capability => "capability",
            Self::Public => "public",
        }
    }
}

impl std::str::FromStr for AnonymousAccess {
    type Err = crate::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "capability" => Ok(Self::Capability),
            "public" => Ok(Self::Public),
            other => Err(crate::ParseError::new(
                "anonymous_process_access",
                other,
                "capability or public",
            )),
        }
    }
}

/// May `caller` see or follow a process owned by `owner` (None: started anonymously)?
/// Admins see everything and users their own. A process started anonymously belongs to
/// nobody: it is seen by whoever presents its capability (`capability_matches`), or by
/// everyone when the site made anonymous processes `Public`. The answer for a process the
/// caller may not see is the one for a missing process (`missing`), so ids leak nothing.
pub fn may_access(
    caller: &Caller,
    owner: Option<UserId>,
    anonymous: AnonymousAccess,
    capability_matches: bool,
) -> Result<(), Denied> {
    match (caller, owner) {
        (Caller::User(u), _) if u.admin => Ok(()),
        (Caller::User(u), Some(o)) if u.id == o => Ok(()),
        (_, None) if capability_matches || anonymous == AnonymousAccess::Public => Ok(()),
        _ => Err(missing(caller)),
    }
}

/// May `caller` see something only its owner and admins see (an upload session)?
pub fn may_access_owned(caller: &Caller, owner: UserId) -> Result<(), Denied> {
    may_access(caller, Some(owner), AnonymousAccess::Capability, false)
}

/// May `caller` stop or delete a process it can see? The owner and admins may; a process
/// started anonymously belongs to nobody, so only an admin may end or remove it: its
/// capability is for reading, and travels in links that get shared.
pub fn may_modify(caller: &Caller, owner: Option<UserId>) -> Result<(), Denied> {
    match (caller, owner) {
        (Caller::User(u), _) if u.admin => Ok(()),
        (Caller::User(u), Some(o)) if u.id == o => Ok(()),
        (Caller::User(_), Some(_)) => Err(Denied::Hidden),
        (Caller::User(_), None) => Err(Denied::Forbidden),
        (Caller::Anonymous, _) => Err(Denied::Unauthenticated),
    }
}

/// What a caller gets when a process it asked for does not exist: the same answer as for one
/// it may not see.
pub fn missing(caller: &Caller) -> Denied {
    match caller {
        Caller::Anonymous => Denied::Unauthenticated,
        Caller::User(_) => Denied::Hidden,
    }
}

/// Which processes a caller's listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    All,
    OwnedBy(UserId),
}

/// The scope of `GET /api/system/processes`: admins all, users their own, anonymous nobody.
pub fn list_scope(caller: &Caller) -> Result<ListScope, Denied> {
    match caller {
        Caller::Anonymous => Err(Denied::Unauthenticated),
        Caller::User(u) if u.admin => Ok(ListScope::All),
        Caller::User(u) => Ok(ListScope::OwnedBy(u.id)),
    }
}

/// Operations that create something owned by the caller (upload definitions): any known
/// user, never anonymous.
pub fn require_user(caller: &Caller) -> Result<UserId, Denied> {
    caller.user_id().ok_or(Denied::Unauthenticated)
}

/// Admin-only operations (`search/byProperty`).
pub fn require_admin(caller: &Caller) -> Result<(), Denied> {
    match caller {
        Caller::Anonymous => Err(Denied::Unauthenticated),
        Caller::User(u) if u.admin => Ok(()),
        Caller::User(_) => Err(Denied::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::ScriptName;
    use uuid::Uuid;

    fn user(admin: bool, groups: &[&str]) -> Caller {
        Caller::User(User {
            id: UserId::from_uuid(Uuid::new_v4()),
            name: "u".into(),
            admin,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        })
    }

    fn script(allowed: &[&str]) -> Script {
        Script {
            name: ScriptName::parse("s").unwrap(),
            description: String::new(),
            command: vec!["/bin/true".into()],
            allowed: allowed.iter().map(|a| Principal::parse(a)).collect(),
            max_clock_time: None,
            env: Default::default(),
            executor: None,
            parameters: vec![],
        }
    }

    #[test]
    fn start_rules() {
        let anon = Caller::Anonymous;
        let plain = user(false, &["lab"]);
        let admin = user(true, &[]);
        let cases: &[(&[&str], &Caller, Result<(), Denied>)] = &[
            (&["anonymous"], &anon, Ok(())),
            (&["authenticated"], &anon, Err(Denied::Unauthenticated)),
            (&["authenticated"], &plain, Ok(())),
            (&["admin"], &plain, Err(Denied::Forbidden)),
            (&["admin"], &admin, Ok(())),
            (&["lab"], &plain, Ok(())),
            (&["other"], &plain, Err(Denied::Forbidden)),
            (&["other"], &admin, Ok(())),
            (&[], &admin, Err(Denied::Forbidden)),
        ];
        for (allowed, caller, expected) in cases {
            assert_eq!(
                may_start(caller, &script(allowed)),
                *expected,
                "{allowed:?}"
            );
        }
    }

    #[test]
    fn access_rules() {
        use AnonymousAccess::{Capability, Public};
        let owner = user(false, &[]);
        let other = user(false, &[]);
        let admin = user(true, &[]);
        let anon = Caller::Anonymous;
        let oid = owner.user_id();
        let hidden = |c: &Caller| Err(missing(c));
        // (caller, owner, policy, capability presented, expected)
        type Case<'a> = (
            &'a Caller,
            Option<UserId>,
            AnonymousAccess,
            bool,
            Result<(), Denied>,
        );
        let cases: &[Case] = &[
            (&owner, oid, Capability, false, Ok(())),
            (&admin, oid, Capability, false, Ok(())),
            (&other, oid, Capability, false, hidden(&other)),
            (&other, oid, Public, true, hidden(&other)),
            (&anon, oid, Public, true, hidden(&anon)),
            // Anonymous processes: the capability opens them, the policy may publish them.
            (&anon, None, Capability, false, hidden(&anon)),
            (&anon, None, Capability, true, Ok(())),
            (&anon, None, Public, false, Ok(())),
            (&other, None, Capability, false, hidden(&other)),
            (&other, None, Capability, true, Ok(())),
            (&other, None, Public, false, Ok(())),
            (&admin, None, Capability, false, Ok(())),
        ];
        for (caller, owner, policy, presented, expected) in cases {
            assert_eq!(
                may_access(caller, *owner, *policy, *presented),
                *expected,
                "{caller:?} {owner:?} {policy:?} {presented}"
            );
        }
        assert_eq!(missing(&other), Denied::Hidden);
        assert_eq!(missing(&anon), Denied::Unauthenticated);
        assert_eq!(may_access_owned(&owner, oid.unwrap()), Ok(()));
        assert_eq!(may_access_owned(&other, oid.unwrap()), Err(Denied::Hidden));
        assert_eq!(
            may_access_owned(&anon, oid.unwrap()),
            Err(Denied::Unauthenticated)
        );
        assert_eq!(may_modify(&owner, oid), Ok(()));
        assert_eq!(may_modify(&admin, oid), Ok(()));
        assert_eq!(may_modify(&admin, None), Ok(()));
        assert_eq!(may_modify(&other, oid), Err(Denied::Hidden));
        assert_eq!(may_modify(&other, None), Err(Denied::Forbidden));
        assert_eq!(may_modify(&anon, None), Err(Denied::Unauthenticated));
        assert_eq!(
            "capability".parse::<AnonymousAccess>(),
            Ok(AnonymousAccess::Capability)
        );
        assert_eq!("public".parse::<AnonymousAccess>(), Ok(Public));
        assert!("open".parse::<AnonymousAccess>().is_err());
    }

    #[test]
    fn list_rules() {
        let plain = user(false, &[]);
        assert_eq!(list_scope(&Caller::Anonymous), Err(Denied::Unauthenticated));
        assert_eq!(list_scope(&user(true, &[])), Ok(ListScope::All));
        assert_eq!(
            list_scope(&plain),
            Ok(ListScope::OwnedBy(plain.user_id().unwrap()))
        );
        assert_eq!(require_admin(&plain), Err(Denied::Forbidden));
        assert_eq!(require_user(&plain), Ok(plain.user_id().unwrap()));
        assert_eq!(
            require_user(&Caller::Anonymous),
            Err(Denied::Unauthenticated)
        );
        assert_eq!(
            require_admin(&Caller::Anonymous),
            Err(Denied::Unauthenticated)
        );
    }
}
