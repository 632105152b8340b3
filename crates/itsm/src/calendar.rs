//! `itsm calendar due|elapsed`: the what-if answers of a business calendar, for a calendar in the
//! database or one in a JSON file (the body `POST /api/v1/calendars` takes).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use itsm_app::service_levels::{due_on, elapsed_on};
use itsm_app::App;
use itsm_domain::calendar::{
    holidays_from_ics, BusinessCalendar, CalendarDefinition, WorkingHoursDefinition,
};
use serde::Deserialize;

use crate::error::CliError;

#[derive(Subcommand)]
pub enum CalendarCommand {
    /// Store a calendar from a JSON file (the body of `POST /api/v1/calendars`); prints its number.
    Add {
        file: PathBuf,
        /// Make it the calendar of targets that name none.
        #[arg(long)]
        default: bool,
    },
    /// Print when a target of N business minutes started at an instant is due.
    Due {
        #[command(flatten)]
        calendar: Which,
        /// The RFC 3339 instant the clock starts.
        #[arg(long)]
        start: jiff::Timestamp,
        /// The target, in business minutes.
        #[arg(long, allow_hyphen_values = true)]
        minutes: i64,
        /// A pause as FROM/TO (RFC 3339 instants); repeat for more.
        #[arg(long = "pause", value_parser = parse_pause)]
        pauses: Vec<(jiff::Timestamp, jiff::Timestamp)>,
    },
    /// Print the business minutes between two instants.
    Elapsed {
        #[command(flatten)]
        calendar: Which,
        #[arg(long)]
        from: jiff::Timestamp,
        #[arg(long)]
        to: jiff::Timestamp,
        /// A pause as FROM/TO (RFC 3339 instants); repeat for more.
        #[arg(long = "pause", value_parser = parse_pause)]
        pauses: Vec<(jiff::Timestamp, jiff::Timestamp)>,
    },
}

/// The calendar to ask: one in the database, or one in a JSON file.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct Which {
    /// A calendar in the database, by number (CAL-1) or id.
    #[arg(long)]
    calendar: Option<String>,
    /// A calendar in a JSON file, shaped like the body of `POST /api/v1/calendars`.
    #[arg(long)]
    file: Option<PathBuf>,
}

fn parse_pause(s: &str) -> Result<(jiff::Timestamp, jiff::Timestamp), CliError> {
    let (a, b) = s
        .split_once('/')
        .ok_or_else(|| CliError::Refused(format!("`{s}` is not FROM/TO")))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<jiff::Timestamp>()
            .map_err(|_| CliError::Refused(format!("`{v}` is not an RFC 3339 instant")))
    };
    Ok((parse(a)?, parse(b)?))
}

/// A calendar file: the API's create body, of which the definition is used.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    time_zone: String,
    working_hours: WorkingHoursDefinition,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    holidays_ics: Option<String>,
    #[serde(default)]
    is_default: bool,
}

fn read_file(path: &PathBuf) -> Result<(CalendarFile, CalendarDefinition), CliError> {
    let text =
        std::fs::read_to_string(path).map_err(CliError::io(format!("cannot read {}", path.display())))?;
    let mut f: CalendarFile = serde_json::from_str(&text).map_err(|e| CliError::in_file(path, e))?;
    let mut holidays = std::mem::take(&mut f.holidays);
    if let Some(ics) = f.holidays_ics.take() {
        holidays.extend(holidays_from_ics(&ics).map_err(|e| CliError::in_file(path, e))?);
    }
    let def = CalendarDefinition {
        time_zone: f.time_zone.clone(),
        working_hours: f.working_hours.clone(),
        holidays,
    };
    Ok((f, def))
}

fn from_file(path: &PathBuf) -> Result<BusinessCalendar, CliError> {
    let (_, def) = read_file(path)?;
    BusinessCalendar::new(&def).map_err(|e| CliError::in_file(path, e))
}

async fn resolve<F, Fut>(which: &Which, open: F) -> Result<BusinessCalendar, CliError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<App, CliError>>,
{
    match (&which.calendar, &which.file) {
        (_, Some(path)) => from_file(path),
        (Some(reference), None) => {
            let app = open().await?;
            let (_, cal) = app.calendar(&itsm_app::Ctx::system(), reference).await?;
            Ok(cal)
        }
        (None, None) => Err(CliError::Refused(
            "name a calendar with --calendar or --file".into(),
        )),
    }
}

pub async fn run<F, Fut>(cmd: CalendarCommand, open: F) -> Result<(), CliError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<App, CliError>>,
{
    match cmd {
        CalendarCommand::Add { file, default } => {
            let (f, definition) = read_file(&file)?;
            let app = open().await?;
            let name = f.name.unwrap_or_else(|| {
                file.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let v = app
                .create_calendar(
                    &itsm_app::Ctx::system().with_request_id("cli"),
                    itsm_app::service_levels::CalendarInput {
                        name,
                        description: f.description.unwrap_or_default(),
                        definition,
                        is_default: default || f.is_default,
                    },
                )
                .await?;
            println!("{}", v.record.readable_number());
        }
        CalendarCommand::Due {
            calendar,
            start,
            minutes,
            pauses,
        } => {
            let cal = resolve(&calendar, open).await?;
            let answer = due_on(&cal, start, minutes, &pauses)?;
            println!("{}", answer.due_local);
        }
        CalendarCommand::Elapsed {
            calendar,
            from,
            to,
            pauses,
        } => {
            let cal = resolve(&calendar, open).await?;
            let micros = elapsed_on(&cal, from, to, &pauses)?;
            let minutes = micros as f64 / 60_000_000.0;
            if micros % 60_000_000 == 0 {
                println!("{}", micros / 60_000_000);
            } else {
                println!("{minutes}");
            }
        }
    }
    Ok(())
}
