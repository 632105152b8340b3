//! Who is asking: the identity every use case receives and checks.

use itsm_domain::access::{Permission, Scope};
use itsm_domain::{Actor, OrganizationId, RecordKind, UserId};

use crate::{AppError, Result};

/// The one asking: a signed-in user, or the system itself (the CLI, the demo loader, background
/// jobs), which may do everything and is recorded in the audit trail without a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User(Actor),
    System,
}

/// The caller of a use case.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub principal: Principal,
    /// The request id of the HTTP request or CLI run, written into the audit trail.
    pub request_id: Option<String>,
}

impl Ctx {
    pub fn user(actor: Actor) -> Ctx {
        Ctx {
            principal: Principal::User(actor),
            request_id: None,
        }
    }

    pub fn system() -> Ctx {
        Ctx {
            principal: Principal::System,
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, id: impl Into<String>) -> Ctx {
        self.request_id = Some(id.into());
        self
    }

    pub fn actor(&self) -> Option<&Actor> {
        match &self.principal {
            Principal::User(a) => Some(a),
            Principal::System => None,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.actor().map(|a| a.user_id)
    }

    pub fn is_staff(&self) -> bool {
        self.actor().is_none_or(|a| a.role.is_staff())
    }

    pub fn can(&self, p: Permission) -> bool {
        self.actor().is_none_or(|a| a.can(p))
    }

    /// Whether the caller may change records of `kind` or take a move its lifecycle opens to
    /// their role.
    pub fn may_write_on(&self, kind: RecordKind) -> bool {
        self.actor().is_none_or(|a| a.may_write_on(kind))
    }

    /// Whether the caller may take the move `t` of a record of `kind`.
    pub fn may_take(&self, kind: RecordKind, t: &itsm_domain::lifecycle::Transition) -> bool {
        self.actor().is_none_or(|a| a.may_take(kind, t))
    }

    /// Fails with 403 unless the caller holds `p`.
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.can(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn scope(&self) -> Scope {
        self.actor().map_or(Scope::All, Actor::scope)
    }

    pub fn can_see(&self, kind: RecordKind, owner: OrganizationId, provider: OrganizationId) -> bool {
        self.actor().is_none_or(|a| a.can_see(kind, owner, provider))
    }

    pub fn can_contribute(&self, kind: RecordKind, owner: OrganizationId) -> bool {
        self.actor().is_none_or(|a| a.can_contribute(kind, owner))
    }
}
