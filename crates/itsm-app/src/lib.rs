//! The use cases of `itsm`: "log an incident", "resolve it", "add a note", "sign in". Each checks who
//! is asking, runs in one transaction, and writes its audit event in that same transaction. The web
//! layer and the CLI call these and nothing below them.

mod auth;
mod ctx;
mod directory;
mod error;
mod group_commit;
mod hooks;
pub mod import;
pub mod incidents;
mod maintenance;
pub mod records;
pub mod service_levels;
mod throttle;

use std::sync::{Arc, RwLock};

use itsm_domain::incident::PriorityMatrix;
use itsm_domain::OrganizationId;
use itsm_storage::Store;
pub use itsm_storage::{StorageError, Upkeep};

pub use auth::{hash_password, NewUserInput, Session, SignIn, TOKEN_PREFIX};
pub use ctx::{Ctx, Principal};
pub use error::AppError;
pub use group_commit::WriterStats;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// The read models the use cases return, so callers need not depend on the storage crate.
pub mod model {
    pub use itsm_storage::attachments::Attachment;
    pub use itsm_storage::audit::Event;
    pub use itsm_storage::comments::Comment;
    pub use itsm_storage::links::Link;
    pub use itsm_storage::people::{AssignmentGroup, Organization, User};
    pub use itsm_storage::records::{
        Cursor, Page, PageRequest, QueueClock, RecordFilter, RecordNames, RecordView, SortField, MAX_PAGE,
    };
    pub use itsm_storage::sla::{Breach, ClockRow, Notice, OutboxEvent};
}

/// Where "now" comes from. The server uses the system clock; tests and the demo loader set their own.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> jiff::Timestamp;
}

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// Settings the use cases need.
#[derive(Debug, Clone)]
pub struct Settings {
    pub priority_matrix: PriorityMatrix,
    /// How long after its resolution the person a record is for may still reopen it.
    pub reopen_window: jiff::SignedDuration,
    /// How long a browser session lasts.
    pub session_hours: i64,
    /// The largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    /// Failed sign-ins per user name allowed within `sign_in_window_secs`.
    pub max_failed_sign_ins: u32,
    /// Failed sign-ins per source address allowed within `sign_in_window_secs`: higher than per
    /// user name, since an office behind one address has many people.
    pub max_failed_sign_ins_per_source: u32,
    pub sign_in_window_secs: i64,
    /// Past a user name's limit, a source that has not failed may still try once per this many
    /// seconds, so that nobody can lock a user out by knowing their name.
    pub sign_in_slow_down_secs: i64,
}

impl Settings {
    pub(crate) fn sign_in_limits(&self) -> throttle::Limits {
        throttle::Limits {
            per_user: self.max_failed_sign_ins,
            per_source: self.max_failed_sign_ins_per_source,
            window_secs: self.sign_in_window_secs,
            slow_down_secs: self.sign_in_slow_down_secs,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            priority_matrix: PriorityMatrix::default(),
            reopen_window: itsm_domain::kind::DEFAULT_REOPEN_WINDOW,
            session_hours: 12,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_failed_sign_ins: 5,
            max_failed_sign_ins_per_source: 20,
            sign_in_window_secs: 900,
            sign_in_slow_down_secs: 5,
        }
    }
}

/// The application: storage, clock and settings. Cheap to clone; one per process.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Settings,
    provider: RwLock<Option<OrganizationId>>,
    throttle: throttle::Throttle,
    /// API tokens recently checked; see `auth::TokenCache`.
    tokens: auth::TokenCache,
    /// Agreements and calendars as SLA clocks use them; see `App::sla_config`.
    sla_config: RwLock<Option<Arc<service_levels::SlaConfig>>>,
    /// Creations waiting to be written together; see `group_commit`.
    creations: group_commit::CreationQueue,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> App {
        App {
            inner: Arc::new(Inner {
                store,
                clock,
                settings,
                provider: RwLock::new(None),
                throttle: throttle::Throttle::default(),
                tokens: auth::TokenCache::default(),
                sla_config: RwLock::new(None),
                creations: group_commit::CreationQueue::default(),
            }),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The current instant, at the microsecond precision storage keeps, so what a use case returns
    /// equals what a later read returns.
    pub fn now(&self) -> jiff::Timestamp {
        let t = self.inner.clock.now();
        jiff::Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
    }

    /// The provider organization, when it was read before.
    pub(crate) fn known_provider(&self) -> Option<OrganizationId> {
        self.inner.provider.read().ok().and_then(|g| *g)
    }

    /// Forgets the provider organization read inside a transaction that did not commit.
    pub(crate) fn forget_provider(&self) {
        if let Ok(mut guard) = self.inner.provider.write() {
            *guard = None;
        }
    }

    /// The provider organization's id. It never changes once created, so it is read once.
    pub(crate) async fn provider_id(&self, c: &mut itsm_storage::AnyConnection) -> Result<OrganizationId> {
        if let Ok(guard) = self.inner.provider.read() {
            if let Some(id) = *guard {
                return Ok(id);
            }
        }
        let org = itsm_storage::people::provider(c).await?.ok_or_else(|| {
            AppError::Setup("no provider organization exists yet; run `itsm demo` or `itsm user add`".into())
        })?;
        if let Ok(mut guard) = self.inner.provider.write() {
            *guard = Some(org.id);
        }
        Ok(org.id)
    }
}
