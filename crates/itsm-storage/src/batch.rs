//! Writing many rows in one statement. A statement costs a round trip (to the PostgreSQL server,
//! or to sqlx's SQLite worker thread) whatever its size, so bulk paths send their rows as one JSON
//! document and let the database unpack it: `json_each` on SQLite, `jsonb_to_recordset` on
//! PostgreSQL. One parameter, whatever the number of rows, so no placeholder limit applies.
//!
//! Ids are allocated before the insert rather than read back with `RETURNING`, because neither
//! database promises that returned rows come in the order of the input.

use sqlx::{AnyConnection, Row};

use crate::db::{backend_of, Backend};
use crate::Result;

/// The SQL type of a column written from JSON, or an expression the database computes for it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ColumnType {
    Int,
    Text,
    /// Computed per row: (SQLite, PostgreSQL) expressions, which may read the row's other values
    /// (`json_extract(value, '$.name')` on SQLite, `name` on PostgreSQL).
    Computed(&'static str, &'static str),
}

/// Inserts `rows` (JSON objects keyed by column name; a missing key is NULL) into `table`.
pub(crate) async fn insert_rows(
    c: &mut AnyConnection,
    table: &str,
    columns: &[(&str, ColumnType)],
    rows: Vec<serde_json::Value>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = insert_sql(c, table, columns);
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
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
        let sql = format!("{} RETURNING id", insert_sql(c, table, columns));
        let row = sqlx::query(&sql)
            .bind(serde_json::Value::Array(rows).to_string())
            .fetch_one(&mut *c)
            .await?;
        return Ok(vec![row.try_get(0)?]);
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

pub(crate) fn insert_sql(c: &AnyConnection, table: &str, columns: &[(&str, ColumnType)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let names = names.join(", ");
    match backend_of(c) {
        Backend::Postgres => {
            let typed: Vec<String> = columns
                .iter()
                .filter_map(|(n, t)| match t {
                    ColumnType::Int => Some(format!("{n} BIGINT")),
                    ColumnType::Text => Some(format!("{n} TEXT")),
                    ColumnType::Computed(..) => None,
                })
                .collect();
            let values: Vec<String> = columns
                .iter()
                .map(|(n, t)| match t {
                    ColumnType::Computed(_, pg) => (*pg).to_owned(),
                    _ => (*n).to_owned(),
                })
                .collect();
            format!(
                "INSERT INTO {table} ({names}) SELECT {} \
                 FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS v({})",
                values.join(", "),
                typed.join(", ")
            )
        }
        Backend::Sqlite => {
            let extracted: Vec<String> = columns
                .iter()
                .map(|(n, t)| match t {
                    ColumnType::Computed(sqlite, _) => (*sqlite).to_owned(),
                    _ => format!("json_extract(value, '$.{n}')"),
                })
                .collect();
            format!(
                "INSERT INTO {table} ({names}) SELECT {} FROM json_each(?)",
                extracted.join(", ")
            )
        }
    }
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
