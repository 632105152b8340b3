//! Lists of records: filters, sort orders, keyset pages, the walks that bound them, and text
//! search.

use std::fmt::Write as _;

use std::borrow::Cow;

use itsm_domain::field::FieldSpec;
use itsm_domain::{GroupId, OrganizationId, RecordId, RecordKind, UserId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::fields;
use super::params::planned_per_call;
use super::view::{view_from_row, RecordView, SELECT_VIEW};
use crate::backend::{backend_of, Backend};
use crate::batch::{bind_all, Bind};
use crate::{micros, Result};

/// What a list is sorted by. Each is an indexed column or expression, so every page is an index
/// range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    UpdatedAt,
    CreatedAt,
    Priority,
    Number,
    /// The SLA due instant of the queue clock; records without one come last.
    Due,
    /// One of the kind's own fields declared indexed whose values have an order (see
    /// `fields.rs`); records without a value come first.
    Field(&'static FieldSpec),
}

/// Stands for "no due instant" so that keyset pages over the due column need no NULL handling.
const NO_DUE: i64 = i64::MAX;

impl SortField {
    pub const ALL: [SortField; 5] = [
        SortField::UpdatedAt,
        SortField::CreatedAt,
        SortField::Priority,
        SortField::Number,
        SortField::Due,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::UpdatedAt => "updated_at",
            SortField::CreatedAt => "created_at",
            SortField::Priority => "priority",
            SortField::Number => "number",
            SortField::Due => "due",
            SortField::Field(f) => f.name,
        }
    }

    /// One of the orders every kind has.
    pub fn parse(s: &str) -> Option<SortField> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// One of the orders every kind has, or one of `kind`'s own fields that lists sort by.
    pub fn parse_for(kind: RecordKind, s: &str) -> Option<SortField> {
        Self::parse(s).or_else(|| kind.field(s).filter(|f| f.sortable()).map(SortField::Field))
    }

    fn column(self, backend: Backend) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            SortField::UpdatedAt => "r.updated_at",
            SortField::CreatedAt => "r.created_at",
            SortField::Priority => "r.priority",
            SortField::Number => "r.number",
            // The same expression as the index records_kind_sla_due.
            SortField::Due => "COALESCE(r.sla_due_at, 9223372036854775807)",
            // The same expression as the field's index.
            SortField::Field(f) => return Cow::Owned(fields::expression(backend, "r.", f)),
        })
    }

    /// The columns `c` with an index on (kind, c, this sort's column, id): a list asking for one
    /// value of `c` walks only its own rows, in order. Kept in step with the migrations.
    fn walk_indexes(self) -> &'static [&'static str] {
        match self {
            SortField::UpdatedAt => &[
                "state",
                "assignment_group_id",
                "assignee_id",
                "organization_id",
                "service_id",
                "requester_id",
            ],
            SortField::Priority => &["assignment_group_id", "assignee_id"],
            SortField::CreatedAt | SortField::Number | SortField::Due | SortField::Field(_) => &[],
        }
    }

    /// Whether a filter on an indexed field of the kind has an index in this order: each field's
    /// index holds (kind, field, updated_at, id).
    fn walks_fields(self) -> bool {
        self == SortField::UpdatedAt
    }

    fn value(self, v: &RecordView) -> i64 {
        let r = &v.record;
        match self {
            SortField::UpdatedAt => micros(r.updated_at),
            SortField::CreatedAt => micros(r.created_at),
            SortField::Priority => r.priority.map(i64::from).unwrap_or(0),
            SortField::Number => r.number,
            SortField::Due => v.sla.due_at.map(micros).unwrap_or(NO_DUE),
            SortField::Field(f) => fields::sort_value(f, &r.details),
        }
    }
}

/// A position in a sorted list: the sort value and id of the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub value: i64,
    pub id: i64,
}

