//! Replies and internal notes on a record.

use itsm_domain::access::Permission;
use itsm_domain::validation::required_text;

use itsm_domain::{RecordKind, ValidationError};
use itsm_storage::audit::Subject;
use itsm_storage::comments::{self, Comment};

use super::pipeline::write_event;
use super::resolve::{resolve, resolve_to_add};
use crate::{App, Ctx, Result};
use itsm_domain::lifecycle::Addition;

pub const COMMENT_MAX: usize = 20_000;

impl App {
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
        may_comment(ctx, internal)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let record = resolve_to_add(self, &mut tx, ctx, kind, reference, Addition::Comment)
            .await?
            .record;
        let body = comment_body(body)?;
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
        // The comment answers as a list shows it: with its author's name.
        let author_name = match ctx.user_id() {
            Some(id) => itsm_storage::people::user(&mut tx, id)
                .await?
                .map(|u| u.display_name),
            None => None,
        };
        tx.commit().await?;
        Ok(Comment {
            id,
            record_id: record.id,
            author_id: ctx.user_id(),
            author_name,
            internal,
            body,
            created_at: now,
        })
    }
}

/// Whether the caller may write a reply (`internal`: a note).
pub(crate) fn may_comment(ctx: &Ctx, internal: bool) -> Result<()> {
    ctx.require(if internal {
        Permission::CommentInternal
    } else {
        Permission::CommentPublic
    })
}

/// A comment's text as kept: trimmed, required, of bounded length.
pub(crate) fn comment_body(body: &str) -> Result<String> {
    let mut errors = ValidationError::new();
    let body = required_text(&mut errors, "body", body, COMMENT_MAX);
    errors.into_result()?;
    Ok(body)
}

/// The summary of a comment event that is an internal note; such events are hidden from customers.
pub const INTERNAL_NOTE: &str = "internal note";

pub const PUBLIC_REPLY: &str = "public reply";
