//! Configuration: one typed struct, read from a TOML file and then from `ITSM_*` environment
//! variables, which win.

use std::net::SocketAddr;
use std::path::PathBuf;

use itsm_web::http as axum_http;
use serde::Deserialize;

/// A configuration that cannot be used; the start stops with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// A value that does not read as what the setting holds.
    #[error("{key}: `{value}` {expected}")]
    Invalid {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A value that reads, but breaks a rule (said without the value, which may be a secret).
    #[error("{key}: {rule}")]
    Rule { key: &'static str, rule: &'static str },
    #[error("cannot create the data folder {}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn invalid(key: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_owned(),
        expected,
    }
}

/// Everything the binary can be configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://...` or `postgres://...`; default: `itsm.db` in the data folder.
    pub database_url: Option<String>,
    /// Where the SQLite database and other local files live.
    pub data_dir: PathBuf,
    /// Address the server listens on.
    pub listen: SocketAddr,
    /// `info`, `debug`, or a full tracing filter such as `itsm=debug,sqlx=warn`.
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Largest database pool.
    pub max_connections: u32,
    /// Mark cookies `Secure`; turn on when serving over HTTPS.
    pub secure_cookies: bool,
    /// Priority by impact (rows: high, medium, low) and urgency (columns: high, medium, low).
    pub priority_matrix: Option<[[i16; 3]; 3]>,
    /// Largest attachment, in bytes.
    pub max_attachment_bytes: usize,
    /// For how many days after its resolution the person an incident is for may reopen it.
    pub reopen_window_days: u32,
    /// How often `serve` looks for SLA warnings and breaches that fell due, in seconds; 0 turns the
    /// job off (for nodes that only serve requests while others run jobs).
    pub sla_job_interval_secs: u64,
    /// Behind a reverse proxy: the header it sets to the client's address (`x-forwarded-for` or
    /// `x-real-ip`). Leave unset when clients connect directly, or anyone could claim any address.
    pub client_address_header: Option<String>,
    /// The bearer token that `/metrics` on the main listener answers to; unset, the main listener
    /// does not serve `/metrics`.
    pub metrics_token: Option<String>,
    /// A listener of its own that serves `/metrics` to anyone who reaches it (bind it to an address
    /// only the monitoring system reaches).
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: None,
            data_dir: PathBuf::from("data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_level: "info".into(),
            log_format: "text".into(),
            max_connections: 16,
            secure_cookies: false,
            priority_matrix: None,
            max_attachment_bytes: 10 * 1024 * 1024,
            reopen_window_days: 14,
            sla_job_interval_secs: 30,
            client_address_header: None,
            metrics_token: None,
            metrics_listen: None,
        }
    }
}

