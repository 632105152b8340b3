//! Reports of ended clocks: attainment grouped by agreement, service, customer, priority or month,
//! and the breaches behind it.

use itsm_domain::access::Permission;
use itsm_domain::ValidationError;
use itsm_storage::sla::{self as store};

use crate::{App, Ctx, Result};

/// What the attainment report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportBy {
    Agreement,
    Service,
    Customer,
    Priority,
    Month,
}

impl ReportBy {
    pub const ALL: [ReportBy; 5] = [
        ReportBy::Agreement,
        ReportBy::Service,
        ReportBy::Customer,
        ReportBy::Priority,
        ReportBy::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportBy::Agreement => "agreement",
            ReportBy::Service => "service",
            ReportBy::Customer => "customer",
            ReportBy::Priority => "priority",
            ReportBy::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<ReportBy> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// One group of the attainment report.
#[derive(Debug, Clone, PartialEq)]
pub struct Attainment {
    pub key: Option<i64>,
    pub label: String,
    pub met: i64,
    pub breached: i64,
}

impl Attainment {
    /// Met targets in percent of those that ended; `None` when none did.
    pub fn percent(&self) -> Option<f64> {
        let total = self.met + self.breached;
        (total > 0).then(|| (self.met as f64 * 1000.0 / total as f64).round() / 10.0)
    }
}

/// The longest period a report covers, so no report scans without bound.
const MAX_REPORT_DAYS: i32 = 3 * 366;

/// The first instant of a day, in UTC.
fn day_start(field: &str, d: jiff::civil::Date) -> Result<jiff::Timestamp> {
    Ok(d.to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| ValidationError::field(field, e.to_string()))?
        .timestamp())
}

fn report_period(
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<(jiff::Timestamp, jiff::Timestamp)> {
    if to < from {
        return Err(ValidationError::field("to", "is before from").into());
    }
    if (to - from).get_days() > MAX_REPORT_DAYS {
        return Err(
            ValidationError::field("to", format!("a report covers at most {MAX_REPORT_DAYS} days")).into(),
        );
    }
    let after = to
        .tomorrow()
        .map_err(|e| ValidationError::field("to", e.to_string()))?;
    Ok((day_start("from", from)?, day_start("to", after)?))
}

impl App {
    /// Met and missed targets from `from` to `to` (whole UTC days, both included), grouped. Customers
    /// see only their own records' figures under the agreements they are party to.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sla_attainment(
        &self,
        ctx: &Ctx,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        by: ReportBy,
    ) -> Result<Vec<Attainment>> {
        ctx.require(Permission::ReadRecords)?;
        let (start, end) = report_period(from, to)?;
        let org = (!ctx.is_staff())
            .then(|| ctx.actor().map(|a| a.organization_id))
            .flatten();
        let mut c = self.store().read().await?;
        let to_row = |r: store::AttainmentRow| Attainment {
            key: r.key,
            label: r.label,
            met: r.met,
            breached: r.breached,
        };
        let dimension = match by {
            ReportBy::Agreement => store::Dimension::Agreement,
            ReportBy::Service => store::Dimension::Service,
            ReportBy::Customer => store::Dimension::Customer,
            ReportBy::Priority => store::Dimension::Priority,
            ReportBy::Month => {
                let mut out = Vec::new();
                let mut month = from.first_of_month();
                while month <= to {
                    let next = month
                        .last_of_month()
                        .tomorrow()
                        .map_err(|e| ValidationError::field("to", e.to_string()))?;
                    let a = day_start("from", month.max(from))?;
                    let b = if next > to { end } else { day_start("to", next)? };
                    let rows = store::attainment(&mut c, a, b, store::Dimension::Total, org).await?;
                    out.push(Attainment {
                        key: Some(i64::from(month.year()) * 100 + i64::from(month.month())),
                        label: month.strftime("%Y-%m").to_string(),
                        met: rows.first().map_or(0, |r| r.met),
                        breached: rows.first().map_or(0, |r| r.breached),
                    });
                    month = next;
                }
                return Ok(out);
            }
        };
        Ok(store::attainment(&mut c, start, end, dimension, org)
            .await?
            .into_iter()
            .map(to_row)
            .collect())
    }

    /// Missed targets from `from` to `to`, latest first, with their records; for customers as in
    /// [`App::sla_attainment`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sla_breaches(
        &self,
        ctx: &Ctx,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        limit: u32,
    ) -> Result<Vec<store::Breach>> {
        ctx.require(Permission::ReadRecords)?;
        let (start, end) = report_period(from, to)?;
        let org = (!ctx.is_staff())
            .then(|| ctx.actor().map(|a| a.organization_id))
            .flatten();
        let mut c = self.store().read().await?;
        Ok(store::breaches(&mut c, start, end, org, limit).await?)
    }
}
