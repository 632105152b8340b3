//! What other concerns do when records are written. The write pipeline (`records.rs`) creates and
//! changes records of every kind alike and names no concern; a concern that acts on the writes of
//! some kinds is a hook here, serving the kinds whose declaration has its capability. A hook runs
//! in the writing transaction, so what it writes commits or rolls back with the record.
//!
//! A new concern (notifications, the configuration item graph, conformance evidence) is one more
//! [`RecordHook`] in [`HOOKS`], with the capability that picks its kinds.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use itsm_domain::{FieldChange, Record, RecordId, RecordKind};
use itsm_storage::batch::Inserts;
use itsm_storage::records::{PreparedRecords, QueueClock};
use itsm_storage::AnyConnection;

use crate::{App, Ctx, Result};

/// The future a hook answers: it borrows the connection and what it was given.
pub(crate) type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

fn done<'a>() -> HookFuture<'a> {
    Box::pin(std::future::ready(Ok(())))
}

/// New records about to be written: a hook may set columns of their rows and add rows of its own
/// to the same statements.
pub(crate) struct Creating<'w> {
    pub records: &'w mut PreparedRecords,
    pub inserts: &'w mut Inserts,
    /// What [`RecordHook::read_with_ids`] asked for, read in the round trip that reserved the ids.
    pub read: Option<i64>,
    /// The queue clock of each record that has clocks, for the caller's answer.
    pub queue: &'w mut HashMap<RecordId, QueueClock>,
}

/// A record that changed: as it now is, when, and the fields that changed.
pub(crate) struct Changed<'a> {
    pub record: &'a Record,
    pub at: jiff::Timestamp,
    pub fields: &'a [FieldChange],
}

impl Changed<'_> {
    /// Whether the field `name` is among those that changed.
    pub fn touched(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.field == name)
    }
}

/// A concern that takes part in record writes. Every method has a default that does nothing, so a
/// hook implements only the moments it acts at.
pub(crate) trait RecordHook: Sync {
    /// Whether writes of records of `kind` concern this hook (asked of the kind's capabilities).
    fn serves(&self, kind: RecordKind) -> bool;

    /// A single value (a query answering one number) to read with the ids of new records, saving
    /// a round trip on the path every creation takes.
    fn read_with_ids(&self) -> Option<&'static str> {
        None
    }

    /// Before new records are written, with the records' rows as they will be inserted.
    fn creating<'a>(
        &'a self,
        _app: &'a App,
        _c: &'a mut AnyConnection,
        _w: &'a mut Creating<'_>,
    ) -> HookFuture<'a> {
        done()
    }

    /// After new records are written.
    fn created<'a>(
        &'a self,
        _app: &'a App,
        _c: &'a mut AnyConnection,
        _records: &'a [Record],
    ) -> HookFuture<'a> {
        done()
    }

    /// After records changed: each as it now is, with the instant of its change and what changed.
    fn changed<'a>(
        &'a self,
        _app: &'a App,
        _c: &'a mut AnyConnection,
        _changed: &'a [Changed<'a>],
    ) -> HookFuture<'a> {
        done()
    }

    /// After someone commented on a record (staff or customer, public or internal).
    fn commented<'a>(
        &'a self,
        _app: &'a App,
        _c: &'a mut AnyConnection,
        _ctx: &'a Ctx,
        _record: &'a Record,
        _internal: bool,
        _at: jiff::Timestamp,
    ) -> HookFuture<'a> {
        done()
    }
}

/// Every hook, in the order they run.
pub(crate) static HOOKS: &[&dyn RecordHook] = &[
    &crate::service_levels::ClockHook,
    &crate::service_levels::ConfigurationHook,
    &crate::service_levels::ServiceCalendarHook,
    &crate::service_levels::FirstResponseHook,
];

/// The hooks that serve any of `kinds`.
pub(crate) fn serving(kinds: impl IntoIterator<Item = RecordKind> + Clone) -> Vec<&'static dyn RecordHook> {
    HOOKS
        .iter()
        .copied()
        .filter(|h| kinds.clone().into_iter().any(|k| h.serves(k)))
        .collect()
}
