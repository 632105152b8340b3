//! Use cases every kind of record shares: read, list, history, comments, links and attachments, and
//! the one write path (create, change) that keeps the audit trail and state transitions in step.

use itsm_domain::access::{Permission, Scope};
use itsm_domain::ids::RecordRef;
use itsm_domain::validation::{optional_text, required_text};
use std::collections::HashMap;

use itsm_domain::{
    diff_fields, FieldMap, LinkType, Record, RecordFields, RecordId, RecordKind, ValidationError,
};
use itsm_storage::attachments::{self, Attachment, NewAttachment};
use itsm_storage::audit::{self, Event, NewEvent, NewTransition, Subject};
use itsm_storage::comments::{self, Comment};
use itsm_storage::links::{self, Link};
use itsm_storage::records::{self, Page, PageRequest, QueueClock, RecordFilter, RecordView};
use itsm_storage::AnyConnection;
use sha2::{Digest, Sha256};

use crate::{App, AppError, Ctx, Result};

pub const COMMENT_MAX: usize = 20_000;

/// Content types accepted for attachments. Active content a browser would run (HTML, SVG,
/// scripts) is refused; formats with a signature must start with it.
const ALLOWED_TYPES: &[(&str, Option<&[u8]>)] = &[
    ("image/png", Some(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", Some(b"\xff\xd8\xff")),
    ("image/gif", Some(b"GIF8")),
    ("image/webp", Some(b"RIFF")),
    ("application/pdf", Some(b"%PDF-")),
    ("application/zip", Some(b"PK\x03\x04")),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some(b"PK\x03\x04"),
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some(b"PK\x03\x04"),
    ),
    ("text/plain", None),
    ("text/csv", None),
    ("application/json", None),
    ("message/rfc822", None),
    ("application/octet-stream", None),
];

/// Reads a record a caller names, or answers "not found" when it does not exist, is of another kind,
/// or belongs to an organization the caller may not see.
pub(crate) async fn resolve(
    app: &App,
    c: &mut AnyConnection,
    ctx: &Ctx,
    kind: RecordKind,
    reference: &str,
) -> Result<RecordView> {
    let not_found = || AppError::NotFound(format!("{} {reference}", kind.label().to_lowercase()));
    let parsed: RecordRef = reference.parse().map_err(|_| not_found())?;
    let view = match parsed {
        RecordRef::Id(id) => records::get(c, id).await?,
        RecordRef::Number(n) if n.kind == kind => records::get_by_number(c, n).await?,
        RecordRef::Number(_) => None,
    }
    .filter(|v| v.record.kind == kind)
    .ok_or_else(not_found)?;
    let provider = app.provider_id(c).await?;
    if ctx.can_see(kind, view.record.organization_id, provider) {
        Ok(view)
    } else {
        Err(not_found())
    }
}

/// Reads a record the caller wants to add to (a comment, an attachment, a link): resolved within
/// the caller's scope like [`resolve`], then refused with 403 when the kind's access rules make it
/// read-only to the caller, such as a service the provider publishes to customers.
pub(crate) async fn resolve_to_contribute(
    app: &App,
    c: &mut AnyConnection,
    ctx: &Ctx,
    kind: RecordKind,
    reference: &str,
) -> Result<RecordView> {
    let view = resolve(app, c, ctx, kind, reference).await?;
    if ctx.can_contribute(kind, view.record.organization_id) {
        Ok(view)
    } else {
        Err(AppError::Forbidden)
    }
}

/// The record a change is based on: resolved within the caller's scope, and still at the version the
/// caller read (412 otherwise; the versioned write refuses a change that races past this check).
pub(crate) async fn current_for_change(
    app: &App,
    c: &mut AnyConnection,
    ctx: &Ctx,
    kind: RecordKind,
    reference: &str,
    expected_version: i64,
) -> Result<Record> {
    let current = resolve(app, c, ctx, kind, reference).await?.record;
    if current.version != expected_version {
        return Err(AppError::VersionMismatch {
            current: current.version,
        });
    }
    Ok(current)
}

/// What every kind's change may set: the title (called `title_field` for people, such as `name`),
/// the description and, as its lifecycle allows, the state.
pub(crate) struct CommonChange<'a> {
    pub title_field: &'a str,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub state: Option<&'a str>,
}

