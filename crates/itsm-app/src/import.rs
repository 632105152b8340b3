//! Loading many records at once as they were at past instants, in one transaction: the demo data
//! (in the binary), and imports from another service desk. Every record is checked by its kind's
//! declaration and rules and its references, and written through the one pipeline (audit trail,
//! state transitions, hooks: its SLA clocks start) with the instant and the person given, as a
//! request would have written it then. What differs from a request is only that many writes
//! share a transaction and a few statements, and that the loader says when each happened.
//!
//! A loader drafts a record (`draft`, `changed`), which answers [`Checked`] fields: the only
//! fields the import writes, so nothing unchecked reaches the store.

use itsm_domain::{Record, RecordFields, RecordId, RecordKind, UserId};
use itsm_storage::audit::{NewEvent, Subject};
use itsm_storage::{comments, people, records, sla, Tx};

use crate::model::{AssignmentGroup, ClockRow, Organization, User};
use crate::records::{comment_body, may_comment, Change, Creation, RecordInput, INTERNAL_NOTE, PUBLIC_REPLY};
use crate::service_levels::{AgreementChange, AgreementInput, CalendarInput};
use crate::{App, AppError, Ctx, NewUserInput, Result};

/// Fields checked against their kind's declaration, rules and references by [`Import::draft`] or
/// [`Import::changed`]; nothing else makes them.
#[derive(Debug, Clone)]
pub struct Checked(RecordFields);

impl Checked {
    pub fn fields(&self) -> &RecordFields {
        &self.0
    }
}

/// A new record to write: by whom, its checked fields, when.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    pub ctx: &'a Ctx,
    pub kind: RecordKind,
    pub fields: &'a Checked,
    pub at: jiff::Timestamp,
}

/// A change to write: by whom, the record as it was, its checked new fields, when.
#[derive(Debug, Clone, Copy)]
pub struct RecordChange<'a> {
    pub ctx: &'a Ctx,
    pub before: &'a Record,
    pub after: &'a Checked,
    pub at: jiff::Timestamp,
}

/// A reply or internal note as it was written.
#[derive(Debug, Clone, Copy)]
pub struct ImportedComment<'a> {
    pub ctx: &'a Ctx,
    pub record: RecordId,
    pub internal: bool,
    pub body: &'a str,
    pub at: jiff::Timestamp,
}

/// An import under way: its transaction. Nothing is stored until [`Import::commit`].
pub struct Import<'a> {
    app: &'a App,
    tx: Tx,
}

impl App {
    /// Begins an import. Only the system imports (the command line); each write inside still
    /// checks the permissions of the person it is written as.
    pub async fn begin_import(&self, ctx: &Ctx) -> Result<Import<'_>> {
        if ctx.actor().is_some() {
            return Err(AppError::Forbidden);
        }
        Ok(Import {
            app: self,
            tx: self.store().begin().await?,
        })
    }
}

