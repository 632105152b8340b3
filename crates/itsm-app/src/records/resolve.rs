//! Finding the record a use case is about, within what the caller may see, and the changes every
//! kind shares (title, description, state).

use itsm_domain::access::Scope;
use itsm_domain::lifecycle::Addition;
use itsm_domain::number::RecordRef;
use itsm_domain::validation::{optional_text, required_text};

use itsm_domain::{Record, RecordFields, RecordKind, ValidationError};
use itsm_storage::records::{self, RecordView};
use itsm_storage::AnyConnection;

use crate::{App, AppError, Ctx, Result};

/// The longest description of a record kept by the shared change.
const DESCRIPTION_MAX: usize = 20_000;

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

/// Reads a record the caller wants to add `what` to, as [`resolve_to_contribute`] does, then
/// refuses with 409 when its life has ended and its lifecycle takes no more of it (a closed
/// incident takes no more comments).
pub(crate) async fn resolve_to_add(
    app: &App,
    c: &mut AnyConnection,
    ctx: &Ctx,
    kind: RecordKind,
    reference: &str,
    what: Addition,
) -> Result<RecordView> {
    let view = resolve_to_contribute(app, c, ctx, kind, reference).await?;
    let r = &view.record;
    if kind.lifecycle().accepts(&r.state, what) {
        return Ok(view);
    }
    let state = kind
        .lifecycle()
        .state(&r.state)
        .map_or(r.state.as_str(), |s| s.label)
        .to_lowercase();
    Err(AppError::Conflict(format!(
        "{} is {state} and takes no more {}",
        r.readable_number(),
        what.plural()
    )))
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

/// A change about to be written: its transaction, the record as it is, and the instant.
pub(crate) struct Changing {
    pub tx: itsm_storage::Tx,
    pub current: Record,
    pub now: jiff::Timestamp,
}

impl App {
    /// How every change of every kind begins: the permission the kind's declaration names for
    /// changing it (or a role its lifecycle lets take a move), the version the change is based on (428 without one), a write transaction,
    /// and the record within the caller's scope at that version (412 otherwise). No row lock is
    /// needed: the versioned update refuses the write if anyone changed the record since this
    /// read, so the check here only answers early.
    pub(crate) async fn begin_change(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        expected_version: Option<i64>,
    ) -> Result<Changing> {
        if !ctx.may_write_on(kind) {
            return Err(AppError::Forbidden);
        }
        let expected_version = expected_version.ok_or(AppError::VersionRequired)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let current = current_for_change(self, &mut tx, ctx, kind, reference, expected_version).await?;
        // Those who only take moves (a customer confirming a resolution) do so on records they
        // may add to.
        if !ctx.can_contribute(kind, current.organization_id) {
            return Err(AppError::Forbidden);
        }
        Ok(Changing { tx, current, now })
    }
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
            after.description = optional_text(errors, "description", d, DESCRIPTION_MAX);
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
pub(super) async fn visible_organizations(
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
