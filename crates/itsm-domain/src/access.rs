//! Who may do what. The application layer asks these questions on every use case; the UI only hides
//! what the answers forbid anyway.

use crate::ids::{OrganizationId, UserId};
use crate::kind::RecordKind;
use crate::lifecycle::Transition;
pub use crate::permission::Permission;
pub use crate::role::Role;

/// Someone acting: a signed-in user, or the system itself for background work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub organization_id: OrganizationId,
    pub role: Role,
}

/// Which organizations' records an actor may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Organization(OrganizationId),
}

impl Actor {
    pub fn scope(&self) -> Scope {
        if self.role.is_staff() {
            Scope::All
        } else {
            Scope::Organization(self.organization_id)
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        use Permission::*;
        match self.role {
            Role::Administrator => true,
            Role::Agent => !matches!(permission, ManageUsers | ManageServiceLevels),
            Role::Auditor => matches!(permission, ReadRecords | ReadInternalNotes | ReadDirectory),
            Role::Customer => matches!(permission, ReadRecords | CreateIncident | CommentPublic | Attach),
        }
    }

    /// Whether this actor may take the move `t` of a record of `kind`: anyone who may change
    /// records of the kind, and the roles the move names besides.
    pub fn may_take(&self, kind: RecordKind, t: &Transition) -> bool {
        self.can(kind.access().change) || t.also_by.contains(&self.role)
    }

    /// Whether this actor may change records of `kind`, or take at least one move of its
    /// lifecycle: what is settled before a change's body is read.
    pub fn may_write_on(&self, kind: RecordKind) -> bool {
        self.can(kind.access().change)
            || kind
                .lifecycle()
                .transitions
                .iter()
                .any(|t| t.also_by.contains(&self.role))
    }

    /// Whether this actor reads changes of `field` of a record of `kind` in its history. Staff
    /// read all; customers not the provider's own assignment (group and assignee), nor a
    /// reference to a record of a kind they may not see (a configuration item).
    pub fn reads_change_of(&self, kind: RecordKind, field: &str) -> bool {
        if self.role.is_staff() {
            return true;
        }
        let refers_to = match field {
            "assignment_group_id" | "assignee_id" => return false,
            "configuration_item_id" => Some(RecordKind::CONFIGURATION_ITEM),
            "service_id" => Some(RecordKind::SERVICE),
            other => match kind.field(other).map(|f| f.ty) {
                Some(crate::field::FieldType::Reference { kind: target, .. }) => {
                    Some(RecordKind::parse(target).unwrap_or(kind))
                }
                _ => None,
            },
        };
        refers_to.is_none_or(|k| k.published_to_customers())
    }

    /// Whether this actor may see a record of `kind` owned by `owner`. Customers see their own
    /// organization's records and the provider's published ones (the services they consume).
    pub fn can_see(&self, kind: RecordKind, owner: OrganizationId, provider: OrganizationId) -> bool {
        match self.scope() {
            Scope::All => true,
            Scope::Organization(org) => owner == org || (owner == provider && kind.published_to_customers()),
        }
    }

    /// Whether this actor may add to a record of `kind` owned by `owner`: comment on it, attach a
    /// file to it, link it. Staff may on every record (each use case still asks for its own
    /// permission); customers only on their own organization's records of a kind they contribute
    /// to. What the provider publishes to customers, they read and never write on.
    pub fn can_contribute(&self, kind: RecordKind, owner: OrganizationId) -> bool {
        match self.scope() {
            Scope::All => true,
            Scope::Organization(org) => owner == org && kind.customers_contribute(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, org: i64) -> Actor {
        Actor {
            user_id: UserId(1),
            organization_id: OrganizationId(org),
            role,
        }
    }

    #[test]
    fn customers_see_only_their_own_records_and_published_services() {
        let provider = OrganizationId(1);
        let c = actor(Role::Customer, 2);
        assert!(c.can_see(RecordKind::INCIDENT, OrganizationId(2), provider));
        assert!(!c.can_see(RecordKind::INCIDENT, OrganizationId(3), provider));
        assert!(!c.can_see(RecordKind::INCIDENT, provider, provider));
        assert!(c.can_see(RecordKind::SERVICE, provider, provider));
        assert!(!c.can_see(RecordKind::CONFIGURATION_ITEM, provider, provider));
        assert!(actor(Role::Agent, 1).can_see(RecordKind::INCIDENT, OrganizationId(3), provider));
    }

    #[test]
    fn customers_read_no_internal_assignment_and_no_hidden_records_in_a_history() {
        let c = actor(Role::Customer, 2);
        for hidden in ["assignment_group_id", "assignee_id", "configuration_item_id"] {
            assert!(!c.reads_change_of(RecordKind::INCIDENT, hidden), "{hidden}");
            assert!(actor(Role::Auditor, 1).reads_change_of(RecordKind::INCIDENT, hidden));
        }
        for shown in ["title", "state", "service_id", "service_offering_id", "category"] {
            assert!(c.reads_change_of(RecordKind::INCIDENT, shown), "{shown}");
        }
    }

    #[test]
    fn customers_write_only_on_their_own_records_they_raise() {
        let provider = OrganizationId(1);
        let c = actor(Role::Customer, 2);
        assert!(c.can_contribute(RecordKind::INCIDENT, OrganizationId(2)));
        assert!(!c.can_contribute(RecordKind::INCIDENT, OrganizationId(3)));
        for kind in [
            RecordKind::SERVICE,
            RecordKind::SERVICE_OFFERING,
            RecordKind::CALENDAR,
        ] {
            assert!(c.can_see(kind, provider, provider));
            assert!(
                !c.can_contribute(kind, provider),
                "{kind:?} is read-only to customers"
            );
        }
        // An agreement with the customer is theirs to read, the provider's to keep.
        assert!(c.can_see(RecordKind::AGREEMENT, OrganizationId(2), provider));
        assert!(!c.can_contribute(RecordKind::AGREEMENT, OrganizationId(2)));
        assert!(actor(Role::Agent, 1).can_contribute(RecordKind::SERVICE, provider));
    }

    #[test]
    fn auditors_read_but_never_write_and_customers_never_see_internal_notes() {
        let a = actor(Role::Auditor, 1);
        assert!(a.can(Permission::ReadRecords) && a.can(Permission::ReadInternalNotes));
        for p in [
            Permission::WorkIncidents,
            Permission::CreateIncident,
            Permission::CommentPublic,
        ] {
            assert!(!a.can(p));
        }
        let c = actor(Role::Customer, 2);
        assert!(!c.can(Permission::ReadInternalNotes) && !c.can(Permission::CommentInternal));
        assert!(!c.can(Permission::WorkIncidents));
        assert!(!actor(Role::Agent, 1).can(Permission::ManageUsers));
    }
}