impl Cursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.value, self.id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (v, id) = s.split_once('.')?;
        Some(Cursor {
            value: v.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// Filters of a record list. Every filter is optional; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Only records of these organizations; `None` for staff, who see all.
    pub visible_organizations: Option<Vec<OrganizationId>>,
    pub states: Vec<String>,
    pub priority: Option<i16>,
    pub organization_id: Option<OrganizationId>,
    /// `Some(None)` asks for records without a group.
    pub assignment_group_id: Option<Option<GroupId>>,
    /// `Some(None)` asks for unassigned records.
    pub assignee_id: Option<Option<UserId>>,
    pub service_id: Option<RecordId>,
    pub requester_id: Option<UserId>,
    /// The kind's own indexed fields, each with the value it must hold (as stored).
    pub fields: Vec<(&'static FieldSpec, serde_json::Value)>,
    /// Words that must all occur in the title or description (prefix match).
    pub text: Option<String>,
}

/// A page request: sort order, where to start and how many rows.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub sort: SortField,
    pub descending: bool,
    pub after: Option<Cursor>,
    pub limit: u32,
}

/// The largest page anyone can ask for: no query is unbounded.
pub const MAX_PAGE: u32 = 200;

/// One page of a list, and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Splits search text into words safe for either full-text engine: letters and digits only.
pub fn search_terms(text: &str) -> Vec<String> {
    text.split(|ch: char| !ch.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect()
}

/// One condition of a list, with its own values, so that each query of a list can take the
/// conditions it needs and number their placeholders itself.
#[derive(Debug, Clone)]
struct Cond {
    /// SQL with a `?` for each value, in order.
    sql: String,
    binds: Vec<Bind>,
    /// Set when the condition asks for one value of this column, so an index that starts with the
    /// column can serve it in order (see `SortField::walk_indexes`).
    column: Option<&'static str>,
    /// Set when the condition asks for one value of a kind's indexed field: the same condition
    /// written so that no index answers it (see `Cond::unindexed`).
    field: Option<String>,
}

impl Cond {
    fn new(sql: String, binds: Vec<Bind>) -> Cond {
        Cond {
            sql,
            binds,
            column: None,
            field: None,
        }
    }

    /// `field = value`, over the field's expression, which its indexes are on.
    fn field_equals(backend: Backend, f: &FieldSpec, b: Bind) -> Cond {
        let expr = fields::expression(backend, "r.", f);
        let unindexed = match backend {
            Backend::Sqlite => format!("+{expr} = ?"),
            Backend::Postgres => format!("COALESCE({expr}, {expr}) = ?"),
        };
        Cond {
            sql: format!("{expr} = ?"),
            binds: vec![b],
            column: None,
            field: Some(unindexed),
        }
    }

    /// `column = value` (or `column IS NULL` without a value).
    fn equals(column: &'static str, b: Option<Bind>) -> Cond {
        match b {
            Some(b) => Cond {
                sql: format!("r.{column} = ?"),
                binds: vec![b],
                column: Some(column),
                field: None,
            },
            // PostgreSQL cannot read an order from an index past an `IS NULL` condition.
            None => Cond {
                sql: format!("r.{column} IS NULL"),
                binds: vec![],
                column: None,
                field: None,
            },
        }
    }

    /// `column IN (values)`; with one value, `column = value`.
    fn one_of(column: &'static str, mut values: Vec<Bind>) -> Cond {
        if values.len() == 1 {
            return Cond::equals(column, values.pop());
        }
        Cond {
            sql: format!("r.{column} IN ({})", vec!["?"; values.len()].join(", ")),
            binds: values,
            column: None,
            field: None,
        }
    }

    /// `(sort column, id) cmp position`: where a keyset page starts or ends.
    fn keyset(col: &str, cmp: &str, at: Cursor) -> Cond {
        Cond::new(
            format!("({col}, r.id) {cmp} (?, ?)"),
            vec![Bind::Int(Some(at.value)), Bind::Int(Some(at.id))],
        )
    }

    /// The same condition, which the database will not answer from an index: `+r.column` on
    /// SQLite, `COALESCE(r.column, r.column)` on PostgreSQL (an expression no index is on).
    fn unindexed(&self, backend: Backend) -> Cond {
        let mut cond = self.clone();
        if let Some(unindexed) = &self.field {
            cond.sql = unindexed.clone();
        } else if let Some(rest) = self.sql.strip_prefix("r.") {
            let (column, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            cond.sql = match backend {
                Backend::Sqlite => format!("+r.{column} {tail}"),
                Backend::Postgres => format!("COALESCE(r.{column}, r.{column}) {tail}"),
            };
        }
        cond
    }
}

/// `AND`s the conditions onto `sql`, numbering their placeholders after those already in `binds`.
fn push_all<'a>(sql: &mut String, binds: &mut Vec<Bind>, conds: impl IntoIterator<Item = &'a Cond>) {
    for cond in conds {
        sql.push_str(" AND ");
        let mut parts = cond.sql.split('?');
        if let Some(first) = parts.next() {
            sql.push_str(first);
        }
        for (part, b) in parts.zip(&cond.binds) {
            binds.push(b.clone());
            let _ = write!(sql, "${}{part}", binds.len());
        }
    }
}

/// How many rows a list may read in its order along one index, in two steps, before it answers a
/// short page (see `walked_page`). Most lists fill their page within the first step.
const LIST_WALKS: [u32; 2] = [1_000, 4_000];

/// How a list that no index serves whole walks the records.
struct Walk<'a> {
    backend: Backend,
    /// The condition on the kind, with its name written out (see `kind_condition`).
    kind: &'a str,
    sort: SortField,
    descending: bool,
    /// The condition whose index the walk follows, if any; else the sort's own index.
    along: Option<&'a Cond>,
    /// The list's conditions, `along` among them; not the cursor.
    conds: &'a [Cond],
    after: Option<Cursor>,
    limit: u32,
}

/// The position between the due sort's two stretches: after the last record with a due instant in
/// ascending order, after the last without one in descending order. The plain keyset comparison
/// reads it the same way, so it is a valid cursor for any page of a list by due instant.
const DUE_STRETCH_START: Cursor = Cursor {
    value: NO_DUE,
    id: i64::MIN,
};

impl Walk<'_> {
    /// The conditions that keep the rows after `from` (exclusive) up to `until` (inclusive),
    /// written as a range of the walked index.
    ///
    /// By due instant the sort key is an expression, and neither database reads a range of
    /// (expression, id) from its index: a row-value bound was checked row by row to the end of the
    /// index (184 ms on SQLite). So that order is walked in two stretches, the records with a due
    /// instant and those without one (which all share the key `NO_DUE`, in id order), and a step
    /// never crosses from one to the other. In the first, a bound is a range of the expression
    /// (the id is checked only among equal keys); in the second, a range of the id.
    fn range(&self, from: Option<Cursor>, until: Option<Cursor>) -> Vec<Cond> {
        let col = self.sort.column(self.backend);
        let (cmp, cmp_end) = if self.descending { ("<", ">=") } else { (">", "<=") };
        if self.sort != SortField::Due {
            return from
                .map(|f| Cond::keyset(&col, cmp, f))
                .into_iter()
                .chain(until.map(|u| Cond::keyset(&col, cmp_end, u)))
                .collect();
        }
        let int = |v: i64| Bind::Int(Some(v));
        // `key >= v AND (key > v OR id > i)`: the first part is the index range.
        let due_bound = |at: Cursor, strict: &str, id_cmp: &str| {
            Cond::new(
                format!("{col} {strict}= ? AND ({col} {strict} ? OR r.id {id_cmp} ?)"),
                vec![int(at.value), int(at.value), int(at.id)],
            )
        };
        let mut conds = Vec::new();
        if self.in_due_stretch(from) {
            conds.push(Cond::new(format!("{col} < ?"), vec![int(NO_DUE)]));
            if let Some(f) = from.filter(|f| f.value != NO_DUE) {
                conds.push(due_bound(f, cmp, cmp));
            }
            if let Some(u) = until {
                conds.push(due_bound(u, &cmp_end[..1], cmp_end));
            }
        } else {
            conds.push(Cond::new(format!("{col} = ?"), vec![int(NO_DUE)]));
            if let Some(f) = from.filter(|f| f != &DUE_STRETCH_START) {
                conds.push(Cond::new(format!("r.id {cmp} ?"), vec![int(f.id)]));
            }
            if let Some(u) = until {
                conds.push(Cond::new(format!("r.id {cmp_end} ?"), vec![int(u.id)]));
            }
        }
        conds
    }

    /// The order of the rows after `from`. Among the records without a due instant it is the id's
    /// alone: with the key in it, SQLite sorted the whole stretch rather than read it in the
    /// index's order (330 ms for a page at 1,000,000 incidents).
    fn order(&self, from: Option<Cursor>) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        if self.sort == SortField::Due && !self.in_due_stretch(from) {
            format!(" ORDER BY r.id {dir}")
        } else {
            format!(" ORDER BY {} {dir}, r.id {dir}", self.sort.column(self.backend))
        }
    }

    /// Whether the rows after `from` start among the records with a due instant.
    fn in_due_stretch(&self, from: Option<Cursor>) -> bool {
        match from {
            None => !self.descending,
            Some(f) if f == DUE_STRETCH_START => self.descending,
            Some(f) => f.value != NO_DUE,
        }
    }

    /// Where the walk goes on once the rows after `from` ran out: the due sort's second stretch,
    /// if `from` was in the first; else nowhere.
    fn next_stretch(&self, from: Option<Cursor>) -> Option<Cursor> {
        let in_first = self.in_due_stretch(from) != self.descending;
        (self.sort == SortField::Due && in_first).then_some(DUE_STRETCH_START)
    }
}

