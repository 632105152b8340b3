//! The `itsm` binary: serve the web UI and API, migrate, load demo data, manage users and tokens.
//! Every command calls the application layer in process; errors end as one line and a non-zero exit.

mod bench;
mod bench_db;
mod bench_sla;
mod calendar;
mod config;
mod demo;
mod error;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use itsm_app::{App, Ctx, NewUserInput, Settings, SystemClock};
use itsm_domain::incident::PriorityMatrix;
use itsm_domain::Role;

use crate::config::Config;
use crate::error::CliError;

#[derive(Parser)]
#[command(
    name = "itsm",
    version,
    about = "IT service management that proves ISO/IEC 20000-1 conformance from its own records"
)]
struct Cli {
    /// Configuration file (TOML); `itsm.toml` in the working folder is read when present.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the API.
    Serve {
        /// Load demo data into an empty database first, and print the demo sign-ins.
        #[arg(long)]
        demo: bool,
        /// Address to listen on, such as 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Bring the database schema up to date.
    Migrate,
    /// Load demo data into an empty database.
    Demo {
        /// How many incidents to generate.
        #[arg(long, default_value_t = crate::demo::DEFAULT_INCIDENTS)]
        incidents: usize,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load records into a scratch database and print performance figures.
    Bench {
        /// The empty database to use; default: a new SQLite file in the temporary folder.
        #[arg(long)]
        database_url: Option<String>,
        /// Records to load before measuring.
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        /// Concurrent API clients for the create benchmark.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Incidents to create through the API.
        #[arg(long, default_value_t = 16_000)]
        creates: usize,
        /// Incidents to create through the API first, not counted (the server's first seconds).
        #[arg(long, default_value_t = 1_600)]
        warmup: usize,
        /// Requests per read benchmark.
        #[arg(long, default_value_t = 200)]
        reads: usize,
    },
    /// Measure the SLA clock: due-time computations, and replaying every open clock of N records.
    BenchSla {
        /// The empty database to use; default: a new SQLite file in the temporary folder.
        #[arg(long)]
        database_url: Option<String>,
        /// Open incidents to load; 0 measures the calendar computations only.
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        /// Due and elapsed computations to time.
        #[arg(long, default_value_t = 200_000)]
        computations: usize,
    },
    /// Manage assignment groups.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Manage organizations.
    Organization {
        #[command(subcommand)]
        command: OrganizationCommand,
    },
    /// Ask a business calendar when a target is due, or how much business time has passed.
    Calendar {
        #[command(subcommand)]
        command: calendar::CalendarCommand,
    },
    /// SLA clocks: replay them, or run the warning and breach job once.
    Sla {
        #[command(subcommand)]
        command: SlaCommand,
    },
}

#[derive(Subcommand)]
enum SlaCommand {
    /// Replay the clocks of every open record (after an import, say).
    Recompute {
        /// Also replay records closed since this RFC 3339 instant.
        #[arg(long)]
        closed_since: Option<jiff::Timestamp>,
    },
    /// Record the warnings and breaches that fell due, once, as `serve` does periodically.
    RunJobs {
        #[arg(long, default_value_t = 500)]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input or a prompt.
    Add {
        name: String,
        /// administrator, agent, customer or auditor.
        #[arg(long)]
        role: String,
        /// The organization's name; staff default to the provider.
        #[arg(long)]
        organization: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Create the user without a password (API tokens only).
        #[arg(long)]
        no_password: bool,
    },
    /// Disable a user: sign-ins, sessions and tokens stop working.
    Disable { name: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it (and nothing else) on standard output.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Subcommand)]
enum GroupCommand {
    /// Create an assignment group.
    Add {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A member's user name; repeat for more.
        #[arg(long = "member")]
        members: Vec<String>,
    },
}

#[derive(Subcommand)]
enum OrganizationCommand {
    /// Create an organization.
    Add {
        name: String,
        /// provider, customer or supplier.
        #[arg(long, default_value = "customer")]
        kind: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            e.exit()
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            // One line: what is wrong, with what it names on the lines below it (the missing
            // arguments), and not the usage or tips. `--help` shows the usage.
            let text = e.render().to_string();
            let line = one_line_usage_error(&text);
            return fail(&format!("{line} (see itsm --help)"));
        }
    };
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(&error::one_line(&e.into())),
    };
    init_logging(&cfg);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match rt.block_on(run(cli.command, cfg)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&error::one_line(&e)),
    }
}