impl Config {
    /// Reads the file (if given, or `itsm.toml` if present) and applies the environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let path = file.map(PathBuf::from).or_else(|| {
            let p = PathBuf::from("itsm.toml");
            p.exists().then_some(p)
        });
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    message: e.message().to_owned(),
                    path: p,
                })?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("ITSM_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = get("ITSM_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("ITSM_LISTEN") {
            self.listen = v
                .parse()
                .map_err(|_| invalid("ITSM_LISTEN", &v, "is not an address such as 127.0.0.1:8080"))?;
        }
        if let Some(v) = get("ITSM_LOG_LEVEL") {
            self.log_level = v;
        }
        if let Some(v) = get("ITSM_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = get("ITSM_MAX_CONNECTIONS") {
            self.max_connections = v
                .parse()
                .map_err(|_| invalid("ITSM_MAX_CONNECTIONS", &v, "is not a number"))?;
        }
        if let Some(v) = get("ITSM_SLA_JOB_INTERVAL_SECS") {
            self.sla_job_interval_secs = v
                .parse()
                .map_err(|_| invalid("ITSM_SLA_JOB_INTERVAL_SECS", &v, "is not a number of seconds"))?;
        }
        if let Some(v) = get("ITSM_REOPEN_WINDOW_DAYS") {
            self.reopen_window_days = v
                .parse()
                .map_err(|_| invalid("ITSM_REOPEN_WINDOW_DAYS", &v, "is not a number of days"))?;
        }
        if let Some(v) = get("ITSM_CLIENT_ADDRESS_HEADER") {
            self.client_address_header = Some(v);
        }
        if let Some(v) = get("ITSM_METRICS_TOKEN") {
            self.metrics_token = Some(v);
        }
        if let Some(v) = get("ITSM_METRICS_LISTEN") {
            self.metrics_listen = Some(v.parse().map_err(|_| {
                invalid(
                    "ITSM_METRICS_LISTEN",
                    &v,
                    "is not an address such as 127.0.0.1:9090",
                )
            })?);
        }
        if let Some(v) = get("ITSM_SECURE_COOKIES") {
            self.secure_cookies = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(invalid("ITSM_SECURE_COOKIES", &v, "is not true or false")),
            };
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(invalid("log_format", &self.log_format, "is not text or json"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return Err(invalid(
                "log_level",
                &self.log_level,
                "is not a log filter such as info or itsm=debug,sqlx=warn",
            ));
        }
        Ok(())
    }

    /// What the web layer reads; a value it cannot use stops the start.
    pub fn web_settings(&self) -> Result<itsm_web::WebSettings, ConfigError> {
        let client_address_header = match &self.client_address_header {
            Some(h) => Some(h.parse::<axum_http::HeaderName>().map_err(|_| {
                invalid(
                    "client_address_header",
                    h,
                    "is not a header name such as x-forwarded-for",
                )
            })?),
            None => None,
        };
        if let Some(t) = &self.metrics_token {
            if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::Rule {
                    key: "metrics_token",
                    rule: "use at least 16 printable characters, no spaces",
                });
            }
        }
        Ok(itsm_web::WebSettings {
            secure_cookies: self.secure_cookies,
            client_address_header,
            metrics_token: self.metrics_token.clone(),
        })
    }

    /// The database URL to use: the configured one, or an SQLite file in the data folder.
    pub fn database_url(&self) -> Result<String, ConfigError> {
        match &self.database_url {
            Some(u) => Ok(u.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir).map_err(|source| ConfigError::DataDir {
                    path: self.data_dir.clone(),
                    source,
                })?;
                Ok(format!("sqlite://{}", self.data_dir.join("itsm.db").display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_bad_values_are_named() {
        let mut c: Config = toml::from_str("listen = \"0.0.0.0:9000\"\nlog_level = \"debug\"").unwrap();
        assert_eq!(c.listen.port(), 9000);
        c.apply_env(|k| (k == "ITSM_LISTEN").then(|| "127.0.0.1:7000".to_owned()))
            .unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.log_level, "debug");
        let err = c
            .apply_env(|k| (k == "ITSM_LISTEN").then(|| "nope".to_owned()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ITSM_LISTEN: `nope` is not an address such as 127.0.0.1:8080"
        );
        for (key, value) in [
            ("ITSM_SECURE_COOKIES", "on"),
            ("ITSM_LOG_LEVEL", "itsm=["),
            ("ITSM_LOG_FORMAT", "yaml"),
        ] {
            let mut c = Config::default();
            let err = c
                .apply_env(|k| (k == key).then(|| value.to_owned()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("`{value}`")), "{key}: {err}");
        }
        let mut c = Config::default();
        c.apply_env(|k| (k == "ITSM_SECURE_COOKIES").then(|| "true".to_owned()))
            .unwrap();
        assert!(c.secure_cookies);
        assert!(toml::from_str::<Config>("colour = 1").is_err());
        let bad: Config = toml::from_str("metrics_token = \"short\"").unwrap();
        assert!(bad
            .web_settings()
            .unwrap_err()
            .to_string()
            .starts_with("metrics_token"));
        let bad: Config = toml::from_str("client_address_header = \"x forwarded\"").unwrap();
        assert!(bad
            .web_settings()
            .unwrap_err()
            .to_string()
            .starts_with("client_address_header"));
    }
}