/// One page of a list that no index serves whole, reading at most the sum of `LIST_WALKS` rows.
/// Two conditions that each hold for many records but rarely together otherwise walked every
/// record of one of them: new incidents of one group, at 1,000,000 incidents, took 413 ms on
/// SQLite.
///
/// Each step first reads from the index the position that many rows on along the most selective
/// condition an index serves in this order (or along the sort alone); the page's query is then
/// bounded to end there, and the next step goes on after it. A page that fills is answered as
/// usual, and so is one whose walk reached the last record. One that comes up short after the
/// last step answers what it found with a cursor at that position, and the next page goes on from
/// there: a page may hold fewer rows than asked for, or none, and still have a next one.
async fn walked_page(c: &mut AnyConnection, walk: &Walk<'_>) -> Result<(Vec<AnyRow>, Option<Cursor>)> {
    let col = walk.sort.column(walk.backend);
    // The page query must walk the index the bounds are read from: left to choose, both
    // databases at times walked the state's index instead, through every new incident in the
    // bound's time span (the 16,000 the benchmark had just created), to check the group of each
    // (95 ms on PostgreSQL, whose statistics did not know them yet). So the other conditions are
    // written so that no index can answer them. Along the sort's own index PostgreSQL's own
    // choice was the better one: forced along it, checking each row in the table, an unassigned
    // queue took 95 ms instead of 2. SQLite still reads `+r.c` from the walked index when the
    // index holds `c` (migration `sqlite/0008`), and looks up in the table only the rows that pass.
    let backend = backend_of(c);
    let checked: Vec<Cond> = walk
        .conds
        .iter()
        .map(|cond| match (walk.along, backend) {
            (Some(along), _) if std::ptr::eq(cond, along) => cond.clone(),
            (None, Backend::Postgres) => cond.clone(),
            _ => cond.unindexed(backend),
        })
        .collect();
    let mut rows = Vec::new();
    let mut from = walk.after;
    for steps in LIST_WALKS {
        let order = &walk.order(from);
        let mut binds = Vec::new();
        let mut sql = format!("SELECT {col}, r.id FROM records r WHERE {}", walk.kind);
        push_all(
            &mut sql,
            &mut binds,
            walk.along.into_iter().chain(&walk.range(from, None)),
        );
        let end_sql = format!("{sql}{order} LIMIT 1 OFFSET {}", steps - 1);
        let end = match planned_per_call(c, bind_all(sqlx::query(&end_sql), &binds))
            .fetch_optional(&mut *c)
            .await?
        {
            Some(row) => Some(Cursor {
                value: row.try_get::<Option<i64>, _>(0)?.unwrap_or(0),
                id: row.try_get(1)?,
            }),
            None => None,
        };
        let wanted = walk.limit as usize + 1 - rows.len();
        let mut binds = Vec::new();
        let page_sql = match (backend, walk.along) {
            (Backend::Sqlite, _) => {
                let mut sql = format!("SELECT r.* FROM records r WHERE {}", walk.kind);
                push_all(&mut sql, &mut binds, checked.iter().chain(&walk.range(from, end)));
                format!("{sql}{order} LIMIT {wanted}")
            }
            // The step's rows by count rather than up to `end`: PostgreSQL stops a scan at a
            // row-value bound only when its first column passes it, so a step along a group's
            // index by priority read on through every row of the bound's priority (4.8 ms
            // instead of 0.3 for 1,000 rows). The ids come from the walked index alone
            // (migration `postgres/0007`); only the page's rows are read from the table.
            (Backend::Postgres, Some(along)) => {
                let mut sql = format!("SELECT r.* FROM records r WHERE {}", walk.kind);
                push_all(
                    &mut sql,
                    &mut binds,
                    std::iter::once(along).chain(&walk.range(from, None)),
                );
                let mut kept = String::from(" WHERE TRUE");
                push_all(&mut kept, &mut binds, &checked);
                format!(
                    "SELECT * FROM records WHERE id IN (SELECT r.id FROM ({sql}{order} LIMIT {steps}) r{kept}{order} LIMIT {wanted})"
                )
            }
            (Backend::Postgres, None) => {
                let mut sql = format!(" FROM records r WHERE {}", walk.kind);
                push_all(&mut sql, &mut binds, checked.iter().chain(&walk.range(from, end)));
                format!("SELECT * FROM records WHERE id IN (SELECT r.id{sql}{order} LIMIT {wanted})")
            }
        };
        rows.extend(
            planned_per_call(c, bind_all(sqlx::query(&with_names(&page_sql, order)), &binds))
                .fetch_all(&mut *c)
                .await?,
        );
        if rows.len() > walk.limit as usize {
            return Ok((rows, None));
        }
        match end.or_else(|| walk.next_stretch(from)) {
            Some(next) => from = Some(next),
            None => return Ok((rows, None)),
        }
    }
    Ok((rows, from))
}

