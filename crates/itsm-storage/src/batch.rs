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

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{backend_of, Backend};
use crate::records::{bind_all, Bind};
use crate::Result;

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
