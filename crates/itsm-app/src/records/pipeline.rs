//! The one way records are created and changed, for every kind: write, audit, state transitions,
//! then the hooks of the kinds written (see `crate::hooks`). Imports take the same path.

use itsm_domain::access::Permission;
use std::collections::HashMap;

use itsm_domain::{diff_fields, FieldMap, Record, RecordFields, RecordId, RecordKind, ValidationError};
use itsm_storage::audit::{self, NewEvent, NewTransition, Subject};
use itsm_storage::records::{self, QueueClock};
use itsm_storage::AnyConnection;

use crate::{App, AppError, Ctx, Result};

impl App {
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
                kind: ch.before.kind,
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
            let now: Vec<(Record, jiff::Timestamp, &[itsm_domain::FieldChange])> = written
                .iter()
                .filter(|(ch, _)| hooks.iter().any(|h| h.serves(ch.before.kind)))
                .map(|(ch, diff)| {
                    let mut record = ch.before.clone();
                    record.apply(ch.after, ch.before.version + 1, ch.at);
                    (record, ch.at, diff.as_slice())
                })
                .collect();
            for hook in &hooks {
                let mine: Vec<crate::hooks::Changed> = now
                    .iter()
                    .filter(|(r, _, _)| hook.serves(r.kind))
                    .map(|(record, at, fields)| crate::hooks::Changed {
                        record,
                        at: *at,
                        fields,
                    })
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