impl CommonChange<'_> {
    /// Applies the change to `after`, collecting field errors; an illegal state move fails at once.
    pub(crate) fn apply(
        &self,
        current: &Record,
        after: &mut RecordFields,
        errors: &mut ValidationError,
    ) -> Result<()> {
        if let Some(t) = self.title {
            after.title = required_text(errors, self.title_field, t, 200);
        }
        if let Some(d) = self.description {
            after.description = optional_text(errors, "description", d, COMMENT_MAX);
        }
        if let Some(state) = self.state {
            current.kind.lifecycle().check(&current.state, state)?;
            after.state = state.to_owned();
        }
        Ok(())
    }
}

/// Reads a record as a list shows it in the transaction that wrote it, then commits.
pub(crate) async fn commit_with_view(
    mut tx: itsm_storage::Tx,
    id: itsm_domain::RecordId,
) -> Result<RecordView> {
    let view = records::get(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("record {id}")))?;
    tx.commit().await?;
    Ok(view)
}

/// Which organizations' records a list may show.
async fn visible_organizations(
    app: &App,
    c: &mut AnyConnection,
    ctx: &Ctx,
    kind: RecordKind,
) -> Result<Option<Vec<itsm_domain::OrganizationId>>> {
    Ok(match ctx.scope() {
        Scope::All => None,
        Scope::Organization(org) => {
            let mut orgs = vec![org];
            if kind.published_to_customers() {
                orgs.push(app.provider_id(c).await?);
            }
            Some(orgs)
        }
    })
}

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

    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn comments(&self, ctx: &Ctx, kind: RecordKind, reference: &str) -> Result<Vec<Comment>> {
        ctx.require(Permission::ReadRecords)?;
        let mut c = self.store().read().await?;
        let view = resolve(self, &mut c, ctx, kind, reference).await?;
        Ok(comments::list(
            &mut c,
            view.record.id,
            ctx.can(Permission::ReadInternalNotes),
            1000,
        )
        .await?)
    }

    /// Adds a public reply or an internal note. A first public reply by staff counts as the first
    /// response where the kind keeps one.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn add_comment(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        body: &str,
        internal: bool,
    ) -> Result<Comment> {
        ctx.require(if internal {
            Permission::CommentInternal
        } else {
            Permission::CommentPublic
        })?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let record = resolve_to_contribute(self, &mut tx, ctx, kind, reference)
            .await?
            .record;
        let mut errors = ValidationError::new();
        let body = required_text(&mut errors, "body", body, COMMENT_MAX);
        errors.into_result()?;
        let id = comments::insert(&mut tx, record.id, ctx.user_id(), internal, &body, now).await?;
        write_event(
            &mut tx,
            ctx,
            Subject::Record(record.id),
            "commented",
            now,
            if internal { INTERNAL_NOTE } else { PUBLIC_REPLY }.into(),
            &[],
        )
        .await?;
        for hook in crate::hooks::serving([record.kind]) {
            hook.commented(self, &mut tx, ctx, &record, internal, now).await?;
        }
        tx.commit().await?;
        Ok(Comment {
            id,
            record_id: record.id,
            author_id: ctx.user_id(),
            author_name: None,
            internal,
            body,
            created_at: now,
        })
    }

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
        let source = resolve_to_contribute(self, &mut tx, ctx, kind, reference)
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
        let record = resolve_to_contribute(self, &mut tx, ctx, kind, reference)
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

    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn attachments(&self, ctx: &Ctx, kind: RecordKind, reference: &str) -> Result<Vec<Attachment>> {
        ctx.require(Permission::ReadRecords)?;
        let mut c = self.store().read().await?;
        let view = resolve(self, &mut c, ctx, kind, reference).await?;
        Ok(attachments::list(&mut c, view.record.id).await?)
    }

    /// Stores a file on a record after checking its name, size and content type.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn add_attachment(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        filename: &str,
        content_type: &str,
        content: &[u8],
    ) -> Result<Attachment> {
        ctx.require(Permission::Attach)?;
        // Records are never deleted, so the one resolved here is still there when written to.
        let record = {
            let mut c = self.store().read().await?;
            resolve_to_contribute(self, &mut c, ctx, kind, reference)
                .await?
                .record
        };
        let mut errors = ValidationError::new();
        // Keep only the last path component: a name is never a path on our side.
        let name = filename.rsplit(['/', '\\']).next().unwrap_or("").trim();
        if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
            errors.add("filename", "must be a file name of 1 to 255 characters");
        }
        let ctype = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match ALLOWED_TYPES.iter().find(|(t, _)| *t == ctype) {
            None => errors.add("content_type", format!("`{ctype}` is not accepted")),
            Some((_, Some(magic))) if !content.starts_with(magic) => {
                errors.add("content_type", format!("the file's content is not {ctype}"))
            }
            Some(_) => {}
        }
        if content.is_empty() {
            errors.add("file", "is empty");
        }
        if content.len() > self.settings().max_attachment_bytes {
            errors.add(
                "file",
                format!("is larger than {} bytes", self.settings().max_attachment_bytes),
            );
        }
        errors.into_result()?;
        let sha = hex::encode(Sha256::digest(content));
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let a = attachments::insert(
            &mut tx,
            &NewAttachment {
                record_id: record.id,
                filename: name,
                content_type: &ctype,
                sha256: &sha,
                content,
            },
            ctx.user_id(),
            now,
        )
        .await?;
        write_event(
            &mut tx,
            ctx,
            Subject::Record(record.id),
            "attached",
            now,
            format!("{name} ({} bytes)", content.len()),
            &[],
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// An attachment's metadata and content, if its record is visible to the caller.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn attachment(&self, ctx: &Ctx, id: i64) -> Result<(Attachment, Vec<u8>)> {
        ctx.require(Permission::ReadRecords)?;
        let mut c = self.store().read().await?;
        let not_found = || AppError::NotFound(format!("attachment {id}"));
        let (a, content) = attachments::get(&mut c, id).await?.ok_or_else(not_found)?;
        let record = records::get(&mut c, a.record_id)
            .await?
            .ok_or_else(not_found)?
            .record;
        let provider = self.provider_id(&mut c).await?;
        if !ctx.can_see(record.kind, record.organization_id, provider) {
            return Err(not_found());
        }
        Ok((a, content))
    }

    /// Creates a service, a service offering (of the service `service_id`, which only offerings
    /// have) or a configuration item: a plain record for now, until the catalogue and the CMDB give
    /// them their own fields.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
    pub async fn create_catalogue_item(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        name: &str,
        description: &str,
        service_id: Option<RecordId>,
    ) -> Result<RecordView> {
        ctx.require(Permission::ManageCatalogue)?;
        if !kind.is_catalogue_item() {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationError::new();
        let title = required_text(&mut errors, "name", name, 200);
        let description = optional_text(&mut errors, "description", description, 20_000);
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let offering = kind == RecordKind::SERVICE_OFFERING;
        match service_id {
            None if offering => errors.add("service_id", "an offering belongs to a service"),
            Some(s) if offering => match records::get(&mut tx, s).await? {
                Some(v) if v.record.kind == RecordKind::SERVICE => {}
                _ => errors.add("service_id", format!("no service {s}")),
            },
            Some(_) => errors.add("service_id", "only a service offering belongs to a service"),
            None => {}
        }
        errors.into_result()?;
        let provider = self.provider_id(&mut tx).await?;
        let fields = RecordFields {
            organization_id: Some(provider),
            title,
            description,
            state: kind.lifecycle().initial.to_owned(),
            service_id,
            ..Default::default()
        };
        let record = self.create_record(&mut tx, ctx, kind, &fields, now).await?;
        commit_with_view(tx, record.id).await
    }
}

