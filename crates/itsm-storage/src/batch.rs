//! Writing many rows in one statement. A statement costs a round trip (to the PostgreSQL server,
//! or to sqlx's SQLite worker thread) whatever its size, so bulk paths write their rows with one
//! statement that reads them from a table `v` ([`with_rows`]): on PostgreSQL one JSON document
//! unpacked by `jsonb_to_recordset` (one parameter, so no placeholder limit applies); on SQLite a
//! multi-row `VALUES` list with plain parameters
//! (SQLite's JSON functions re-parse every row's object once per column, which cost more than the
//! round trips saved), split where the placeholder limit requires.
//!
//! Ids are allocated before the insert rather than read back with `RETURNING`, because neither
//! database promises that returned rows come in the order of the input.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use crate::backend::{backend_of, Backend};
use crate::Result;

/// A value bound to a placeholder of dynamically built SQL.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Int(Option<i64>),
    Text(Option<String>),
}

pub(crate) fn bind_all<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    binds: &'q [Bind],
) -> Query<'q, Any, AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Text(v) => q.bind(v.as_deref()),
        };
    }
    q
}

/// SQLite's limit on parameters per statement (the bundled library's default).
const SQLITE_MAX_PARAMETERS: usize = 32_766;

/// The SQL type of a column written from JSON, or an expression the database computes for it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ColumnType {
    Int,
    Text,
    /// Computed per row: (SQLite, PostgreSQL) expressions, which may read the row's other values
    /// as `v.name`.
    Computed(&'static str, &'static str),
}

/// Inserts `rows` (JSON objects keyed by column name; a missing key is NULL) into `table`.
pub(crate) async fn insert_rows(
    c: &mut AnyConnection,
    table: &str,
    columns: &[(&str, ColumnType)],
    rows: Vec<serde_json::Value>,
) -> Result<()> {
    insert_returning(c, table, columns, rows, "").await?;
    Ok(())
}

/// Inserts `rows` like [`insert_rows`], with `suffix` (`ON CONFLICT ...`, `RETURNING ...`) after
/// the insert; answers the rows it returns.
pub(crate) async fn insert_returning(
    c: &mut AnyConnection,
    table: &str,
    columns: &[(&str, ColumnType)],
    rows: Vec<serde_json::Value>,
    suffix: &str,
) -> Result<Vec<AnyRow>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let names = names.join(", ");
    let values: Vec<String> = columns
        .iter()
        .map(|(n, t)| match (t, backend_of(c)) {
            (ColumnType::Computed(sqlite, _), Backend::Sqlite) => (*sqlite).to_owned(),
            (ColumnType::Computed(_, pg), Backend::Postgres) => (*pg).to_owned(),
            _ => format!("v.{n}"),
        })
        .collect();
    let bound: Vec<(&str, ColumnType)> = columns
        .iter()
        .filter(|(_, t)| !matches!(t, ColumnType::Computed(..)))
        .copied()
        .collect();
    // `WHERE true` tells SQLite's parser that an ON CONFLICT in `suffix` belongs to the INSERT.
    let statement = format!(
        "INSERT INTO {table} ({names}) SELECT {} FROM v WHERE true {suffix}",
        values.join(", ")
    );
    with_rows(c, &bound, rows, &statement).await
}

/// Runs `statement`, which reads `rows` (JSON objects keyed by column name) from a table named
/// `v` with `columns`, and answers the rows it returns. On SQLite a long list runs as several
/// statements, so a statement must be correct for any split of the rows.
pub(crate) async fn with_rows(
    c: &mut AnyConnection,
    columns: &[(&str, ColumnType)],
    rows: Vec<serde_json::Value>,
    statement: &str,
) -> Result<Vec<AnyRow>> {
    let mut out = Vec::new();
    if rows.is_empty() {
        return Ok(out);
    }
    match backend_of(c) {
        Backend::Postgres => {
            let typed: Vec<String> = columns
                .iter()
                .map(|(n, t)| match t {
                    ColumnType::Text => format!("{n} TEXT"),
                    _ => format!("{n} BIGINT"),
                })
                .collect();
            let sql = format!(
                "WITH v AS (SELECT * FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS x({})) {statement}",
                typed.join(", ")
            );
            out = sqlx::query(&sql)
                .bind(serde_json::Value::Array(rows).to_string())
                .fetch_all(&mut *c)
                .await?;
        }
        Backend::Sqlite => {
            let width = columns.len().max(1);
            let per_statement = (SQLITE_MAX_PARAMETERS / width).max(1);
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            let row_placeholders = format!("({})", vec!["?"; width].join(", "));
            for chunk in rows.chunks(per_statement) {
                let list = vec![row_placeholders.as_str(); chunk.len()].join(", ");
                let sql = format!("WITH v ({}) AS (VALUES {list}) {statement}", names.join(", "));
                let mut binds = Vec::with_capacity(chunk.len() * width);
                for row in chunk {
                    for name in &names {
                        binds.push(bind_of(row.get(*name)));
                    }
                }
                out.extend(bind_all(sqlx::query(&sql), &binds).fetch_all(&mut *c).await?);
            }
        }
    }
    Ok(out)
}

