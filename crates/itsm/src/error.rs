//! What the binary reports when a command fails: one line, `itsm: ` and the error with its causes,
//! each cause after a colon ("cannot open the database: cannot reach the database server at
//! 127.0.0.1:5999: ... Connection refused").

use std::error::Error as _;

use itsm_app::{AppError, StorageError};

use crate::config::ConfigError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database")]
    Open(#[source] StorageError),
    #[error("cannot migrate the database")]
    Migrate(#[source] StorageError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Reading or writing outside the database (a file, standard input, a socket).
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The benchmark's HTTP client.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("a background task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Invalid(#[from] itsm_domain::ValidationError),
    #[error(transparent)]
    Time(#[from] jiff::Error),
    #[error(transparent)]
    Calendar(#[from] itsm_domain::calendar::CalendarError),
    /// A file the operator gave that does not read as what it should hold.
    #[error("{}", path.display())]
    InFile {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
    /// What the operator asked for cannot be done as asked, said in full.
    #[error("{0}")]
    Refused(String),
}

impl CliError {
    /// An error about the file at `path`.
    pub fn in_file(
        path: &std::path::Path,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> CliError {
        CliError::InFile {
            path: path.to_owned(),
            source: source.into(),
        }
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}

/// The error and its causes on one line. A cause whose text the message already holds (an error
/// that shows its cause in its own text) is not repeated.
pub fn one_line(e: &CliError) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_follow_the_message_once() {
        let e = CliError::Io {
            context: "cannot read the password".into(),
            source: std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe closed"),
        };
        assert_eq!(one_line(&e), "cannot read the password: pipe closed");
        let e = CliError::Refused("no password given".into());
        assert_eq!(one_line(&e), "no password given");
    }
}