/// A change to a service or configuration item; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct CatalogueChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub state: Option<String>,
    /// Services only: the business calendar their targets run on unless a target names its own
    /// (`Some(None)` clears it).
    pub calendar_id: Option<Option<itsm_domain::RecordId>>,
}

/// The `details` key of a service's calendar.
pub const SERVICE_CALENDAR: &str = "calendar_id";

impl App {
    /// Changes a service or a configuration item that is still at `expected_version`. A service's
    /// calendar change replays the open SLA clocks.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn update_catalogue_item(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        expected_version: Option<i64>,
        change: CatalogueChange,
    ) -> Result<RecordView> {
        ctx.require(Permission::ManageCatalogue)?;
        if !kind.is_catalogue_item() {
            return Err(AppError::Forbidden);
        }
        // A service's calendar moves SLA figures: the same permission as changing a calendar.
        if change.calendar_id.is_some() {
            ctx.require(Permission::ManageServiceLevels)?;
        }
        let expected_version = expected_version.ok_or(AppError::VersionRequired)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let current = current_for_change(self, &mut tx, ctx, kind, reference, expected_version).await?;
        let mut errors = ValidationError::new();
        let mut after = current.fields();
        CommonChange {
            title_field: "name",
            title: change.name.as_deref(),
            description: change.description.as_deref(),
            state: change.state.as_deref(),
        }
        .apply(&current, &mut after, &mut errors)?;
        let calendar_changed = match change.calendar_id {
            Some(_) if kind != RecordKind::SERVICE => {
                errors.add("calendar_id", "only services have a calendar");
                false
            }
            Some(Some(cal)) => {
                match records::get(&mut tx, cal).await? {
                    Some(v) if v.record.kind == RecordKind::CALENDAR => {}
                    _ => errors.add("calendar_id", format!("no calendar {cal}")),
                }
                after.details.insert(SERVICE_CALENDAR.into(), cal.0.into());
                current.detail_i64(SERVICE_CALENDAR) != Some(cal.0)
            }
            Some(None) => after.details.remove(SERVICE_CALENDAR).is_some(),
            None => false,
        };
        errors.into_result()?;
        self.change_record(&mut tx, ctx, &current, &after, now).await?;
        if calendar_changed {
            self.recompute_in(&mut tx, None, now).await?;
        }
        commit_with_view(tx, current.id).await
    }

    /// Imports records in one transaction through the same audited write path as every other
    /// creation, each at its own instant. For administrators: imports and benchmark loads.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
    pub async fn import_records(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        records: &[(RecordFields, jiff::Timestamp)],
    ) -> Result<usize> {
        if !ctx.can(Permission::ManageUsers) || !ctx.can(Permission::ManageCatalogue) {
            return Err(AppError::Forbidden);
        }
        let mut creations = Vec::with_capacity(records.len());
        for (fields, at) in records {
            if !kind.lifecycle().is_state(&fields.state) {
                return Err(ValidationError::field(
                    "state",
                    format!("`{}` is not a state of {}", fields.state, kind.as_str()),
                )
                .into());
            }
            creations.push(Creation {
                ctx,
                kind,
                fields,
                at: *at,
            });
        }
        let mut tx = self.store().begin().await?;
        self.create_records(&mut tx, &creations).await?;
        // A bulk import is indexed for search with it, rather than by the server's next pass
        // (there may be no server running).
        itsm_storage::search::index_pending_search(&mut tx).await?;
        tx.commit().await?;
        Ok(records.len())
    }
}

