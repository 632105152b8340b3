//! Typed links between records, read from either end.

use itsm_domain::{LinkType, OrganizationId, RecordId, RecordKind, UserId};
use sqlx::{AnyConnection, Row};

use crate::{instant, micros, Result, StorageError};

/// A link seen from one record: the other end, and whether this record is the link's source.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub id: i64,
    pub link_type: LinkType,
    pub outgoing: bool,
    pub other_id: RecordId,
    pub other_kind: RecordKind,
    pub other_number: i64,
    pub other_title: String,
    pub other_state: String,
    pub other_organization_id: OrganizationId,
    pub created_at: jiff::Timestamp,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert(
    c: &mut AnyConnection,
    source: RecordId,
    target: RecordId,
    link_type: LinkType,
    actor: Option<UserId>,
    now: jiff::Timestamp,
) -> Result<i64> {
    let id = sqlx::query(
        "INSERT INTO record_links (source_id, target_id, link_type, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(source.0)
    .bind(target.0)
    .bind(link_type.as_str())
    .bind(micros(now))
    .bind(actor.map(|a| a.0))
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    Ok(id)
}

/// The links of a record in both directions, oldest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(c: &mut AnyConnection, record: RecordId) -> Result<Vec<Link>> {
    let rows = sqlx::query(
        "SELECT l.id, l.link_type, CASE WHEN l.source_id = $1 THEN 1 ELSE 0 END AS outgoing, o.id, o.kind, o.number, o.title, o.state, \
         o.organization_id, l.created_at \
         FROM record_links l JOIN records o ON o.id = CASE WHEN l.source_id = $1 THEN l.target_id ELSE l.source_id END \
         WHERE l.source_id = $1 OR l.target_id = $1 ORDER BY l.id LIMIT 500",
    )
    .bind(record.0)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            let lt: String = r.try_get(1)?;
            let kind: String = r.try_get(4)?;
            let outgoing = r.try_get::<i64, _>(2)? != 0;
            Ok(Link {
                id: r.try_get(0)?,
                link_type: LinkType::parse(&lt)
                    .ok_or_else(|| StorageError::Corrupt(format!("link type {lt}")))?,
                outgoing,
                other_id: RecordId(r.try_get(3)?),
                other_kind: RecordKind::parse(&kind)
                    .ok_or_else(|| StorageError::Corrupt(format!("kind {kind}")))?,
                other_number: r.try_get(5)?,
                other_title: r.try_get(6)?,
                other_state: r.try_get(7)?,
                other_organization_id: OrganizationId(r.try_get(8)?),
                created_at: instant(r.try_get(9)?)?,
            })
        })
        .collect()
}

/// Removes a link of `record`; returns the removed link's ends and type.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(
    c: &mut AnyConnection,
    record: RecordId,
    link_id: i64,
) -> Result<(RecordId, RecordId, LinkType)> {
    let row = sqlx::query(
        "DELETE FROM record_links WHERE id = $1 AND (source_id = $2 OR target_id = $2) \
         RETURNING source_id, target_id, link_type",
    )
    .bind(link_id)
    .bind(record.0)
    .fetch_optional(&mut *c)
    .await?
    .ok_or(StorageError::NotFound)?;
    let lt: String = row.try_get(2)?;
    Ok((
        RecordId(row.try_get(0)?),
        RecordId(row.try_get(1)?),
        LinkType::parse(&lt).ok_or_else(|| StorageError::Corrupt(format!("link type {lt}")))?,
    ))
}