impl Import<'_> {
    /// Whether the database holds no one yet: a demo loads only into an empty one.
    pub async fn is_empty(&mut self) -> Result<bool> {
        Ok(!people::any_user(&mut self.tx).await?)
    }

    pub async fn organization(
        &mut self,
        ctx: &Ctx,
        name: &str,
        kind: &str,
        at: jiff::Timestamp,
    ) -> Result<Organization> {
        self.app
            .add_organization_in(&mut self.tx, ctx, name, kind, at)
            .await
    }

    /// A user with an already hashed password.
    pub async fn user(
        &mut self,
        ctx: &Ctx,
        input: &NewUserInput,
        password_hash: Option<&str>,
        at: jiff::Timestamp,
    ) -> Result<User> {
        self.app
            .add_user_in(&mut self.tx, ctx, input, password_hash, at)
            .await
    }

    pub async fn group(
        &mut self,
        ctx: &Ctx,
        name: &str,
        description: &str,
        members: &[UserId],
        at: jiff::Timestamp,
    ) -> Result<AssignmentGroup> {
        self.app
            .add_group_in(&mut self.tx, ctx, name, description, members, at)
            .await
    }

    /// The fields of a new record of a declared kind from what people gave, checked as a
    /// request's would be at `at`.
    pub async fn draft(
        &mut self,
        ctx: &Ctx,
        kind: RecordKind,
        input: &RecordInput,
        at: jiff::Timestamp,
    ) -> Result<Checked> {
        Ok(Checked(
            self.app.drafted_in(&mut self.tx, ctx, kind, input, at).await?,
        ))
    }

    /// A record's fields after a change people gave at `at`, checked as a request's would be.
    pub async fn changed(
        &mut self,
        ctx: &Ctx,
        current: &Record,
        input: &RecordInput,
        at: jiff::Timestamp,
    ) -> Result<Checked> {
        Ok(Checked(
            self.app.changed_in(&mut self.tx, ctx, current, input, at).await?,
        ))
    }

    /// Creates a record of a declared kind at `at`.
    pub async fn create(
        &mut self,
        ctx: &Ctx,
        kind: RecordKind,
        input: &RecordInput,
        at: jiff::Timestamp,
    ) -> Result<Record> {
        let fields = self.draft(ctx, kind, input, at).await?;
        let new = NewRecord {
            ctx,
            kind,
            fields: &fields,
            at,
        };
        self.create_many(&[new])
            .await?
            .pop()
            .ok_or_else(|| AppError::Internal("a creation answered no record".into()))
    }

    /// Creates records in a fixed number of statements; answers them in the order given.
    pub async fn create_many(&mut self, new: &[NewRecord<'_>]) -> Result<Vec<Record>> {
        let creations: Vec<Creation> = new
            .iter()
            .map(|n| Creation {
                ctx: n.ctx,
                kind: n.kind,
                fields: &n.fields.0,
                at: n.at,
            })
            .collect();
        self.app.create_records(&mut self.tx, &creations).await
    }

    /// Writes changes in a fixed number of statements; answers each record's new version.
    pub async fn change_many(&mut self, changes: &[RecordChange<'_>]) -> Result<Vec<i64>> {
        let changes: Vec<Change> = changes
            .iter()
            .map(|c| Change {
                ctx: c.ctx,
                before: c.before,
                after: &c.after.0,
                at: c.at,
            })
            .collect();
        self.app.change_records(&mut self.tx, &changes).await
    }

    /// Adds replies and notes as they were written, each with its event in the audit trail. They
    /// do not act as a live comment would (a first public reply is no first response here): an
    /// import brings what followed in its records' own fields and changes.
    pub async fn comment_many(&mut self, said: &[ImportedComment<'_>]) -> Result<()> {
        let mut new = Vec::with_capacity(said.len());
        for c in said {
            may_comment(c.ctx, c.internal)?;
            comment_body(c.body)?;
            new.push(comments::NewComment {
                record: c.record,
                author: c.ctx.user_id(),
                internal: c.internal,
                body: c.body,
                at: c.at,
            });
        }
        comments::insert_many(&mut self.tx, &new).await?;
        let events: Vec<NewEvent> = said
            .iter()
            .map(|c| NewEvent {
                subject: Subject::Record(c.record),
                action: "commented",
                actor: c.ctx.user_id(),
                at: c.at,
                request_id: None,
                summary: if c.internal { INTERNAL_NOTE } else { PUBLIC_REPLY }.into(),
                changes: &[],
            })
            .collect();
        itsm_storage::audit::write_many(&mut self.tx, &events).await?;
        Ok(())
    }

    /// The SLA clocks of some records, as stored.
    pub async fn clocks(&mut self, ids: &[RecordId]) -> Result<Vec<ClockRow>> {
        Ok(sla::clocks_of(&mut self.tx, ids).await?)
    }

    /// Records what the SLA job would have noticed by each record's instant: warnings and breaches.
    pub async fn notice_due(&mut self, due: &[(&Record, jiff::Timestamp)]) -> Result<()> {
        self.app.notice_due_each(&mut self.tx, due).await?;
        Ok(())
    }

    /// Records what the SLA job would have noticed of every record by `now`.
    pub async fn catch_up(&mut self, now: jiff::Timestamp) -> Result<()> {
        loop {
            let ids = sla::claim_due_notices(&mut self.tx, now, 500).await?;
            if ids.is_empty() {
                return Ok(());
            }
            let batch: Vec<Record> = records::get_many(&mut self.tx, &ids)
                .await?
                .into_iter()
                .map(|v| v.record)
                .collect();
            self.app.notice_due(&mut self.tx, &batch, now).await?;
        }
    }

    pub async fn calendar(
        &mut self,
        ctx: &Ctx,
        input: CalendarInput,
        at: jiff::Timestamp,
    ) -> Result<RecordId> {
        self.app.create_calendar_in(&mut self.tx, ctx, input, at).await
    }

    pub async fn agreement(
        &mut self,
        ctx: &Ctx,
        input: AgreementInput,
        at: jiff::Timestamp,
    ) -> Result<RecordId> {
        self.app.create_agreement_in(&mut self.tx, ctx, input, at).await
    }

    /// Changes an agreement as [`App::update_agreement`] does, at `at`.
    pub async fn change_agreement(
        &mut self,
        ctx: &Ctx,
        id: RecordId,
        change: AgreementChange,
        at: jiff::Timestamp,
    ) -> Result<()> {
        let current = records::get(&mut self.tx, id)
            .await?
            .filter(|v| v.record.kind == RecordKind::AGREEMENT)
            .ok_or_else(|| AppError::NotFound(format!("agreement {}", id.0)))?
            .record;
        self.app
            .update_agreement_in(&mut self.tx, ctx, &current, change, at)
            .await
    }

    /// Stores everything imported, and refreshes the planner's statistics for what follows.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        self.app.store().analyze().await?;
        Ok(())
    }
}