/// A record to create: by whom, of what kind, with which fields, at which instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Creation<'a> {
    pub ctx: &'a Ctx,
    pub kind: RecordKind,
    pub fields: &'a RecordFields,
    pub at: jiff::Timestamp,
}

/// A change to write: by whom, the record as read, its new fields, at which instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Change<'a> {
    pub ctx: &'a Ctx,
    pub before: &'a Record,
    pub after: &'a RecordFields,
    pub at: jiff::Timestamp,
}

/// The actions of events about a link; each carries a [`LINK_FIELD`] change naming the other record.
const LINK_ACTIONS: [&str; 2] = ["linked", "unlinked"];

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
fn linked_record(e: &Event) -> Option<RecordId> {
    let change = e.changes.iter().find(|c| c.field == LINK_FIELD)?;
    let value = if change.new.is_null() {
        &change.old
    } else {
        &change.new
    };
    value.get("record_id")?.as_i64().map(RecordId)
}

/// The summary of a comment event that is an internal note; such events are hidden from customers.
pub const INTERNAL_NOTE: &str = "internal note";
pub const PUBLIC_REPLY: &str = "public reply";

pub(crate) async fn write_event(
    c: &mut AnyConnection,
    ctx: &Ctx,
    subject: Subject,
    action: &str,
    now: jiff::Timestamp,
    summary: String,
    changes: &[itsm_domain::FieldChange],
) -> Result<i64> {
    Ok(audit::write(
        c,
        &NewEvent {
            subject,
            action,
            actor: ctx.user_id(),
            at: now,
            request_id: ctx.request_id.as_deref(),
            summary,
            changes,
        },
    )
    .await?)
}

