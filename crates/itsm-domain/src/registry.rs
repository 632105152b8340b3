//! The registry of record kinds: the one list of every kind there is. Registering a kind is one
//! line here; everything else about it is declared in its own module (see [`crate::kind`]). The
//! storage's per-kind number sequences, the API's routes per collection and every lookup by name,
//! prefix or collection come from this list.

use serde::{Deserialize, Deserializer};

use crate::kind::RecordKind;

static KINDS: &[RecordKind] = &[
    RecordKind::INCIDENT,
    RecordKind::SERVICE,
    RecordKind::SERVICE_OFFERING,
    RecordKind::CONFIGURATION_ITEM,
    RecordKind::CALENDAR,
    RecordKind::AGREEMENT,
];

impl RecordKind {
    /// Every registered kind.
    pub fn all() -> impl Iterator<Item = RecordKind> {
        KINDS.iter().copied()
    }

    /// The kind stored and sent under `name`, such as `incident`.
    pub fn parse(name: &str) -> Option<RecordKind> {
        Self::all().find(|k| k.as_str() == name)
    }

    /// The kind whose readable numbers start with `prefix`, such as `INC`.
    pub fn from_prefix(prefix: &str) -> Option<RecordKind> {
        Self::all().find(|k| k.prefix() == prefix)
    }

    /// The kind served under the collection `name`, such as `incidents`.
    pub fn from_collection(name: &str) -> Option<RecordKind> {
        Self::all().find(|k| k.collection() == name)
    }
}

