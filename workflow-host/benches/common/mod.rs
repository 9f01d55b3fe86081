//! What the host's benches share: their flags, and the backends they run on.

use std::path::PathBuf;

use workflow_store::testing::Backend;

/// The command line of a bench: `--flag value` pairs.
pub struct Args(Vec<String>);

impl Args {
    pub fn from_env() -> Self {
        Self(std::env::args().skip(1).collect())
    }

    /// The value after `flag`, if given.
    pub fn value(&self, flag: &str) -> Option<String> {
        self.0
            .iter()
            .position(|a| a == flag)
            .and_then(|i| self.0.get(i + 1))
            .cloned()
    }

    /// The number after `flag`, or `default`.
    pub fn num(&self, flag: &str, default: usize) -> usize {
        self.value(flag).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{flag} takes a number, not {v}"))
        })
    }

    /// `--out`, or `default`, relative to the workspace (cargo runs a bench in its
    /// package's folder).
    pub fn out(&self, default: &str) -> PathBuf {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        root.join(self.value("--out").unwrap_or_else(|| default.into()))
    }

    /// `--backend`, or both when `TEST_DATABASE_URL` is set, else SQLite alone.
    pub fn backends(&self) -> Vec<Backend> {
        match self.value("--backend").as_deref() {
            Some("sqlite") => vec![Backend::Sqlite],
            Some("postgres") => vec![Backend::Postgres],
            Some(other) => panic!("--backend is sqlite or postgres, not {other}"),
            None if std::env::var("TEST_DATABASE_URL").is_ok() => {
                vec![Backend::Sqlite, Backend::Postgres]
            }
            None => {
                eprintln!(
                    "TEST_DATABASE_URL is not set: SQLite only (scripts/with-postgres runs both)"
                );
                vec![Backend::Sqlite]
            }
        }
    }
}

/// A backend's name in the benches' rows.
pub fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}
