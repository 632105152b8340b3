//! Files attached to records. Contents live in the database beside their metadata, so every node of
//! a cluster sees them and a backup of the database is a backup of everything.

use itsm_domain::{RecordId, UserId};
use sqlx::{AnyConnection, Row};

use crate::{instant, micros, Result};

/// An attachment's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: i64,
    pub record_id: RecordId,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: jiff::Timestamp,
    pub created_by: Option<UserId>,
}

/// A new attachment.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    pub record_id: RecordId,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert(
    c: &mut AnyConnection,
    a: &NewAttachment<'_>,
    actor: Option<UserId>,
    now: jiff::Timestamp,
) -> Result<Attachment> {
    let size = i64::try_from(a.content.len()).unwrap_or(i64::MAX);
    let id: i64 = sqlx::query(
        "INSERT INTO attachments (record_id, filename, content_type, size_bytes, sha256, content, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(a.record_id.0)
    .bind(a.filename)
    .bind(a.content_type)
    .bind(size)
    .bind(a.sha256)
    .bind(a.content.to_vec())
    .bind(micros(now))
    .bind(actor.map(|u| u.0))
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    Ok(Attachment {
        id,
        record_id: a.record_id,
        filename: a.filename.to_owned(),
        content_type: a.content_type.to_owned(),
        size_bytes: size,
        sha256: a.sha256.to_owned(),
        created_at: now,
        created_by: actor,
    })
}

const COLUMNS: &str = "id, record_id, filename, content_type, size_bytes, sha256, created_at, created_by";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Attachment> {
    Ok(Attachment {
        id: r.try_get(0)?,
        record_id: RecordId(r.try_get(1)?),
        filename: r.try_get(2)?,
        content_type: r.try_get(3)?,
        size_bytes: r.try_get(4)?,
        sha256: r.try_get(5)?,
        created_at: instant(r.try_get(6)?)?,
        created_by: r.try_get::<Option<i64>, _>(7)?.map(UserId),
    })
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(c: &mut AnyConnection, record: RecordId) -> Result<Vec<Attachment>> {
    let sql = format!("SELECT {COLUMNS} FROM attachments WHERE record_id = $1 ORDER BY id LIMIT 500");
    let rows = sqlx::query(&sql).bind(record.0).fetch_all(&mut *c).await?;
    rows.iter().map(from_row).collect()
}

/// An attachment's metadata and content.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(c: &mut AnyConnection, id: i64) -> Result<Option<(Attachment, Vec<u8>)>> {
    let sql = format!("SELECT {COLUMNS}, content FROM attachments WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *c).await?;
    match row {
        Some(r) => Ok(Some((from_row(&r)?, r.try_get(8)?))),
        None => Ok(None),
    }
}