fn fail(msg: &str) -> std::process::ExitCode {
    eprintln!("itsm: {msg}");
    std::process::ExitCode::FAILURE
}

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // At debug, every use case and storage call (each a debug span) logs when it ends, with the
    // time it took; at info only requests and what happened are logged.
    let spans = if filter
        .max_level_hint()
        .is_some_and(|max| max >= tracing::level_filters::LevelFilter::DEBUG)
    {
        tracing_subscriber::fmt::format::FmtSpan::CLOSE
    } else {
        tracing_subscriber::fmt::format::FmtSpan::NONE
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(spans)
        // Colours only for a person at a terminal, never in a file or a log collector.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(cfg: &Config) -> Result<App, CliError> {
    let url = cfg.database_url()?;
    let mut settings = Settings {
        max_attachment_bytes: cfg.max_attachment_bytes,
        reopen_window: jiff::SignedDuration::from_hours(24 * i64::from(cfg.reopen_window_days)),
        ..Settings::default()
    };
    if let Some(cells) = cfg.priority_matrix {
        let m = PriorityMatrix { cells };
        m.validate()?;
        settings.priority_matrix = m;
    }
    let app = App::connect(&url, cfg.max_connections, Arc::new(SystemClock), settings)
        .await
        .map_err(CliError::Open)?;
    app.migrate().await.map_err(CliError::Migrate)?;
    Ok(app)
}

fn cli_ctx() -> Ctx {
    Ctx::system().with_request_id("cli")
}