/// From this many matches on, an SQLite text search walks the sort index instead of reading every
/// match (see `list`).
const COMMON_TERM_MATCHES: i64 = 2_000;

/// A list page's records (`page_sql` answers them) with the names they show, in list order.
fn with_names(page_sql: &str, order: &str) -> String {
    format!(
        "{}{order}",
        SELECT_VIEW.replacen("FROM records r", &format!("FROM ({page_sql}) r"), 1)
    )
}

/// How many rows of a list a PostgreSQL text search reads in list order looking for a full page.
const SEARCH_WALK: u32 = 20_000;

/// Up to this many matches, a PostgreSQL text search reads every match and sorts them.
const SEARCH_GATHER: i64 = 10_000;

/// An SQLite text search's condition on `id` (`r.id`, or `+r.id` to keep the planner off it): the
/// records the index matches with the query `q`, and those not indexed yet (see
/// `index_pending_search`) whose title, description or searched text holds every term. Those are matched as text
/// as stored, for the second or so until they are indexed: a term inside a word matches, a stemmed
/// form does not. (`CROSS JOIN` makes SQLite read the few pending records first: left to choose,
/// it read every record and looked each up among the pending ones.)
fn sqlite_text_condition(id: &str, q: String, terms: &[String]) -> Cond {
    let mut binds = vec![Bind::Text(Some(q))];
    let mut pending = Vec::with_capacity(terms.len());
    for t in terms {
        // `search_terms` keeps letters and digits only, so a term holds no `%` or `_`.
        binds.push(Bind::Text(Some(format!("%{t}%"))));
        pending.push("(x.title || ' ' || x.description || ' ' || x.search_text) LIKE ?");
    }
    Cond::new(
        format!(
            "{id} IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ? UNION ALL \
             SELECT p.record_id FROM records_fts_pending p CROSS JOIN records x ON x.id = p.record_id WHERE {})",
            pending.join(" AND ")
        ),
        binds,
    )
}

