//! Typed links between records, and the history entries that name the other record.

use itsm_domain::access::Permission;

use itsm_domain::{LinkType, Record, RecordId, RecordKind, ValidationError};
use itsm_storage::audit::{Event, Subject};
use itsm_storage::links::{self, Link};
use itsm_storage::records::{self};

use super::pipeline::write_event;
use super::resolve::{resolve, resolve_to_add, resolve_to_contribute};
use crate::{App, AppError, Ctx, Result};
use itsm_domain::lifecycle::Addition;

impl App {
    /// The links of a record, leaving out records the caller may not see.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn links(&self, ctx: &Ctx, kind: RecordKind, reference: &str) -> Result<Vec<Link>> {
        ctx.require(Permission::ReadRecords)?;
        let mut c = self.store().read().await?;
        let view = resolve(self, &mut c, ctx, kind, reference).await?;
        let provider = self.provider_id(&mut c).await?;
        let mut all = links::list(&mut c, view.record.id).await?;
        all.retain(|l| ctx.can_see(l.other_kind, l.other_organization_id, provider));
        Ok(all)
    }

    /// Links a record to another, named by its readable number (`INC-7`, `SVC-2`).
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn add_link(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        target: &str,
        link_type: LinkType,
    ) -> Result<Link> {
        ctx.require(Permission::LinkRecords)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // The link is the source's: the target may have ended (a problem links the incidents
        // it caused, closed or not).
        let source = resolve_to_add(self, &mut tx, ctx, kind, reference, Addition::Link)
            .await?
            .record;
        let target_number: itsm_domain::RecordNumber = target
            .trim()
            .to_ascii_uppercase()
            .parse()
            .map_err(|_| ValidationError::field("target", "must be a record number such as INC-1042"))?;
        let target =
            resolve_to_contribute(self, &mut tx, ctx, target_number.kind, &target_number.to_string())
                .await
                .map_err(|_| ValidationError::field("target", format!("no record {target_number}")))?
                .record;
        if target.id == source.id {
            return Err(ValidationError::field("target", "a record cannot be linked to itself").into());
        }
        let id = links::insert(&mut tx, source.id, target.id, link_type, ctx.user_id(), now)
            .await
            .map_err(|e| match e {
                itsm_storage::StorageError::Duplicate(_) => {
                    AppError::Conflict("this link exists already".into())
                }
                other => other.into(),
            })?;
        let s = source.readable_number();
        let t = target.readable_number();
        let summary = format!("{s} {} {t}", link_type.label());
        for (subject, other) in [(&source, &target), (&target, &source)] {
            write_event(
                &mut tx,
                ctx,
                Subject::Record(subject.id),
                "linked",
                now,
                summary.clone(),
                &[link_change(other, link_type, true)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Link {
            id,
            link_type,
            outgoing: true,
            other_id: target.id,
            other_kind: target.kind,
            other_number: target.number,
            other_title: target.title,
            other_state: target.state,
            other_organization_id: target.organization_id,
            created_at: now,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn remove_link(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        link_id: i64,
    ) -> Result<()> {
        ctx.require(Permission::LinkRecords)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let record = resolve_to_add(self, &mut tx, ctx, kind, reference, Addition::Link)
            .await?
            .record;
        let (s, t, lt) = links::delete(&mut tx, record.id, link_id)
            .await
            .map_err(|_| AppError::NotFound(format!("link {link_id}")))?;
        let ends = records::get_many(&mut tx, &[s, t]).await?;
        let (Some(source), Some(target)) = (
            ends.iter().find(|v| v.record.id == s),
            ends.iter().find(|v| v.record.id == t),
        ) else {
            return Err(AppError::NotFound(format!("link {link_id}")));
        };
        let summary = format!(
            "{} no longer {} {}",
            source.record.readable_number(),
            lt.label(),
            target.record.readable_number()
        );
        for (subject, other) in [(source, target), (target, source)] {
            write_event(
                &mut tx,
                ctx,
                Subject::Record(subject.record.id),
                "unlinked",
                now,
                summary.clone(),
                &[link_change(&other.record, lt, false)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The actions of events about a link; each carries a [`LINK_FIELD`] change naming the other record.
pub(super) const LINK_ACTIONS: [&str; 2] = ["linked", "unlinked"];

/// The audit field of a link's change: the record's links gained (`new`) or lost (`old`) one, to
/// the record named in the value.
pub const LINK_FIELD: &str = "link";

fn link_change(other: &Record, link_type: LinkType, added: bool) -> itsm_domain::FieldChange {
    let value = serde_json::json!({
        "record_id": other.id.0,
        "record": other.readable_number().to_string(),
        "type": link_type,
    });
    let (old, new) = if added {
        (serde_json::Value::Null, value)
    } else {
        (value, serde_json::Value::Null)
    };
    itsm_domain::FieldChange {
        field: LINK_FIELD.to_owned(),
        old,
        new,
    }
}

/// The other record of a link event.
pub(super) fn linked_record(e: &Event) -> Option<RecordId> {
    let change = e.changes.iter().find(|c| c.field == LINK_FIELD)?;
    let value = if change.new.is_null() {
        &change.old
    } else {
        &change.new
    };
    value.get("record_id")?.as_i64().map(RecordId)
}