impl<'de> Deserialize<'de> for RecordKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RecordKind::parse(&name).ok_or_else(|| {
            let names: Vec<&str> = RecordKind::all().map(RecordKind::as_str).collect();
            serde::de::Error::custom(format!(
                "unknown record kind `{name}`, expected one of {}",
                names.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_prefixes_and_collections_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for k in RecordKind::all() {
            for key in [k.as_str(), k.prefix(), k.collection()] {
                assert!(seen.insert((key, k.as_str())), "{key} twice");
            }
            assert_eq!(RecordKind::parse(k.as_str()), Some(k));
            assert_eq!(RecordKind::from_prefix(k.prefix()), Some(k));
            assert_eq!(RecordKind::from_collection(k.collection()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<RecordKind>(&json).unwrap(), k);
        }
        assert_eq!(
            RecordKind::all()
                .map(RecordKind::as_str)
                .collect::<HashSet<_>>()
                .len(),
            KINDS.len()
        );
        let err = serde_json::from_str::<RecordKind>("\"gadget\"").unwrap_err();
        assert!(err.to_string().contains("unknown record kind `gadget`"), "{err}");
    }

    #[test]
    fn every_lifecycle_is_well_formed() {
        for kind in RecordKind::all() {
            let lc = kind.lifecycle();
            assert!(lc.is_state(lc.initial), "{kind}: unknown initial state");
            assert!(
                lc.state(lc.initial).is_some_and(|s| s.is_open()),
                "{kind}: a record starts with its work open"
            );
            for t in lc.transitions {
                assert!(lc.is_state(t.from), "{kind}: unknown from-state {}", t.from);
                assert!(lc.is_state(t.to), "{kind}: unknown to-state {}", t.to);
                assert_ne!(t.from, t.to, "{kind}: self-transition");
            }
            for s in lc.states {
                assert_eq!(
                    s.is_final(),
                    lc.allowed_from(s.name).is_empty(),
                    "{kind}: {}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn what_a_move_requires_is_a_field_people_give_and_an_end_is_confirmed() {
        for kind in RecordKind::all() {
            let lc = kind.lifecycle();
            for t in lc.transitions {
                for name in t.requires {
                    let field = kind.field(name);
                    assert!(
                        field.is_some_and(|f| f.is_input()),
                        "{kind}: {} -> {} requires `{name}`, which is no field people give",
                        t.from,
                        t.to
                    );
                }
                let ends = lc.state(t.to).is_some_and(|s| s.is_final());
                assert_eq!(t.confirm, ends, "{kind}: {} -> {}", t.from, t.to);
            }
            let mut names = HashSet::new();
            for f in kind.fields() {
                assert!(names.insert(f.name), "{kind}: field {} twice", f.name);
            }
        }
    }

    #[test]
    fn customers_write_only_on_kinds_they_may_read() {
        for kind in RecordKind::all() {
            let c = kind.capabilities();
            // Customers contribute to records they raise; the provider's published records are
            // read-only to them, so no kind is both.
            assert!(!(c.customers_contribute && c.published_to_customers), "{kind}");
        }
    }

    #[test]
    fn a_cancellation_is_confirmed_and_says_why() {
        use crate::lifecycle::Phase;
        for kind in RecordKind::all() {
            let lc = kind.lifecycle();
            for t in lc.transitions {
                if lc.state(t.to).is_some_and(|s| s.phase == Phase::Cancelled) {
                    assert!(t.confirm, "{kind}: {} -> {} is not confirmed", t.from, t.to);
                    assert!(
                        !t.requires.is_empty(),
                        "{kind}: {} -> {} asks no reason",
                        t.from,
                        t.to
                    );
                }
            }
        }
    }

    #[test]
    fn searched_fields_hold_text() {
        use crate::field::FieldType;
        for kind in RecordKind::all() {
            for f in kind.fields().iter().filter(|f| f.searched) {
                assert!(
                    matches!(f.ty, FieldType::Text { .. } | FieldType::LongText { .. }),
                    "{kind}.{} is searched but holds no text",
                    f.name
                );
            }
        }
        let details = serde_json::json!({"category": "network", "resolution_notes": "Replaced the switch", "impact": "high"});
        let serde_json::Value::Object(details) = details else {
            unreachable!()
        };
        assert_eq!(
            RecordKind::INCIDENT.search_text(&details),
            "network\nReplaced the switch"
        );
    }

    #[test]
    fn moves_open_to_more_roles_are_declared_writes_customers_contribute_to() {
        use crate::kind::Writes;
        use crate::role::Role;
        for kind in RecordKind::all() {
            for t in kind
                .lifecycle()
                .transitions
                .iter()
                .filter(|t| !t.also_by.is_empty())
            {
                // Only the generic change reads `also_by`; a kind's own use cases do not.
                assert_eq!(kind.writes(), Writes::Declared, "{kind}: {} -> {}", t.from, t.to);
                if t.also_by.contains(&Role::Customer) {
                    assert!(kind.capabilities().customers_contribute, "{kind}");
                }
                assert!(
                    !t.also_by.contains(&Role::Auditor),
                    "{kind}: auditors never write"
                );
            }
        }
    }

    #[test]
    fn own_fields_refer_to_registered_kinds_and_do_not_shadow_shared_names() {
        // Storage writes kind names into SQL (partial indexes and lists' conditions on them).
        for kind in RecordKind::all() {
            assert!(
                kind.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{kind}"
            );
        }
        let shared = [
            "title",
            "name",
            "description",
            "state",
            "organization_id",
            "service_id",
            "configuration_item_id",
            "assignment_group_id",
            "assignee_id",
            "requester_id",
            "caller_id",
        ];
        for kind in RecordKind::all() {
            for f in kind.fields() {
                assert!(
                    !shared.contains(&f.name),
                    "{kind}: field {} is a shared name",
                    f.name
                );
                if let crate::field::FieldType::Reference {
                    kind: target,
                    same_service,
                } = f.ty
                {
                    assert!(
                        RecordKind::parse(target).is_some(),
                        "{kind}.{}: no kind {target}",
                        f.name
                    );
                    assert!(
                        !same_service || kind.shared().service.is_used(),
                        "{kind}.{}: within a service, but the kind has none",
                        f.name
                    );
                }
                assert!(
                    !f.required || f.is_input(),
                    "{kind}.{}: required but set by the system",
                    f.name
                );
            }
        }
    }
}