/// One page of a PostgreSQL text search (`sql`: the list's conditions; the tsquery `q` is also the
/// last of `binds`). PostgreSQL's estimate of how many records a prefix query matches was wrong both ways
/// at 1,000,000 incidents: it read and sorted all 44,000 matches of two common words (280 ms)
/// and walked the whole list looking for a rare one (2.8 s). So: first walk the list in order
/// through a bounded window, keeping matches (a common term fills its page there); failing that,
/// count the matches up to a bound and, when few, read them all through the text index and sort;
/// only a term with many matches that the other conditions mostly exclude walks the whole list.
async fn search_page(
    c: &mut AnyConnection,
    sql: &str,
    order: &str,
    binds: &[Bind],
    q: &str,
    limit: u32,
) -> Result<Vec<AnyRow>> {
    let n = binds.len();
    let matches = format!("COALESCE(r.search @@ to_tsquery('english', ${n}), false)");
    let walked = format!(
        "SELECT r.* FROM ({sql}{order} LIMIT {SEARCH_WALK}) r WHERE {matches}{order} LIMIT {}",
        limit + 1
    );
    let rows = planned_per_call(c, bind_all(sqlx::query(&with_names(&walked, order)), binds))
        .fetch_all(&mut *c)
        .await?;
    if rows.len() > limit as usize {
        return Ok(rows);
    }
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM records WHERE search @@ to_tsquery('english', $1) LIMIT $2) x",
    )
    .bind(q)
    .bind(SEARCH_GATHER + 1)
    .fetch_one(&mut *c)
    .await?;
    let page_sql = if found <= SEARCH_GATHER {
        // The bound inside keeps the planner from flattening the subquery into a walk.
        format!(
            "{sql} AND r.id IN (SELECT id FROM records WHERE search @@ to_tsquery('english', ${n}) LIMIT {}){order} LIMIT {}",
            SEARCH_GATHER + 1,
            limit + 1
        )
    } else {
        format!("{sql} AND {matches}{order} LIMIT {}", limit + 1)
    };
    Ok(
        planned_per_call(c, bind_all(sqlx::query(&with_names(&page_sql, order)), binds))
            .fetch_all(&mut *c)
            .await?,
    )
}