impl App {
    /// The one way a record is created: insert, audit every field, record the initial state, and
    /// let the hooks of its kind act (see [`crate::hooks`]: its SLA clocks start, for one).
    pub(crate) async fn create_record(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        kind: RecordKind,
        fields: &RecordFields,
        now: jiff::Timestamp,
    ) -> Result<Record> {
        let creation = Creation {
            ctx,
            kind,
            fields,
            at: now,
        };
        self.create_records(c, &[creation])
            .await?
            .pop()
            .ok_or_else(|| AppError::NotFound("record".into()))
    }

    /// Creates records the way [`App::create_record`] does, with a fixed number of statements
    /// whatever their number (imports, and creations gathered by [`App::create_gathered`]).
    /// Answers the records in the order given.
    pub(crate) async fn create_records(
        &self,
        c: &mut AnyConnection,
        creations: &[Creation<'_>],
    ) -> Result<Vec<Record>> {
        Ok(self.create_records_and_clocks(c, creations).await?.0)
    }

    /// [`App::create_records`], also answering the queue clock of each record that has clocks.
    /// Ids (and the one value a hook asks to read with them) are read in one round trip; the hooks
    /// then prepare what they write with the records; records, audit events, their changes, the
    /// state transitions and the hooks' rows are written together (one statement on PostgreSQL).
    pub(crate) async fn create_records_and_clocks(
        &self,
        c: &mut AnyConnection,
        creations: &[Creation<'_>],
    ) -> Result<(Vec<Record>, HashMap<RecordId, QueueClock>)> {
        let n = creations.len();
        let hooks = crate::hooks::serving(creations.iter().map(|x| x.kind));
        let asked = hooks.iter().find_map(|h| h.read_with_ids());
        let (record_ids, event_ids, read) = records::reserve_for_creations(c, n, asked).await?;
        let new: Vec<records::NewRecord> = creations
            .iter()
            .map(|n| records::NewRecord {
                kind: n.kind,
                fields: n.fields,
                actor: n.ctx.user_id(),
                at: n.at,
            })
            .collect();
        let mut prepared = records::prepare_many(c, &new, record_ids).await?;
        let mut hook_rows = itsm_storage::batch::Inserts::default();
        let mut queue = HashMap::new();
        for hook in &hooks {
            let mut creating = crate::hooks::Creating {
                records: &mut prepared,
                inserts: &mut hook_rows,
                read: read.filter(|_| hook.read_with_ids() == asked && asked.is_some()),
                queue: &mut queue,
            };
            hook.creating(self, c, &mut creating).await?;
        }
        let changes: Vec<Vec<itsm_domain::FieldChange>> = creations
            .iter()
            .map(|n| diff_fields(&FieldMap::new(), &n.fields.audit_map()))
            .collect();
        let events: Vec<NewEvent> = creations
            .iter()
            .zip(prepared.records())
            .zip(&changes)
            .map(|((n, record), changes)| NewEvent {
                subject: Subject::Record(record.id),
                action: "created",
                actor: n.ctx.user_id(),
                at: n.at,
                request_id: n.ctx.request_id.as_deref(),
                summary: String::new(),
                changes,
            })
            .collect();
        let transitions: Vec<NewTransition> = creations
            .iter()
            .zip(prepared.records())
            .zip(&event_ids)
            .map(|((n, record), event_id)| NewTransition {
                record: record.id,
                kind: n.kind,
                from: None,
                to: &n.fields.state,
                reason: n.fields.state_reason(),
                at: n.at,
                actor: n.ctx.user_id(),
                event_id: *event_id,
            })
            .collect();
        let mut inserts = itsm_storage::batch::Inserts::default();
        let added = prepared.add_to(&mut inserts);
        audit::add_events(&mut inserts, &events, &event_ids);
        audit::add_transitions(&mut inserts, &transitions);
        // What the hooks add is written after the records, in the same statement on PostgreSQL.
        inserts.append(hook_rows);
        let returned = inserts.run(c).await?;
        let created = added.numbered(&returned)?;
        for hook in &hooks {
            hook.created(self, c, &created).await?;
        }
        Ok((created, queue))
    }

    /// The one way a record is changed: write under its version, audit the changed fields, record a
    /// state transition when the state moved, and let the hooks of its kind act. Returns the new
    /// version; a no-op change writes nothing.
    pub(crate) async fn change_record(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        before: &Record,
        after: &RecordFields,
        now: jiff::Timestamp,
    ) -> Result<i64> {
        let change = Change {
            ctx,
            before,
            after,
            at: now,
        };
        self.change_records(c, &[change])
            .await?
            .pop()
            .ok_or_else(|| AppError::NotFound("record".into()))
    }

    /// Changes records the way [`App::change_record`] does, with a fixed number of statements
    /// whatever their number; each record at most once. Returns the new versions in the order given.
    pub(crate) async fn change_records(
        &self,
        c: &mut AnyConnection,
        changes: &[Change<'_>],
    ) -> Result<Vec<i64>> {
        let diffs: Vec<Vec<itsm_domain::FieldChange>> = changes
            .iter()
            .map(|ch| diff_fields(&ch.before.fields().audit_map(), &ch.after.audit_map()))
            .collect();
        let written: Vec<(&Change, &Vec<itsm_domain::FieldChange>)> = changes
            .iter()
            .zip(&diffs)
            .filter(|(_, d)| !d.is_empty())
            .collect();
        let updates: Vec<records::RecordUpdate> = written
            .iter()
            .map(|(ch, _)| records::RecordUpdate {
                id: ch.before.id,
                expected_version: ch.before.version,
                fields: ch.after,
                at: ch.at,
            })
            .collect();
        records::update_many(c, &updates).await?;
        let events: Vec<NewEvent> = written
            .iter()
            .map(|(ch, diff)| NewEvent {
                subject: Subject::Record(ch.before.id),
                action: "updated",
                actor: ch.ctx.user_id(),
                at: ch.at,
                request_id: ch.ctx.request_id.as_deref(),
                summary: String::new(),
                changes: diff,
            })
            .collect();
        let event_ids = audit::write_many(c, &events).await?;
        let transitions: Vec<NewTransition> = written
            .iter()
            .zip(&event_ids)
            .filter(|((ch, _), _)| ch.after.state != ch.before.state)
            .map(|((ch, _), event_id)| NewTransition {
                record: ch.before.id,
                kind: ch.before.kind,
                from: Some(&ch.before.state),
                to: &ch.after.state,
                reason: ch.after.state_reason(),
                at: ch.at,
                actor: ch.ctx.user_id(),
                event_id: *event_id,
            })
            .collect();
        audit::write_transitions(c, &transitions).await?;
        let hooks = crate::hooks::serving(written.iter().map(|(ch, _)| ch.before.kind));
        if !hooks.is_empty() {
            // The records as they now are, for the hooks of the kinds they serve.
            let now: Vec<(Record, jiff::Timestamp)> = written
                .iter()
                .map(|(ch, _)| {
                    let mut record = ch.before.clone();
                    record.apply(ch.after, ch.before.version + 1, ch.at);
                    (record, ch.at)
                })
                .collect();
            for hook in hooks {
                let mine: Vec<(&Record, jiff::Timestamp)> = now
                    .iter()
                    .filter(|(r, _)| hook.serves(r.kind))
                    .map(|(r, at)| (r, *at))
                    .collect();
                if !mine.is_empty() {
                    hook.changed(self, c, &mine).await?;
                }
            }
        }
        Ok(changes
            .iter()
            .zip(&diffs)
            .map(|(ch, d)| ch.before.version + i64::from(!d.is_empty()))
            .collect())
    }
}
