//! What a record about to be written refers to, looked up in one round trip: its organization,
//! the people and group it names, and the records it names by id (whatever their kind, with the
//! service each belongs to). Nothing here knows which kind refers to what: the application layer
//! says what to look up and judges what was found.

use itsm_domain::{GroupId, OrganizationId, RecordId, UserId};
use sqlx::{AnyConnection, Row};

use crate::Result;

/// What to look up for one record. Leave out what need not be checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub organization: Option<OrganizationId>,
    pub requester: Option<UserId>,
    pub group: Option<GroupId>,
    /// A group and a user who must be its member.
    pub member: Option<(GroupId, UserId)>,
    /// A user whose name is wanted (the assignee, for the answer's view).
    pub assignee: Option<UserId>,
    /// Records named by id.
    pub records: Vec<RecordId>,
}

/// What the database holds for a [`Lookup`]: each `None` where the row is missing (or was not
/// asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The organization's kind (`provider`, `customer`, `supplier`) and name.
    pub organization: Option<(String, String)>,
    /// The requester's organization and name.
    pub requester: Option<(OrganizationId, String)>,
    /// The group's name.
    pub group: Option<String>,
    pub is_member: bool,
    pub assignee: Option<String>,
    /// For each of [`Lookup::records`], in its order.
    pub records: Vec<Option<FoundRecord>>,
}

/// A record named by id, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRecord {
    pub kind: String,
    /// The service it belongs to (an offering's service).
    pub service_id: Option<RecordId>,
    pub title: String,
}

impl Found {
    /// The record found for `id`, if it was looked up and exists.
    pub fn record(&self, lookup: &Lookup, id: RecordId) -> Option<&FoundRecord> {
        lookup
            .records
            .iter()
            .position(|r| *r == id)
            .and_then(|i| self.records.get(i))
            .and_then(Option::as_ref)
    }
}

/// Looks up everything a record refers to in one round trip.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn look_up(c: &mut AnyConnection, lookup: &Lookup) -> Result<Found> {
    let mut found = look_up_many(c, std::slice::from_ref(lookup)).await?;
    Ok(found.pop().unwrap_or_default())
}

/// The subqueries of a row, with a `{}` for each id, and what a column holds when not asked.
const ORGANIZATION: &str = "SELECT kind || ' ' || name FROM organizations WHERE id = {}";
const REQUESTER: &str =
    "SELECT CAST(organization_id AS TEXT) || ' ' || display_name FROM users WHERE id = {}";
const GROUP: &str = "SELECT name FROM assignment_groups WHERE id = {}";
const MEMBER: &str = "SELECT COUNT(*) FROM group_members WHERE group_id = {} AND user_id = {}";
const ASSIGNEE: &str = "SELECT display_name FROM users WHERE id = {}";
const RECORD: &str =
    "SELECT kind || ' ' || CAST(COALESCE(service_id, 0) AS TEXT) || ' ' || title FROM records WHERE id = {}";

/// [`look_up`] for several records in one round trip, in their order: one row each, joined with
/// `UNION ALL`. Each row a lookup names is read once, its key facts and its name joined by spaces
/// (a kind or an id, neither of which holds one). Only what is asked for is in the statement's
/// text: PostgreSQL plans and runs every subquery it is given, even one whose parameter is NULL
/// (one more such subquery cost creations a fifth). The group-commit writer checks a whole group
/// this way.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn look_up_many(c: &mut AnyConnection, many: &[Lookup]) -> Result<Vec<Found>> {
    if many.is_empty() {
        return Ok(Vec::new());
    }
    // Every row of a UNION has as many columns: as many record columns as the longest lookup.
    let width = many.iter().map(|l| l.records.len()).max().unwrap_or(0);
    let mut params = crate::records::Params::new(c);
    let mut binds: Vec<i64> = Vec::new();
    let mut selects = Vec::with_capacity(many.len());
    for (i, l) in many.iter().enumerate() {
        let one = |id: Option<i64>| id.map(|i| vec![i]);
        let mut wanted: Vec<(Option<Vec<i64>>, &str, &str)> = vec![
            (one(l.organization.map(|o| o.0)), ORGANIZATION, "NULL"),
            (one(l.requester.map(|u| u.0)), REQUESTER, "NULL"),
            (one(l.group.map(|g| g.0)), GROUP, "NULL"),
            (l.member.map(|(g, u)| vec![g.0, u.0]), MEMBER, "0"),
            (one(l.assignee.map(|u| u.0)), ASSIGNEE, "NULL"),
        ];
        for n in 0..width {
            wanted.push((one(l.records.get(n).map(|r| r.0)), RECORD, "NULL"));
        }
        let mut columns = vec![format!("CAST({i} AS BIGINT)")];
        for (ids, sql, otherwise) in wanted {
            let Some(ids) = ids else {
                columns.push(otherwise.to_owned());
                continue;
            };
            let mut parts = sql.split("{}");
            let mut text = format!("({}", parts.next().unwrap_or_default());
            for part in parts {
                text.push_str(&params.next());
                text.push_str(part);
            }
            text.push(')');
            columns.push(text);
            binds.extend(ids);
        }
        selects.push(format!("SELECT {}", columns.join(", ")));
    }
    let sql = selects.join(" UNION ALL ");
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(&mut *c).await?;
    let mut out = vec![Found::default(); many.len()];
    for row in &rows {
        let i: i64 = row.try_get(0)?;
        let Some(i) = usize::try_from(i).ok() else {
            continue;
        };
        if let (Some(slot), Some(lookup)) = (out.get_mut(i), many.get(i)) {
            *slot = found_from(row, lookup.records.len())?;
        }
    }
    Ok(out)
}

/// One row of [`look_up_many`] (its first column is the lookup's place).
fn found_from(row: &sqlx::any::AnyRow, records: usize) -> Result<Found> {
    let text = |i: usize| -> Result<Option<String>> { Ok(row.try_get(i)?) };
    // "fact name": the fact before the first space, the name after it.
    let split = |t: Option<String>| -> Option<(String, String)> {
        t.as_deref()
            .and_then(|t| t.split_once(' '))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    };
    let requester = split(text(2)?).and_then(|(o, name)| Some((OrganizationId(o.parse().ok()?), name)));
    let mut found = Found {
        organization: split(text(1)?),
        requester,
        group: text(3)?,
        is_member: row.try_get::<i64, _>(4)? > 0,
        assignee: text(5)?,
        records: Vec::with_capacity(records),
    };
    for n in 0..records {
        let record = split(text(6 + n)?).and_then(|(kind, rest)| {
            let (service, title) = rest.split_once(' ')?;
            let service: i64 = service.parse().ok()?;
            Some(FoundRecord {
                kind,
                service_id: (service != 0).then_some(RecordId(service)),
                title: title.to_owned(),
            })
        });
        found.records.push(record);
    }
    Ok(found)
}
