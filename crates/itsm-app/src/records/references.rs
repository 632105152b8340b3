//! The reference check every kind shares. The domain says what a record refers to
//! ([`draft::references`]: its organization, requester, group and assignee, and each record it
//! names with the kind that record must be); storage looks it up in one round trip; the verdict
//! here is the same for every kind: each reference exists, is of its kind, fits together (the
//! assignee in the group, the requester in the organization, an offering of the record's
//! service).

use itsm_domain::draft::{self, References};
use itsm_domain::{RecordFields, RecordKind, ValidationError};
use itsm_storage::records::RecordNames;
use itsm_storage::references::{Found, Lookup};

use crate::Result;

/// A record's references to check, with what to look up for them.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    pub references: References,
    pub lookup: Lookup,
}

/// What of `f` to check: what is new compared with `before` (`None` for a new record, which also
/// asks for the names its view shows). `None` when there is nothing to check.
pub(crate) fn wanted(kind: RecordKind, f: &RecordFields, before: Option<&RecordFields>) -> Option<Wanted> {
    let references = draft::references(kind, f, before);
    if references.is_empty() {
        return None;
    }
    let lookup = Lookup {
        organization: references.organization,
        requester: references.requester.map(|(_, u)| u),
        group: references.group,
        member: references.member,
        assignee: f.assignee_id.filter(|_| before.is_none()),
        records: references.records.iter().map(|r| r.id).collect(),
    };
    Some(Wanted { references, lookup })
}

/// What is wrong with the references of `f`, from what was found for `wanted`.
pub(crate) fn judge(f: &RecordFields, wanted: &Wanted, found: &Found) -> ValidationError {
    let r = &wanted.references;
    let mut errors = ValidationError::new();
    if let Some(org) = r.organization {
        if found
            .organization
            .as_ref()
            .is_none_or(|(kind, _)| kind == "supplier")
        {
            errors.add("organization_id", format!("no customer organization {org}"));
        }
    }
    for reference in &r.records {
        let label = RecordKind::parse(reference.kind).map_or(reference.kind, |k| k.label());
        match found.record(&wanted.lookup, reference.id) {
            Some(x) if x.kind == reference.kind => {
                if reference
                    .service
                    .is_some_and(|s| s.is_none() || x.service_id != s)
                {
                    errors.add(
                        reference.field,
                        format!(
                            "{} {} belongs to another service",
                            label.to_lowercase(),
                            reference.id
                        ),
                    );
                }
            }
            _ => errors.add(
                reference.field,
                format!("no {} {}", label.to_lowercase(), reference.id),
            ),
        }
    }
    if let Some((field, id)) = r.requester {
        match &found.requester {
            Some((o, _)) if Some(*o) == f.organization_id => {}
            Some(_) => errors.add(field, "belongs to another organization"),
            None => errors.add(field, format!("no user {id}")),
        }
    }
    if let Some(g) = r.group {
        if found.group.is_none() {
            errors.add("assignment_group_id", format!("no assignment group {g}"));
        }
    }
    if r.member.is_some() && !found.is_member {
        errors.add(
            "assignee_id",
            "the assignee is not a member of the assignment group",
        );
    }
    errors
}

/// The verdict on a new record's references: the names its view shows (`None` when one was not
/// read), or what is wrong. The group-commit writer calls it with what it read for the group.
pub(crate) fn verdict(f: &RecordFields, wanted: &Wanted, found: &Found) -> Result<Option<RecordNames>> {
    judge(f, wanted, found).into_result()?;
    Ok(names(f, wanted, found))
}

/// The names a view of a new record with fields `f` shows, from what its check read; `None` when
/// one was not read.
fn names(f: &RecordFields, wanted: &Wanted, found: &Found) -> Option<RecordNames> {
    // The name of each reference the record has; a reference it does not have has none.
    fn named<T>(reference: Option<T>, name: Option<String>) -> Option<Option<String>> {
        match reference {
            Some(_) => name.map(Some),
            None => Some(None),
        }
    }
    let title = |id: Option<itsm_domain::RecordId>| {
        id.and_then(|id| found.record(&wanted.lookup, id))
            .map(|r| r.title.clone())
    };
    Some(RecordNames {
        organization: found.organization.as_ref()?.1.clone(),
        assignment_group: named(f.assignment_group_id, found.group.clone())?,
        assignee: named(f.assignee_id, found.assignee.clone())?,
        service: named(f.service_id, title(f.service_id))?,
        configuration_item: named(f.configuration_item_id, title(f.configuration_item_id))?,
        requester: named(f.requester_id, found.requester.as_ref().map(|(_, n)| n.clone()))?,
    })
}
