//! Files attached to records: the types accepted, checked by their first bytes, and downloads.

use itsm_domain::access::Permission;

use itsm_domain::{RecordKind, ValidationError};
use itsm_storage::attachments::{self, Attachment, NewAttachment};
use itsm_storage::audit::Subject;
use itsm_storage::records::{self};
use sha2::{Digest, Sha256};

use super::pipeline::write_event;
use super::resolve::{resolve, resolve_to_add};
use crate::{App, AppError, Ctx, Result};
use itsm_domain::lifecycle::Addition;

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

impl App {
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
            resolve_to_add(self, &mut c, ctx, kind, reference, Addition::Attachment)
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
            format!(
                "{name} ({})",
                itsm_domain::attachment::size_label(content.len() as u64)
            ),
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
}
