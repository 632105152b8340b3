//! Reading records: one by number or id, lists, and the history as the caller may see it.

use itsm_domain::access::{Permission, Scope};

use itsm_domain::{RecordId, RecordKind};
use itsm_storage::audit::{self, Event, Subject};
use itsm_storage::records::{self, Page, PageRequest, RecordFilter, RecordView};

use super::conversation::INTERNAL_NOTE;
use super::links::{linked_record, LINK_ACTIONS};
use super::resolve::{resolve, visible_organizations};
use crate::{App, Ctx, Result};

impl App {
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn get_record(&self, ctx: &Ctx, kind: RecordKind, reference: &str) -> Result<RecordView> {
        ctx.require(Permission::ReadRecords)?;
        let mut c = self.store().read().await?;
        resolve(self, &mut c, ctx, kind, reference).await
    }

    /// Lists records of a kind that the caller may see.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
    pub async fn list_records(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        mut filter: RecordFilter,
        page: PageRequest,
    ) -> Result<Page<RecordView>> {
        ctx.require(Permission::ReadRecords)?;
        let mut c = self.store().read().await?;
        filter.visible_organizations = visible_organizations(self, &mut c, ctx, kind).await?;
        Ok(records::list(&mut c, kind, &filter, page).await?)
    }

    /// The audit history of a record, oldest first. Customers do not see internal notes in it.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn record_history(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Event>> {
        ctx.require(Permission::ReadRecords)?;
        let mut c = self.store().read().await?;
        let view = resolve(self, &mut c, ctx, kind, reference).await?;
        let mut events = audit::history(&mut c, Subject::Record(view.record.id), after, limit).await?;
        if !ctx.can(Permission::ReadInternalNotes) {
            events.retain(|e| e.summary != INTERNAL_NOTE);
        }
        if let Some(a) = ctx.actor().filter(|a| !a.role.is_staff()) {
            // The provider's own signals (an SLA warning, an operational level agreement's
            // breach) and assignment are not the customer's to read; their SLA report shows what
            // their agreements promise. An update left with nothing they may read is not shown.
            events.retain(|e| !crate::service_levels::SLA_NOTICES.contains(&e.action.as_str()));
            for e in &mut events {
                e.changes.retain(|c| a.reads_change_of(kind, &c.field));
            }
            events.retain(|e| e.action != "updated" || !e.changes.is_empty());
        }
        if ctx.scope() != Scope::All {
            // An event about a link names the other record: shown only if the caller may see it.
            // Link events written before they recorded the other record are not shown at all.
            let others: Vec<RecordId> = events.iter().filter_map(linked_record).collect();
            let provider = self.provider_id(&mut c).await?;
            let visible: Vec<RecordId> = records::get_many(&mut c, &others)
                .await?
                .into_iter()
                .filter(|v| ctx.can_see(v.record.kind, v.record.organization_id, provider))
                .map(|v| v.record.id)
                .collect();
            events.retain(|e| {
                !LINK_ACTIONS.contains(&e.action.as_str())
                    || linked_record(e).is_some_and(|id| visible.contains(&id))
            });
        }
        Ok(events)
    }
}