fn bind_of(v: Option<&serde_json::Value>) -> Bind {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => Bind::Int(None),
        Some(Value::Bool(b)) => Bind::Int(Some(i64::from(*b))),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Bind::Int(Some(i)),
            None => Bind::Text(Some(n.to_string())),
        },
        Some(Value::String(s)) => Bind::Text(Some(s.clone())),
        Some(other) => Bind::Text(Some(other.to_string())),
    }
}

/// Inserts `rows` like [`insert_rows`] into a table with an `id` column, answering the new ids in
/// the order of `rows`. A single row takes one statement (its id comes back with `RETURNING`).
pub(crate) async fn insert_with_ids(
    c: &mut AnyConnection,
    table: &str,
    columns: &[(&str, ColumnType)],
    mut rows: Vec<serde_json::Value>,
) -> Result<Vec<i64>> {
    if rows.len() == 1 {
        let returned = insert_returning(c, table, columns, rows, "RETURNING id").await?;
        return returned.iter().map(|r| Ok(r.try_get(0)?)).collect();
    }
    let ids = next_ids(c, table, rows.len()).await?;
    for (row, id) in rows.iter_mut().zip(&ids) {
        if let Some(map) = row.as_object_mut() {
            map.insert("id".into(), (*id).into());
        }
    }
    let mut with_id = vec![("id", ColumnType::Int)];
    with_id.extend_from_slice(columns);
    insert_rows(c, table, &with_id, rows).await?;
    Ok(ids)
}

/// `n` fresh ids for `table`'s `id` column. On SQLite this relies on the single writer (see
/// `Store`): inside a write transaction nobody else can take the ids after the largest one.
pub(crate) async fn next_ids(c: &mut AnyConnection, table: &str, n: usize) -> Result<Vec<i64>> {
    match backend_of(c) {
        Backend::Sqlite => {
            let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
            let max: i64 = sqlx::query(&sql).fetch_one(&mut *c).await?.try_get(0)?;
            Ok(following(max, n))
        }
        Backend::Postgres => {
            let sql = format!(
                "SELECT nextval(s.name) FROM (SELECT pg_get_serial_sequence('{table}', 'id') AS name) AS s, \
                 generate_series(1, $1)"
            );
            next_values(c, &sql, n).await
        }
    }
}

/// The `n` numbers after `last`.
pub(crate) fn following(last: i64, n: usize) -> Vec<i64> {
    (1..).take(n).map(|i| last + i).collect()
}

