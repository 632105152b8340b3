//! Comments on records: public replies the requester sees and internal notes they never see.

use itsm_domain::{RecordId, UserId};
use sqlx::{AnyConnection, Row};

use crate::{instant, micros, Result};

/// A stored comment with its author's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: i64,
    pub record_id: RecordId,
    pub author_id: Option<UserId>,
    pub author_name: Option<String>,
    pub internal: bool,
    pub body: String,
    pub created_at: jiff::Timestamp,
}

/// Writes a comment; answers its id.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert(
    c: &mut AnyConnection,
    record: RecordId,
    author: Option<UserId>,
    internal: bool,
    body: &str,
    now: jiff::Timestamp,
) -> Result<i64> {
    let new = NewComment {
        record,
        author,
        internal,
        body,
        at: now,
    };
    insert_many(c, &[new])
        .await?
        .pop()
        .ok_or(crate::StorageError::NotFound)
}

/// A comment to write.
#[derive(Debug, Clone, Copy)]
pub struct NewComment<'a> {
    pub record: RecordId,
    pub author: Option<UserId>,
    pub internal: bool,
    pub body: &'a str,
    pub at: jiff::Timestamp,
}

/// Writes comments, whatever their number, in one statement (two when more than one); answers
/// their ids in the order given.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_many(c: &mut AnyConnection, new: &[NewComment<'_>]) -> Result<Vec<i64>> {
    use crate::batch::ColumnType::{Int, Text};
    let rows = new
        .iter()
        .map(|n| {
            serde_json::json!({
                "record_id": n.record.0, "author_id": n.author.map(|a| a.0),
                "visibility": if n.internal { "internal" } else { "public" },
                "body": n.body, "created_at": micros(n.at),
            })
        })
        .collect();
    let columns = [
        ("record_id", Int),
        ("author_id", Int),
        ("visibility", Text),
        ("body", Text),
        ("created_at", Int),
    ];
    crate::batch::insert_with_ids(c, "comments", &columns, rows).await
}

/// Comments of a record, oldest first; internal notes only when asked for.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    c: &mut AnyConnection,
    record: RecordId,
    include_internal: bool,
    limit: u32,
) -> Result<Vec<Comment>> {
    let rows = sqlx::query(
        "SELECT c.id, c.author_id, u.display_name, c.visibility, c.body, c.created_at \
         FROM comments c LEFT JOIN users u ON u.id = c.author_id \
         WHERE c.record_id = $1 AND (c.visibility = 'public' OR $2 = 1) ORDER BY c.id LIMIT $3",
    )
    .bind(record.0)
    .bind(i64::from(include_internal))
    .bind(i64::from(limit.clamp(1, 1000)))
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Comment {
                id: r.try_get(0)?,
                record_id: record,
                author_id: r.try_get::<Option<i64>, _>(1)?.map(UserId),
                author_name: r.try_get(2)?,
                internal: r.try_get::<String, _>(3)? == "internal",
                body: r.try_get(4)?,
                created_at: instant(r.try_get(5)?)?,
            })
        })
        .collect()
}
