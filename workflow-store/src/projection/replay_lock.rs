//! One replay of a projection at a time on a database.
//!
//! A replay fills the projection's `_rebuild` twins and then exchanges them with the
//! views. A second replay of the same projection begun meanwhile (by this host, another
//! host, or `aduan replay` run by hand) would empty the twins under the first, which
//! could then switch over views missing part of the log. So a replay first takes its
//! projection's lock, and a second is refused at once as unavailable, having changed
//! nothing.
//!
//! The locks are the kind the operating system or the database lets go when their
//! holder dies, so a killed replay leaves nothing to clear by hand:
//!
//! - **SQLite:** an exclusive lock (`flock`) on a file beside the database,
//!   `<database>.replay-<projection>.lock`, which stays there, empty, after the replay
//!   (removing it would let two replays hold locks on two different files of one name).
//! - **PostgreSQL:** a session advisory lock, keyed by the projection's name, held on a
//!   connection of the replay's own (taken out of the pool for the while).

use std::path::PathBuf;

use sqlx::{AnyConnection, Connection, Row};

use crate::backend::{BackendKind, Db};
use crate::error::StoreError;

/// The first key of PostgreSQL's two-key advisory locks that replays take (the second
/// is the hash of the projection's name). The log's single-key locks are another space.
const ADVISORY_CLASS: i32 = 727_274_264;

/// A projection's replay lock, held until [`ReplayLock::release`] or dropped.
pub(super) struct ReplayLock {
    held: Held,
    name: String,
}

enum Held {
    /// SQLite: the open lock file; closing it lets go.
    File(#[allow(dead_code)] std::fs::File),
    /// PostgreSQL: the session holding the advisory lock.
    Session(Option<AnyConnection>),
}

impl ReplayLock {
    /// Takes the replay lock of projection `name` on `db`, or refuses at once when a
    /// replay of it runs (unavailable: nothing was changed).
    pub(super) async fn take(db: &Db, name: &str) -> Result<Self, StoreError> {
        let busy = || StoreError::Unavailable {
            reason: format!(
                "a replay of {name} is already running on {} (from this host or another); \
                 nothing was changed: run this one once that one has ended, if it is still needed",
                db.name
            ),
            source: None,
        };
        let held = match db.kind {
            BackendKind::Sqlite => {
                // The database's own path, links resolved, so that two processes naming
                // it differently lock one file.
                let database = std::fs::canonicalize(&db.name)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| db.name.clone());
                let path = lock_file(&database, name);
                let cannot = |e: std::io::Error| StoreError::Unavailable {
                    reason: format!("cannot lock {} for a replay: {e}", path.display()),
                    source: Some(Box::new(e)),
                };
                let file = open_lock_file(&path).map_err(cannot)?;
                match file.try_lock() {
                    Ok(()) => Held::File(file),
                    Err(std::fs::TryLockError::WouldBlock) => return Err(busy()),
                    Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
                }
            }
            BackendKind::Postgres => {
                // Out of the pool: the session is the lock's holder for the whole replay,
                // and must never be handed to another caller while it holds it.
                let mut conn = db.any.acquire().await?.detach();
                // An idle session the server would end (PostgreSQL 14 and later) would
                // take the lock with it; older servers do not know the setting.
                let _ = sqlx::query("SET idle_session_timeout = 0")
                    .execute(&mut conn)
                    .await;
                let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1, hashtext($2)) AS got")
                    .bind(ADVISORY_CLASS)
                    .bind(name)
                    .fetch_one(&mut conn)
                    .await?
                    .try_get("got")?;
                if !got {
                    let _ = conn.close().await;
                    return Err(busy());
                }
                Held::Session(Some(conn))
            }
        };
        Ok(Self {
            held,
            name: name.to_owned(),
        })
    }

    /// Whether the lock is still held: on PostgreSQL its session still answers (a
    /// session the server ended, by an administrator's `pg_terminate_backend` say, took
    /// the lock with it, and another replay may have begun). A file lock is held as long
    /// as its file is open. Called by the switch-over once it holds the views and their
    /// twins, so that a replay begun after a lost lock waits for that commit before it
    /// touches the twins.
    pub(super) async fn check(&mut self) -> Result<(), StoreError> {
        let Held::Session(Some(conn)) = &mut self.held else {
            return Ok(());
        };
        let alive = tokio::time::timeout(RELEASE_WITHIN, sqlx::query("SELECT 1").execute(conn))
            .await
            .is_ok_and(|answered| answered.is_ok());
        if alive {
            Ok(())
        } else {
            Err(StoreError::Unavailable {
                reason: format!(
                    "the replay of {} lost its lock (the session holding it ended); nothing was switched over: run it again",
                    self.name
                ),
                source: None,
            })
        }
    }

    /// Lets go of the lock: on PostgreSQL the advisory lock is released before the
    /// session closes, so that a replay begun right after this one has ended finds it
    /// free (closing alone would leave that to the server's own time). A server that
    /// does not answer within [`RELEASE_WITHIN`] is left to end the session itself.
    pub(super) async fn release(mut self) {
        if let Held::Session(conn) = &mut self.held {
            if let Some(conn) = conn.take() {
                let name = std::mem::take(&mut self.name);
                let _ = tokio::time::timeout(RELEASE_WITHIN, unlock_and_close(conn, &name)).await;
            }
        }
    }
}

/// How long releasing a PostgreSQL replay lock, or checking it, may wait for the server.
const RELEASE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens (creating it, readable and writable by the owner only) the lock file at
/// `path`; one made by another user that this one may only read is opened read-only,
/// which is enough to lock it.
fn open_lock_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            std::fs::OpenOptions::new().read(true).open(path)
        }
        opened => opened,
    }
}

/// Releases the advisory lock and closes its session.
async fn unlock_and_close(mut conn: AnyConnection, name: &str) {
    if let Err(e) = unlock(&mut conn, name).await {
        tracing::warn!(projection = %name, error = %e, "a replay's lock was not released; closing its session releases it");
    }
    let _ = conn.close().await;
}

impl Drop for ReplayLock {
    /// A replay stopped half-way (its future dropped): the file is closed with the
    /// struct; the PostgreSQL session is released and closed by a task of its own where
    /// a runtime runs, else dropped (the server then ends the session, and its lock).
    fn drop(&mut self) {
        if let Held::Session(conn) = &mut self.held {
            if let Some(conn) = conn.take() {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let name = std::mem::take(&mut self.name);
                    runtime.spawn(async move {
                        let _ = tokio::time::timeout(RELEASE_WITHIN, unlock_and_close(conn, &name))
                            .await;
                    });
                }
            }
        }
    }
}

async fn unlock(conn: &mut AnyConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
        .bind(ADVISORY_CLASS)
        .bind(name)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The lock file of projection `name`'s replays beside the SQLite database `database`;
/// characters of the name other than letters, digits, `-` and `_` become `_`.
fn lock_file(database: &str, name: &str) -> PathBuf {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("{database}.replay-{name}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_file_is_named_after_the_database_and_the_projection() {
        assert_eq!(
            lock_file("/var/lib/aduan/aduan.db", "complaints"),
            PathBuf::from("/var/lib/aduan/aduan.db.replay-complaints.lock")
        );
        assert_eq!(
            lock_file("aduan.db", "../per category"),
            PathBuf::from("aduan.db.replay-___per_category.lock")
        );
    }
}