async fn run(cmd: Command, cfg: Config) -> Result<(), CliError> {
    match cmd {
        Command::Migrate => {
            open(&cfg).await?;
            eprintln!("database is up to date");
            Ok(())
        }
        Command::Demo { incidents } => {
            let app = open(&cfg).await?;
            let logins = crate::demo::load(&app, incidents).await?;
            print_logins(&logins);
            Ok(())
        }
        Command::Serve { demo, listen } => {
            let listen = listen.unwrap_or(cfg.listen);
            let app = open(&cfg).await?;
            if demo {
                let empty = !app.has_users().await?;
                if empty {
                    eprintln!("loading demo data ...");
                    let logins = crate::demo::load(&app, crate::demo::DEFAULT_INCIDENTS).await?;
                    print_logins(&logins);
                } else {
                    eprintln!("the database already holds data; demo sign-ins (if it was loaded as demo) use password `{}`", crate::demo::DEMO_PASSWORD);
                }
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(CliError::io(format!("cannot listen on {listen}")))?;
            if cfg.sla_job_interval_secs > 0 {
                tokio::spawn(sla_job_loop(app.clone(), cfg.sla_job_interval_secs));
            }
            tokio::spawn(upkeep_loop(app.clone()));
            let routers = itsm_web::routers(app, cfg.web_settings()?);
            if let Some(addr) = cfg.metrics_listen {
                let metrics = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(CliError::io(format!("cannot listen on {addr} for metrics")))?;
                let router = routers.metrics.clone();
                tokio::spawn(async move { itsm_web::serve(metrics, router).await });
                eprintln!("metrics at http://{addr}/metrics");
            }
            eprintln!("itsm is ready at http://{listen}/ (API at http://{listen}/api/v1, OpenAPI at /api/v1/openapi.json)");
            axum_serve(listener, routers.main).await
        }
        Command::User { command } => {
            let app = open(&cfg).await?;
            match command {
                UserCommand::Add {
                    name,
                    role,
                    organization,
                    display_name,
                    email,
                    no_password,
                } => {
                    let role = Role::parse(&role).ok_or_else(|| {
                        CliError::Refused(format!(
                            "--role: `{role}` is not administrator, agent, customer or auditor"
                        ))
                    })?;
                    let password = if no_password { None } else { Some(read_password()?) };
                    let ctx = cli_ctx();
                    let input = NewUserInput {
                        username: name,
                        display_name,
                        email,
                        role,
                        organization,
                        password,
                    };
                    // A fresh installation has no provider organization; the first user brings
                    // one, so staff have somewhere to belong. Said only once both are stored.
                    let (u, provider) = app
                        .add_user_with_provider(&ctx, &input, Some("Service provider"))
                        .await?;
                    if let Some(org) = provider {
                        eprintln!("created the provider organization `{}`", org.name);
                    }
                    eprintln!("created user {} ({})", u.username, u.role.as_str());
                    Ok(())
                }
                UserCommand::Disable { name } => {
                    app.disable_user(&cli_ctx(), &name).await?;
                    eprintln!("disabled user {name}");
                    Ok(())
                }
            }
        }
        Command::Token {
            command: TokenCommand::Create { user, name },
        } => {
            let app = open(&cfg).await?;
            let token = app.create_token(&cli_ctx(), &user, &name).await?;
            println!("{token}");
            Ok(())
        }
        Command::Group {
            command:
                GroupCommand::Add {
                    name,
                    description,
                    members,
                },
        } => {
            let app = open(&cfg).await?;
            let g = app.add_group(&cli_ctx(), &name, &description, &members).await?;
            eprintln!(
                "created assignment group {} with {} members",
                g.name,
                members.len()
            );
            Ok(())
        }
        Command::Bench {
            database_url,
            records,
            clients,
            creates,
            warmup,
            reads,
        } => {
            let scratch = database_url.is_none().then(|| ScratchDatabase::new("itsm-bench"));
            let database_url = database_url
                .or_else(|| scratch.as_ref().map(ScratchDatabase::url))
                .unwrap_or_default();
            bench::run(bench::BenchOptions {
                database_url,
                records,
                clients,
                creates,
                warmup,
                reads,
            })
            .await
        }
        Command::BenchSla {
            database_url,
            records,
            computations,
        } => {
            let scratch = database_url
                .is_none()
                .then(|| ScratchDatabase::new("itsm-bench-sla"));
            let database_url = database_url
                .or_else(|| scratch.as_ref().map(ScratchDatabase::url))
                .unwrap_or_default();
            bench_sla::run(bench_sla::SlaBenchOptions {
                database_url,
                records,
                computations,
            })
            .await
        }
        Command::Calendar { command } => calendar::run(command, || open(&cfg)).await,
        Command::Sla { command } => {
            let app = open(&cfg).await?;
            match command {
                SlaCommand::Recompute { closed_since } => {
                    let done = app.recompute_clocks(&cli_ctx(), closed_since).await?;
                    eprintln!(
                        "replayed the SLA clocks of {} records; {} changed",
                        done.records, done.changed
                    );
                }
                SlaCommand::RunJobs { limit } => {
                    let r = app.run_sla_jobs(limit).await?;
                    eprintln!(
                        "looked at {} records: {} warnings, {} breaches recorded",
                        r.records, r.warnings, r.breaches
                    );
                }
            }
            Ok(())
        }
        Command::Organization {
            command: OrganizationCommand::Add { name, kind },
        } => {
            let app = open(&cfg).await?;
            let org = app.add_organization(&cli_ctx(), &name, &kind).await?;
            eprintln!("created organization {} ({})", org.name, org.kind);
            Ok(())
        }
    }
}

/// An SQLite file in the temporary folder for one benchmark run, removed with its write-ahead log
/// when the run ends (a run at 1,000,000 incidents leaves 2 GB).
struct ScratchDatabase(std::path::PathBuf);

impl ScratchDatabase {
    fn new(name: &str) -> ScratchDatabase {
        ScratchDatabase(std::env::temp_dir().join(format!("{name}-{}.db", std::process::id())))
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// SQLite's upkeep, every second: indexes the text of new records for search and checkpoints
/// the write-ahead log on the write connection (`Store::upkeep`); half a second later, copies most
/// of what the log gained since from the side (`Store::checkpoint`), so the upkeep's checkpoint,
/// which creations wait for, stays short. On PostgreSQL neither does anything.
pub(crate) async fn upkeep_loop(app: App) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // `Store::upkeep` logs what it did, and how long each part took, at debug level.
        if let Err(e) = app.upkeep().await {
            tracing::warn!(error = %e, "upkeep failed; searches read new records' text meanwhile, and the writer checkpoints when the log grows")
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let started = std::time::Instant::now();
        match app.checkpoint().await {
            Ok(left) => tracing::debug!(left, micros = started.elapsed().as_micros() as u64, "checkpoint"),
            Err(e) => tracing::warn!(error = %e, "checkpoint failed; the upkeep checkpoints anyway"),
        }
    }
}

/// Records SLA warnings and breaches as they fall due. Several processes may run this side by side:
/// each claims different records.
async fn sla_job_loop(app: App, every_secs: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(every_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Drain what is due, a batch per transaction.
        loop {
            match app.run_sla_jobs(500).await {
                Ok(r) if r.records == 500 => continue,
                Ok(r) => {
                    if r.warnings + r.breaches > 0 {
                        tracing::info!(
                            warnings = r.warnings,
                            breaches = r.breaches,
                            "SLA notices recorded"
                        );
                    }
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "SLA job failed; retrying at the next tick");
                    break;
                }
            }
        }
    }
}

/// The first line of clap's error, followed by the items it lists under it (`<NAME>`,
/// `--role <ROLE>`), up to the usage or a tip.
fn one_line_usage_error(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .trim_end()
        .to_owned();
    let listed: Vec<&str> = lines
        .take_while(|l| {
            !l.trim().is_empty() && !l.starts_with("Usage:") && !l.trim_start().starts_with("tip:")
        })
        .map(str::trim)
        .collect();
    if listed.is_empty() {
        first
    } else {
        format!("{} {}", first, listed.join(", "))
    }
}

fn read_password() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(CliError::io("cannot read the password"))?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        return Err(CliError::Refused(
            "no password given on standard input (use --no-password for a token-only user)".into(),
        ));
    }
    Ok(p)
}

fn print_logins(logins: &[crate::demo::DemoLogin]) {
    eprintln!(
        "demo sign-ins (password for all: {}):",
        crate::demo::DEMO_PASSWORD
    );
    for l in logins {
        eprintln!("  {:<18} {:<14} {}", l.username, l.role.as_str(), l.organization);
    }
}

async fn axum_serve(listener: tokio::net::TcpListener, router: axum_router::Router) -> Result<(), CliError> {
    itsm_web::serve(listener, router).await.map_err(CliError::Serve)
}

mod axum_router {
    pub use itsm_web::Router;
}
