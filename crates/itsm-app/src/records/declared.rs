//! Create and change for every kind whose writes are declared ([`Writes::Declared`]): what people
//! gave is checked against the kind's declaration and its rules (`itsm_domain::draft`), its
//! references by the one check every kind shares (`references.rs`), and it is written through the
//! one pipeline, new records by the group-commit writer. A kind declared this way needs no use
//! case of its own; an incident's typed use cases (`incidents.rs`) are these with its input.
//!
//! [`Writes::Declared`]: itsm_domain::kind::Writes::Declared

use itsm_domain::draft;
use itsm_domain::kind::{Owner, RuleContext};
use itsm_domain::{Record, RecordFields, RecordKind, Role};
use itsm_storage::records::RecordView;
use itsm_storage::{people, references, AnyConnection};
use serde_json::{Map, Value};

use super::references::{judge, verdict, wanted};
use super::resolve::{commit_with_view, Changing};
use crate::group_commit::Check;
use crate::{App, Ctx, Result};

/// What people give to create or change a record: the shared columns its kind uses, under the
/// names its declaration gives them, and its own fields, by name.
pub type RecordInput = Map<String, Value>;

impl App {
    /// What the kind's rules may read: the instant and the provider's settings.
    fn rule_context(&self, now: jiff::Timestamp) -> RuleContext<'_> {
        RuleContext {
            reopen_window: self.settings().reopen_window,
            ..RuleContext::new(now, &self.settings().priority_matrix)
        }
    }

    /// Creates a record of `kind` from what people gave. Who may is settled before the input is
    /// read: the kind's create permission, then those of any guarded field it sets.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
    pub async fn create(&self, ctx: &Ctx, kind: RecordKind, input: &RecordInput) -> Result<RecordView> {
        may_create(ctx, kind, input)?;
        // Most creations read nothing here: the provider is known once read, and only staff who
        // name a person but no organization make the person's organization to be read.
        let asks_organization = requester_without_organization(ctx, kind, input).is_some();
        let (provider, with_organization) = match self.known_provider() {
            Some(p) if !asks_organization => (p, None),
            _ => {
                let mut c = self.store().read().await?;
                (
                    self.provider_id(&mut c).await?,
                    organization_from_requester(&mut c, ctx, kind, input).await?,
                )
            }
        };
        let input = with_organization.as_ref().unwrap_or(input);
        let cx = self.rule_context(self.now());
        let fields = draft::new_record(kind, input, ctx.actor(), provider, &cx)?;
        let check = match wanted(kind, &fields, None) {
            // Read before joining the queue, or by the writer for the whole group: the store says
            // which is cheaper (`WriteShape`).
            Some(w) if self.store().write_shape().check_references_first => {
                let mut c = self.store().read().await?;
                let found = references::look_up(&mut c, &w.lookup).await?;
                Check::Done(verdict(&fields, &w, &found)?)
            }
            Some(w) => Check::Pending(w),
            None => Check::Done(None),
        };
        self.create_gathered(ctx, kind, fields, check).await
    }

    /// The fields of a new record of `kind` from what people gave, checked as [`App::create`]
    /// checks them (references included), inside the caller's transaction: for loaders that
    /// write many records at once through the pipeline.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
    pub(crate) async fn drafted_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        kind: RecordKind,
        input: &RecordInput,
        now: jiff::Timestamp,
    ) -> Result<RecordFields> {
        may_create(ctx, kind, input)?;
        let provider = self.provider_id(c).await?;
        let with_organization = organization_from_requester(c, ctx, kind, input).await?;
        let input = with_organization.as_ref().unwrap_or(input);
        let fields = draft::new_record(kind, input, ctx.actor(), provider, &self.rule_context(now))?;
        if let Some(w) = wanted(kind, &fields, None) {
            let found = references::look_up(c, &w.lookup).await?;
            judge(&fields, &w, &found).into_result()?;
        }
        Ok(fields)
    }

    /// Changes a record of `kind` that is still at `expected_version`: its fields, and its state
    /// as its lifecycle allows, with what the move requires.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn change(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        expected_version: Option<i64>,
        input: &RecordInput,
    ) -> Result<RecordView> {
        may_change(ctx, kind, input)?;
        draft::check_change_shape(kind, input, ctx.actor())?;
        let Changing { mut tx, current, now } =
            self.begin_change(ctx, kind, reference, expected_version).await?;
        self.change_in(&mut tx, ctx, &current, input, now).await?;
        commit_with_view(tx, current.id).await
    }

    /// The fields `current` is left with by a change people gave, checked as [`App::change`]
    /// checks them (references included), inside the caller's transaction.
    pub(crate) async fn changed_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        current: &Record,
        input: &RecordInput,
        now: jiff::Timestamp,
    ) -> Result<RecordFields> {
        may_change(ctx, current.kind, input)?;
        if !ctx.can_contribute(current.kind, current.organization_id) {
            return Err(crate::AppError::Forbidden);
        }
        let after = draft::changed_record(current, input, ctx.actor(), &self.rule_context(now))?;
        if let Some(w) = wanted(current.kind, &after, Some(&current.fields())) {
            let found = references::look_up(c, &w.lookup).await?;
            judge(&after, &w, &found).into_result()?;
        }
        Ok(after)
    }

    /// Changes a loaded record inside the caller's transaction at instant `now`; answers its new
    /// version.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn change_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        current: &Record,
        input: &RecordInput,
        now: jiff::Timestamp,
    ) -> Result<i64> {
        let after = self.changed_in(c, ctx, current, input, now).await?;
        self.change_record(c, ctx, current, &after, now).await
    }
}

