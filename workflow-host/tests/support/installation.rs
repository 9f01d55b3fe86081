//! `aduan` on a test database, run in a folder of its own.

use std::path::Path;
use std::process::Output;

use workflow_store::testing::{Backend, TestDb};

use super::{aduan, token, Aduan, Server};

/// `aduan` on a test database of its own, every verb and server run in one folder (where
/// its signing keys and exports land), as on an operator's host.
pub struct Installation {
    pub db: TestDb,
    pub dir: tempfile::TempDir,
}

impl Installation {
    pub async fn new(backend: Backend, name: &str) -> Self {
        Self {
            db: TestDb::new(backend, name).await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The folder it runs in.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> &str {
        &self.db.url
    }

    /// The store as `aduan` in this folder opens it, with the settings the database
    /// records: a PostgreSQL store's key file is the folder's `aduan.key` (a SQLite
    /// store's is beside its database).
    pub async fn open_store(&self) -> workflow_store::Store {
        let mut options = workflow_store::StoreOptions::default();
        if self.db.sqlite_path().is_none() {
            options =
                options.with_key_file(self.path().join(workflow_store::keys::DEFAULT_KEY_FILE));
        }
        workflow_store::Store::open_with_options(
            self.url(),
            workflow_store::SettingsSource::Stored,
            options,
        )
        .await
        .unwrap()
    }

    /// Runs a verb to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        aduan(self.path(), self.url(), args)
    }

    /// Runs a verb to its end with one more variable in its environment.
    pub fn run_with_env(&self, args: &[&str], key: &str, value: &str) -> Output {
        Aduan::on(self.path(), self.url()).run_with_env(args, key, value)
    }

    /// A new token.
    pub fn token(&self, user: &str, role: &str, agency: Option<&str>) -> String {
        token(self.path(), self.url(), user, role, agency)
    }

    /// `serve`, with these arguments besides the tests' own.
    pub fn serve(&self, args: &[&str]) -> Server {
        Server::start_with(self.path(), self.url(), args)
    }
}
