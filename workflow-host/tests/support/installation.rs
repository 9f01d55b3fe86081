//! `aduan` on a test database, run in a folder of its own.

use std::path::Path;
use std::process::Output;

use workflow_store::testing::{Backend, TestDb};

use super::{aduan, token, Server};

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

    /// Runs a verb to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        aduan(self.path(), self.url(), args)
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