/// Lists records of one kind.
#[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
pub async fn list(
    c: &mut AnyConnection,
    kind: RecordKind,
    filter: &RecordFilter,
    page: PageRequest,
) -> Result<Page<RecordView>> {
    let backend = backend_of(c);
    let int = |v: i64| Bind::Int(Some(v));
    let mut conds = Vec::new();
    if let Some(orgs) = &filter.visible_organizations {
        if orgs.is_empty() {
            return Ok(Page {
                items: vec![],
                next: None,
            });
        }
        conds.push(Cond::one_of(
            "organization_id",
            orgs.iter().map(|o| int(o.0)).collect(),
        ));
    }
    if !filter.states.is_empty() {
        conds.push(Cond::one_of(
            "state",
            filter
                .states
                .iter()
                .map(|s| Bind::Text(Some(s.clone())))
                .collect(),
        ));
    }
    if let Some(p) = filter.priority {
        conds.push(Cond::equals("priority", Some(int(i64::from(p)))));
    }
    if let Some(o) = filter.organization_id {
        conds.push(Cond::equals("organization_id", Some(int(o.0))));
    }
    if let Some(g) = filter.assignment_group_id {
        conds.push(Cond::equals("assignment_group_id", g.map(|g| int(g.0))));
    }
    if let Some(u) = filter.assignee_id {
        conds.push(Cond::equals("assignee_id", u.map(|u| int(u.0))));
    }
    if let Some(s) = filter.service_id {
        conds.push(Cond::equals("service_id", Some(int(s.0))));
    }
    if let Some(u) = filter.requester_id {
        conds.push(Cond::equals("requester_id", Some(int(u.0))));
    }
    for (f, value) in &filter.fields {
        match fields::bind(f, value) {
            Some(b) => conds.push(Cond::field_equals(backend, f, b)),
            // A value of another type than the field's matches no record.
            None => {
                return Ok(Page {
                    items: vec![],
                    next: None,
                })
            }
        }
    }
    // SQLite's text condition joins the others; PostgreSQL's search picks its own plan.
    let mut text = None;
    let mut pg_text = None;
    if let Some(t) = &filter.text {
        let terms = search_terms(t);
        if !terms.is_empty() {
            match backend {
                Backend::Sqlite => {
                    let q = terms
                        .iter()
                        .map(|t| format!("\"{t}\"*"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    // SQLite's planner cannot tell a rare term from a common one. A rare term is
                    // best served by reading its few records and sorting them; a common one by
                    // walking the list's sort index and keeping the matches, because reading and
                    // sorting its matches took 300 ms for a word in a fifth of 1,000,000
                    // records. A bounded count of the matches decides; `+r.id` keeps the
                    // planner off the id lookup.
                    let common: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM (SELECT rowid FROM records_fts WHERE records_fts MATCH $1 LIMIT $2)",
                    )
                    .bind(q.as_str())
                    .bind(COMMON_TERM_MATCHES)
                    .fetch_one(&mut *c)
                    .await?;
                    let id = if common >= COMMON_TERM_MATCHES {
                        "+r.id"
                    } else {
                        "r.id"
                    };
                    text = Some(sqlite_text_condition(id, q, &terms));
                }
                Backend::Postgres => {
                    let q = terms
                        .iter()
                        .map(|t| format!("{t}:*"))
                        .collect::<Vec<_>>()
                        .join(" & ");
                    pg_text = Some(q);
                }
            }
        }
    }
    let col = page.sort.column(backend);
    let (cmp, dir) = if page.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let after = page.after.map(|a| Cond::keyset(&col, cmp, a));
    let limit = page.limit.clamp(1, MAX_PAGE);
    let order = format!(" ORDER BY {col} {dir}, r.id {dir}");
    let kind_sql = kind_condition(kind);
    // The page is chosen from `records` alone and only its rows are joined to the names they
    // show: joined first, PostgreSQL joined every match of a two-word search (44,000 rows at
    // 1,000,000 incidents, 685 ms) before sorting and cutting the page.
    let all = |binds: &mut Vec<Bind>, text: Option<&Cond>| {
        let mut sql = format!("SELECT r.* FROM records r WHERE {kind_sql}");
        push_all(&mut sql, binds, conds.iter().chain(text).chain(&after));
        sql
    };
    let indexes = page.sort.walk_indexes();
    let served = match conds.as_slice() {
        [] => true,
        [one] => {
            one.column.is_some_and(|c| indexes.contains(&c))
                || (one.field.is_some() && page.sort.walks_fields())
        }
        _ => false,
    };
    let (rows, stopped) = if let Some(q) = pg_text {
        let mut binds = Vec::new();
        let sql = all(&mut binds, None);
        binds.push(Bind::Text(Some(q.clone())));
        (search_page(c, &sql, &order, &binds, &q, limit).await?, None)
    } else if text.is_some() || (served && page.sort != SortField::Due) {
        // An SQLite text search chose its plan above; a list an index serves whole walks only
        // matching rows. By due instant even such a list is walked, so that a deep page starts
        // from an index range rather than from the first record (see `Walk::range`).
        let mut binds = Vec::new();
        let page_sql = format!("{}{order} LIMIT {}", all(&mut binds, text.as_ref()), limit + 1);
        let rows = planned_per_call(c, bind_all(sqlx::query(&with_names(&page_sql, &order)), &binds))
            .fetch_all(&mut *c)
            .await?;
        (rows, None)
    } else {
        // The most selective condition an index serves in this order leads the walk.
        // A kind's own field is preferred to the broad columns (group, organization, state), not
        // to a person or a service.
        let (narrow, broad) = WALK_PREFERENCE.split_at(3);
        let by_column = |cols: &[&str]| {
            cols.iter().find_map(|col| {
                conds
                    .iter()
                    .find(|c| c.column == Some(*col) && indexes.contains(col))
            })
        };
        let by_field = || {
            conds
                .iter()
                .find(|c| c.field.is_some())
                .filter(|_| page.sort.walks_fields())
        };
        let along = by_column(narrow).or_else(by_field).or_else(|| by_column(broad));
        let walk = Walk {
            backend,
            kind: &kind_sql,
            sort: page.sort,
            descending: page.descending,
            along,
            conds: &conds,
            after: page.after,
            limit,
        };
        walked_page(c, &walk).await?
    };
    let mut items = rows.iter().map(view_from_row).collect::<Result<Vec<_>>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|v| Cursor {
            value: page.sort.value(v),
            id: v.record.id.0,
        })
    } else {
        stopped
    };
    Ok(Page { items, next })
}

/// A list's condition on the kind, its name written out rather than bound: a kind's own fields
/// are indexed by partial indexes (`WHERE kind = 'incident'`, see `fields.rs`), which a
/// database uses only for a query whose condition it can see implies the index's. The name is
/// an identifier the registry declares, never input.
fn kind_condition(kind: RecordKind) -> String {
    format!("r.kind = '{}'", kind.as_str())
}

/// The conditions a walk prefers to follow, most selective first as records usually spread.
const WALK_PREFERENCE: [&str; 6] = [
    "assignee_id",
    "requester_id",
    "service_id",
    "assignment_group_id",
    "organization_id",
    "state",
];
