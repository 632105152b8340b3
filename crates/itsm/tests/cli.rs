//! The `itsm` command line as scripts use it: exit codes, one-line errors, what goes to standard
//! output. Runs the real binary against an SQLite database in a temporary folder.

// A panic is how a test fails: unwrapping and indexing are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("itsm-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

fn itsm(dir: &Dir, args: &[&str], stdin: Option<&str>) -> Output {
    itsm_logging(dir, args, stdin, "warn")
}

/// [`itsm`] with the log filter given.
fn itsm_logging(dir: &Dir, args: &[&str], stdin: Option<&str>, log_level: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_itsm"))
        .args(args)
        .env("ITSM_DATA_DIR", dir.0.join("data"))
        .env("ITSM_LOG_LEVEL", log_level)
        .env_remove("ITSM_DATABASE_URL")
        .current_dir(&dir.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let dir = scratch("users");
    let out = itsm(&dir, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = itsm(
        &dir,
        &["user", "add", "ada", "--role", "administrator"],
        Some("a long enough password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());

    // The token, and nothing else, on standard output.
    let out = itsm(&dir, &["token", "create", "--user", "ada"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let token = stdout.trim_end();
    assert!(token.starts_with("itsm_") && token.len() == 5 + 64, "{stdout:?}");
    assert_eq!(stdout.lines().count(), 1);

    // Same name twice, a password too short, a customer without organization: one line each, exit 1.
    for (args, stdin, needle) in [
        (
            vec!["user", "add", "ada", "--role", "agent"],
            "another long password\n",
            "taken",
        ),
        (
            vec!["user", "add", "bob", "--role", "agent"],
            "short\n",
            "password",
        ),
        (
            vec!["user", "add", "cy", "--role", "customer"],
            "a long enough password\n",
            "organization",
        ),
        (
            vec!["user", "add", "dee", "--role", "wizard"],
            "a long enough password\n",
            "--role",
        ),
        (vec!["token", "create", "--user", "nobody"], "", "not found"),
    ] {
        let out = itsm(&dir, &args, Some(stdin));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }

    let out = itsm(
        &dir,
        &["user", "add", "sam", "--role", "agent", "--no-password"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = itsm(
        &dir,
        &[
            "group",
            "add",
            "Service Desk",
            "--member",
            "sam",
            "--member",
            "ada",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = itsm(&dir, &["group", "add", "Service Desk"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("exists"), "{}", text(&out.stderr));
    let out = itsm(&dir, &["group", "add", "Network", "--member", "nobody"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no user `nobody`"));

    let out = itsm(&dir, &["user", "disable", "ada"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = itsm(&dir, &["token", "create", "--user", "ada"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("disabled"));
}

#[test]
fn bad_arguments_exit_non_zero_with_one_line() {
    let dir = scratch("args");
    // Each on one line, naming what is missing or wrong.
    for (args, named) in [
        (vec!["frobnicate"], "frobnicate"),
        (vec!["serve", "--listen", "not-an-address"], "not-an-address"),
        (vec!["token", "create"], "--user"),
        (vec!["user", "add"], "<NAME>"),
        (vec!["user", "add", "ada"], "--role <ROLE>"),
    ] {
        let out = itsm(&dir, &args, None);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(named), "{args:?} does not name {named}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_itsm"))
        .arg("migrate")
        .env("ITSM_LISTEN", "nope")
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ITSM_LISTEN"));
    // A value that does not read stops the start, named, rather than meaning something else.
    for (key, value) in [("ITSM_SECURE_COOKIES", "on"), ("ITSM_LOG_LEVEL", "itsm=[")] {
        let out = Command::new(env!("CARGO_BIN_EXE_itsm"))
            .arg("migrate")
            .env(key, value)
            .current_dir(&dir.0)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{key}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{key}: {err}");
        assert!(err.contains(&format!("`{value}`")), "{key}: {err}");
    }
}

#[test]
fn use_cases_and_storage_calls_leave_spans_without_secrets() {
    let dir = scratch("spans");
    let password = "a long and secret password";
    let out = itsm_logging(
        &dir,
        &["user", "add", "ada", "--role", "agent"],
        Some(password),
        "itsm_app=debug,itsm_storage=debug",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = text(&out.stderr);
    assert!(
        !log.contains('\u{1b}'),
        "no terminal colours in a log that is not a terminal"
    );
    // The use case's span, and the storage call inside it, each with the time it took.
    assert!(
        log.lines().any(
            |l| l.contains("add_user_with_provider:add_user_in:insert_user: itsm_storage")
                && l.contains("time.busy")
        ),
        "{log}"
    );
    assert!(!log.contains(password), "{log}");
}

#[test]
fn an_unreachable_database_is_named_at_once() {
    let dir = scratch("unreachable");
    // A port nothing listens on: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_itsm"))
        .arg("migrate")
        .env(
            "ITSM_DATABASE_URL",
            format!("postgres://someone:secret@127.0.0.1:{port}/itsm"),
        )
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot reach the database server at 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    // Not after the pool's acquire time-out (10 s).
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{err}");
}

#[test]
fn calendar_questions_from_a_file_and_from_the_database() {
    let dir = scratch("calendar");
    let file = dir.0.join("office.json");
    std::fs::write(
        &file,
        r#"{"name": "Berlin office", "time_zone": "Europe/Berlin",
            "working_hours": {"monday": [["09:00","17:00"]], "tuesday": [["09:00","17:00"]],
                              "friday": [["09:00","17:00"]]},
            "holidays": ["2026-12-25"]}"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();

    // Friday 16:00 + 120 minutes: Friday 16-17, then Monday 09-10.
    let out = itsm(
        &dir,
        &[
            "calendar",
            "due",
            "--file",
            f,
            "--start",
            "2026-11-27T15:00:00Z",
            "--minutes",
            "120",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "2026-11-30T10:00:00+01:00");

    let out = itsm(
        &dir,
        &[
            "calendar",
            "elapsed",
            "--file",
            f,
            "--from",
            "2026-11-23T08:00:00Z",
            "--to",
            "2026-11-24T16:00:00Z",
            "--pause",
            "2026-11-23T10:00:00Z/2026-11-23T11:30:00Z",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), (8 * 60 - 90 + 8 * 60).to_string());

    // Bad input: one line naming the field, exit 1.
    let out = itsm(
        &dir,
        &[
            "calendar",
            "due",
            "--file",
            f,
            "--start",
            "2026-11-27T15:00:00Z",
            "--minutes",
            "10",
            "--pause",
            "2026-11-27T16:00:00Z/2026-11-27T15:00:00Z",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("pauses[0]"), "{err}");
    let out = itsm(
        &dir,
        &[
            "calendar",
            "due",
            "--file",
            f,
            "--start",
            "2026-11-27T15:00:00Z",
            "--minutes",
            "-1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("business_minutes"));
    let bad = dir.0.join("bad.json");
    std::fs::write(&bad, r#"{"time_zone": "Mars/Olympus", "working_hours": "24x7"}"#).unwrap();
    let out = itsm(
        &dir,
        &[
            "calendar",
            "due",
            "--file",
            bad.to_str().unwrap(),
            "--start",
            "2026-11-27T15:00:00Z",
            "--minutes",
            "1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("time_zone"), "{err}");

    // The same calendar stored in the database answers the same.
    let out = itsm(
        &dir,
        &["user", "add", "admin", "--role", "administrator"],
        Some("a long password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = itsm(&dir, &["calendar", "add", f, "--default"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "CAL-1");
    let out = itsm(
        &dir,
        &[
            "calendar",
            "due",
            "--calendar",
            "CAL-1",
            "--start",
            "2026-11-27T15:00:00Z",
            "--minutes",
            "120",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "2026-11-30T10:00:00+01:00");
    let out = itsm(
        &dir,
        &[
            "calendar",
            "due",
            "--calendar",
            "CAL-7",
            "--start",
            "2026-11-27T15:00:00Z",
            "--minutes",
            "1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not found"));
    let out = itsm(&dir, &["sla", "run-jobs"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `itsm bench` without a database URL works in a file of the temporary folder and removes it,
/// with its write-ahead log, when it is done.
#[test]
fn bench_on_a_scratch_database_leaves_nothing_behind() {
    let dir = scratch("bench");
    let tmp = dir.0.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_itsm"))
        .args(["bench", "--records", "50", "--creates", "32", "--reads", "1"])
        .env("ITSM_DATA_DIR", dir.0.join("data"))
        .env("ITSM_LOG_LEVEL", "warn")
        .env("TMPDIR", &tmp)
        .env_remove("ITSM_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("create via API: 32 incidents"),
        "{}",
        text(&out.stdout)
    );
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The demo loads into an empty database through the application's import, prints its sign-ins,
/// and refuses a database that already holds data, with one line and nothing changed.
#[test]
fn the_demo_loads_once_into_an_empty_database() {
    let dir = scratch("demo");
    let out = itsm(&dir, &["demo", "--incidents", "150"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The sign-ins are for the person at the terminal: on standard error.
    let said = text(&out.stderr);
    for login in ["admin", "agent", "auditor", "customer", "maria.contoso"] {
        assert!(
            said.lines().any(|l| l.trim_start().starts_with(login)),
            "{login}: {said}"
        );
    }
    let again = itsm(&dir, &["demo", "--incidents", "150"], None);
    assert!(!again.status.success());
    let err = text(&again.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("already holds data"), "{err}");
}

/// The first user of a new installation brings the provider organization, in the same
/// transaction: a user refused leaves none behind, and nothing claims it was created.
#[test]
fn a_refused_first_user_creates_no_provider() {
    let dir = scratch("first-user");
    let out = itsm(&dir, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = itsm(
        &dir,
        &["user", "add", "ada", "--role", "administrator"],
        Some("short\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("password"), "{err}");
    assert!(!err.contains("provider"), "{err}");
    // The next user brings it: there was none.
    let out = itsm(
        &dir,
        &["user", "add", "ada", "--role", "administrator"],
        Some("a long enough password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("created the provider organization `Service provider`"),
        "{err}"
    );
    let out = itsm(
        &dir,
        &["user", "add", "bea", "--role", "agent"],
        Some("a long enough password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("provider"), "once only");
}