/// Runs a `nextval` query taking the count as `$1`.
pub(crate) async fn next_values(c: &mut AnyConnection, sql: &str, n: usize) -> Result<Vec<i64>> {
    let count = i64::try_from(n).unwrap_or(i64::MAX);
    let rows = sqlx::query(sql).bind(count).fetch_all(&mut *c).await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Inserts into several tables gathered first and written together: on PostgreSQL as one
/// statement (a data-modifying `WITH` part per table, which the database runs as one atomic
/// command, so a group of creations costs one round trip); on SQLite one statement per table, in
/// the order added. Each part reads its rows as [`with_rows`] does; a part's computed columns
/// may read them as `v.name`.
#[derive(Debug, Default)]
pub struct Inserts {
    parts: Vec<Part>,
}

#[derive(Debug)]
struct Part {
    table: &'static str,
    columns: Vec<(&'static str, ColumnType)>,
    rows: Vec<serde_json::Value>,
    returning: &'static str,
}

impl Inserts {
    /// Adds rows for `table`. At most one part may have a `returning` clause (`RETURNING ...`);
    /// [`Inserts::run`] answers its rows.
    pub(crate) fn add(
        &mut self,
        table: &'static str,
        columns: Vec<(&'static str, ColumnType)>,
        rows: Vec<serde_json::Value>,
        returning: &'static str,
    ) {
        if !rows.is_empty() {
            self.parts.push(Part {
                table,
                columns,
                rows,
                returning,
            });
        }
    }

    /// Adds the parts of `other` after these (on SQLite they run after them).
    pub fn append(&mut self, other: Inserts) {
        self.parts.extend(other.parts);
    }

    /// Writes every part; answers the rows the part with a `returning` clause returned.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn run(self, c: &mut AnyConnection) -> Result<Vec<AnyRow>> {
        match backend_of(c) {
            Backend::Sqlite => {
                let mut out = Vec::new();
                for p in self.parts {
                    out.extend(insert_returning(c, p.table, &p.columns, p.rows, p.returning).await?);
                }
                Ok(out)
            }
            Backend::Postgres => {
                if self.parts.is_empty() {
                    return Ok(Vec::new());
                }
                let mut with = Vec::new();
                let mut documents = Vec::new();
                let mut answer = "SELECT 1 WHERE false".to_owned();
                for (i, p) in self.parts.into_iter().enumerate() {
                    let typed: Vec<String> = p
                        .columns
                        .iter()
                        .filter(|(_, t)| !matches!(t, ColumnType::Computed(..)))
                        .map(|(n, t)| match t {
                            ColumnType::Text => format!("{n} TEXT"),
                            _ => format!("{n} BIGINT"),
                        })
                        .collect();
                    let names: Vec<&str> = p.columns.iter().map(|(n, _)| *n).collect();
                    let values: Vec<String> = p
                        .columns
                        .iter()
                        .map(|(n, t)| match t {
                            ColumnType::Computed(_, pg) => (*pg).to_owned(),
                            _ => format!("v.{n}"),
                        })
                        .collect();
                    with.push(format!(
                        "v{i} AS (SELECT * FROM jsonb_to_recordset(CAST(${} AS jsonb)) AS x({})), \
                         i{i} AS (INSERT INTO {} ({}) SELECT {} FROM v{i} AS v {})",
                        i + 1,
                        typed.join(", "),
                        p.table,
                        names.join(", "),
                        values.join(", "),
                        p.returning
                    ));
                    if !p.returning.is_empty() {
                        answer = format!("SELECT * FROM i{i}");
                    }
                    documents.push(serde_json::Value::Array(p.rows).to_string());
                }
                let sql = format!("WITH {} {answer}", with.join(", "));
                let mut q = sqlx::query(&sql);
                for d in documents {
                    q = q.bind(d);
                }
                Ok(q.fetch_all(&mut *c).await?)
            }
        }
    }
}

/// Fresh ids for several tables and, in the same round trip, the value of `also` (a scalar
/// query), if given: the ids of table `i` at index `i`. On SQLite this relies on the single
/// writer, as [`next_ids`] does.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reserve_ids(
    c: &mut AnyConnection,
    wanted: &[(&str, usize)],
    also: Option<&str>,
) -> Result<(Vec<Vec<i64>>, Option<i64>)> {
    let mut ids = vec![Vec::new(); wanted.len()];
    let mut scalar = None;
    match backend_of(c) {
        Backend::Sqlite => {
            let mut parts: Vec<String> = wanted
                .iter()
                .map(|(table, _)| format!("(SELECT COALESCE(MAX(id), 0) FROM {table})"))
                .collect();
            parts.push(also.map_or("NULL".to_owned(), |q| format!("({q})")));
            let row = sqlx::query(&format!("SELECT {}", parts.join(", ")))
                .fetch_one(&mut *c)
                .await?;
            for (i, (_, n)) in wanted.iter().enumerate() {
                if let Some(slot) = ids.get_mut(i) {
                    *slot = following(row.try_get(i)?, *n);
                }
            }
            scalar = row.try_get(wanted.len())?;
        }
        Backend::Postgres => {
            // Counts are parameters, so the statement's text (and its prepared plan) is the same
            // for every group size.
            let mut counts = Vec::new();
            let mut parts: Vec<String> = wanted
                .iter()
                .enumerate()
                .filter(|(_, (_, n))| *n > 0)
                .map(|(i, (table, n))| {
                    counts.push(i64::try_from(*n).unwrap_or(i64::MAX));
                    format!(
                        "SELECT CAST({i} AS BIGINT), nextval(s.name) FROM \
                         (SELECT pg_get_serial_sequence('{table}', 'id') AS name) AS s, \
                         generate_series(1, CAST(${} AS BIGINT))",
                        counts.len()
                    )
                })
                .collect();
            if let Some(q) = also {
                parts.push(format!("SELECT CAST(-1 AS BIGINT), CAST(({q}) AS BIGINT)"));
            }
            if parts.is_empty() {
                return Ok((ids, None));
            }
            let sql = parts.join(" UNION ALL ");
            let mut q = sqlx::query(&sql);
            for n in counts {
                q = q.bind(n);
            }
            let rows = q.fetch_all(&mut *c).await?;
            for row in rows {
                let which: i64 = row.try_get(0)?;
                let value: i64 = row.try_get(1)?;
                match usize::try_from(which).ok().and_then(|i| ids.get_mut(i)) {
                    Some(slot) => slot.push(value),
                    None => scalar = Some(value),
                }
            }
            for slot in &mut ids {
                slot.sort_unstable();
            }
        }
    }
    Ok((ids, scalar))
}