/// Whether the caller may create a record of `kind` from `input`: the kind's create
/// permission, then those of the guarded fields it sets.
fn may_create(ctx: &Ctx, kind: RecordKind, input: &RecordInput) -> Result<()> {
    ctx.require(kind.access().create)?;
    may_set_guarded(ctx, kind, input)
}

/// Whether the caller may change records of `kind`, or at least take a move of its lifecycle
/// (`Transition::also_by`; what such a caller may send is checked with the shape), and set the
/// guarded fields `input` sets.
fn may_change(ctx: &Ctx, kind: RecordKind, input: &RecordInput) -> Result<()> {
    if !ctx.may_write_on(kind) {
        return Err(crate::AppError::Forbidden);
    }
    may_set_guarded(ctx, kind, input)
}

/// The permissions of the guarded fields `input` sets.
fn may_set_guarded(ctx: &Ctx, kind: RecordKind, input: &RecordInput) -> Result<()> {
    draft::guards(kind, input)
        .into_iter()
        .try_for_each(|p| ctx.require(p))
}

/// The person staff name on a customer's record without naming its organization, if so.
fn requester_without_organization(ctx: &Ctx, kind: RecordKind, input: &RecordInput) -> Option<i64> {
    let shared = kind.shared();
    let staff = !ctx.actor().is_some_and(|a| a.role == Role::Customer);
    if shared.owner != Owner::Customer || !staff || input.contains_key("organization_id") {
        return None;
    }
    input.get(shared.requester?).and_then(Value::as_i64)
}

/// A customer's record that staff raise for a person without naming the organization is for the
/// person's organization: the input with it, when it must be read (`None` otherwise). An unknown
/// person leaves it for the reference check to report.
async fn organization_from_requester(
    c: &mut AnyConnection,
    ctx: &Ctx,
    kind: RecordKind,
    input: &RecordInput,
) -> Result<Option<RecordInput>> {
    let Some(id) = requester_without_organization(ctx, kind, input) else {
        return Ok(None);
    };
    let organization = people::user(c, itsm_domain::UserId(id))
        .await?
        .map_or(0, |u| u.organization_id.0);
    let mut with = input.clone();
    with.insert("organization_id".into(), organization.into());
    Ok(Some(with))
}
