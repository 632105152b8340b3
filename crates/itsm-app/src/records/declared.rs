//! Create and change for every kind whose writes are declared ([`Writes::Declared`]): what people
//! gave is checked against the kind's declaration (`itsm_domain::draft`), its references by the
//! one check every kind shares (`references.rs`), and it is written through the one pipeline, new
//! records by the group-commit writer. A kind declared this way needs no use case of its own.
//!
//! [`Writes::Declared`]: itsm_domain::kind::Writes::Declared

use itsm_domain::draft;
use itsm_domain::RecordKind;
use itsm_storage::records::RecordView;
use itsm_storage::references;
use serde_json::{Map, Value};

use super::references::{judge, verdict, wanted};
use super::resolve::{commit_with_view, Changing};
use crate::group_commit::Check;
use crate::{App, Ctx, Result};

/// What people give to create or change a record: the shared columns its kind uses, under the
/// names its declaration gives them, and its own fields, by name.
pub type RecordInput = Map<String, Value>;

impl App {
    /// Creates a record of `kind` from what people gave. Who may is settled before the input is
    /// read: the kind's create permission, then those of any guarded field it sets.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
    pub async fn create(&self, ctx: &Ctx, kind: RecordKind, input: &RecordInput) -> Result<RecordView> {
        ctx.require(kind.access().create)?;
        for p in draft::guards(kind, input) {
            ctx.require(p)?;
        }
        let provider = {
            let mut c = self.store().read().await?;
            self.provider_id(&mut c).await?
        };
        let fields = draft::new_record(kind, input, ctx.actor(), provider)?;
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
        ctx.require(kind.access().change)?;
        for p in draft::guards(kind, input) {
            ctx.require(p)?;
        }
        draft::check_change_shape(kind, input, ctx.actor())?;
        let Changing { mut tx, current, now } =
            self.begin_change(ctx, kind, reference, expected_version).await?;
        let after = draft::changed_record(&current, input, ctx.actor())?;
        if let Some(w) = wanted(kind, &after, Some(&current.fields())) {
            let found = references::look_up(&mut tx, &w.lookup).await?;
            judge(&after, &w, &found).into_result()?;
        }
        self.change_record(&mut tx, ctx, &current, &after, now).await?;
        commit_with_view(tx, current.id).await
    }
}
