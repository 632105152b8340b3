//! Service level management use cases: business calendars and their what-if answers, agreements and
//! their targets, the SLA clocks of every measured record (replayed from its history whenever it or
//! the agreements change), and the background job that records warnings and breaches once.

mod hooks;

pub(crate) use hooks::{ClockHook, ConfigurationHook, FirstResponseHook, ServiceCalendarHook};

mod agreements;
mod calendars;
mod clock;
mod jobs;
mod reports;

pub use agreements::*;
pub use calendars::*;
pub use clock::*;
pub use jobs::*;
pub use reports::*;
