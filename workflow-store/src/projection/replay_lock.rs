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
//!   connection of the replay's own (taken out of the pool for the while), kept by a
//!   task that asks the server `SELECT 1` every quarter of the lock's lease. The
//!   session's `idle_session_timeout` is the lease (60 s): should its host go silent
//!   (power lost, network cut without a word), the server ends the session, and the
//!   lock with it, within the lease, not when TCP's keepalive gives up (two hours by
//!   default). Servers before PostgreSQL 14 do not know the setting and keep the lock
//!   until then.

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
    /// PostgreSQL: the task keeping the session that holds the advisory lock; dropped,
    /// it releases the lock and closes the session.
    Session(Option<tokio::sync::mpsc::Sender<Ask>>),
}

/// What the replay asks of the task keeping its PostgreSQL lock.
enum Ask {
    /// Whether the session still answers.
    Check(tokio::sync::oneshot::Sender<bool>),
    /// Release the lock and close the session, then say so.
    Release(tokio::sync::oneshot::Sender<()>),
}

/// How long a silent host keeps its PostgreSQL replay lock: the lock session's
/// `idle_session_timeout`; its keeper asks the server something every quarter of it.
pub(super) const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

impl ReplayLock {
    /// Takes the replay lock of projection `name` on `db`, or refuses at once when a
    /// replay of it runs (unavailable: nothing was changed).
    pub(super) async fn take(db: &Db, name: &str) -> Result<Self, StoreError> {
        Self::take_with_lease(db, name, LEASE).await
    }

    /// [`ReplayLock::take`] with a lease of `lease` on PostgreSQL.
    pub(super) async fn take_with_lease(
        db: &Db,
        name: &str,
        lease: std::time::Duration,
    ) -> Result<Self, StoreError> {
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
                // The lease: a session silent for that long is ended by the server
                // (PostgreSQL 14 and later; older servers do not know the setting),
                // taking the lock with it. Its keeper never leaves it idle that long.
                let _ = sqlx::query(&format!(
                    "SET idle_session_timeout = {}",
                    lease.as_millis().max(1)
                ))
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
                let (asks, asked) = tokio::sync::mpsc::channel(1);
                tokio::spawn(keep(conn, name.to_owned(), lease / 4, asked));
                Held::Session(Some(asks))
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
        let Held::Session(Some(keeper)) = &self.held else {
            return Ok(());
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let alive = keeper.send(Ask::Check(reply)).await.is_ok()
            && tokio::time::timeout(RELEASE_WITHIN * 2, answer)
                .await
                .is_ok_and(|answered| answered == Ok(true));
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
        if let Held::Session(keeper) = &mut self.held {
            if let Some(keeper) = keeper.take() {
                let (reply, done) = tokio::sync::oneshot::channel();
                if keeper.send(Ask::Release(reply)).await.is_ok() {
                    let _ = tokio::time::timeout(RELEASE_WITHIN * 2, done).await;
                }
            }
        }
    }
}

/// Keeps the session holding a PostgreSQL replay lock: answers the replay's checks,
/// asks the server `SELECT 1` every `beat` so that the session is never idle for its
/// lease, and releases the lock and closes the session when asked to, or when the
/// replay's lock is dropped.
async fn keep(
    mut conn: AnyConnection,
    name: String,
    beat: std::time::Duration,
    mut asked: tokio::sync::mpsc::Receiver<Ask>,
) {
    loop {
        let ask = tokio::select! {
            ask = asked.recv() => ask,
            _ = tokio::time::sleep(beat) => {
                answers(&mut conn).await;
                continue;
            }
        };
        match ask {
            Some(Ask::Check(reply)) => {
                let _ = reply.send(answers(&mut conn).await);
            }
            Some(Ask::Release(reply)) => {
                let _ = tokio::time::timeout(RELEASE_WITHIN, unlock_and_close(conn, &name)).await;
                let _ = reply.send(());
                return;
            }
            // A replay stopped half-way (its future dropped).
            None => {
                let _ = tokio::time::timeout(RELEASE_WITHIN, unlock_and_close(conn, &name)).await;
                return;
            }
        }
    }
}

/// Whether the session answers `SELECT 1` within [`RELEASE_WITHIN`].
async fn answers(conn: &mut AnyConnection) -> bool {
    tokio::time::timeout(RELEASE_WITHIN, sqlx::query("SELECT 1").execute(conn))
        .await
        .is_ok_and(|answered| answered.is_ok())
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

#[cfg(all(test, feature = "postgres", feature = "testing"))]
mod leases {
    use std::time::{Duration, Instant};

    use super::ReplayLock;
    use crate::testing::{Backend, Relay, TestDb};
    use crate::StoreError;

    fn refused(taken: &Result<ReplayLock, StoreError>) -> bool {
        matches!(taken, Err(StoreError::Unavailable { reason, .. }) if reason.contains("already running"))
    }

    /// A host whose link went silent mid-replay (nothing reaches either end, nothing is
    /// closed) keeps its replay lock no longer than the lease: the server ends the
    /// silent session, and another host's replay may then begin. The silent host's own
    /// replay finds its lock lost.
    #[tokio::test]
    async fn a_silent_hosts_replay_lock_is_free_within_its_lease() {
        const LEASE: Duration = Duration::from_secs(2);
        let db = TestDb::new(Backend::Postgres, "replay_lease_silent").await;
        let (relay, through) = Relay::to_postgres(&db.url).await;
        let silent = crate::Store::open(&through, workflow_core::ComplaintServices::builtin())
            .await
            .unwrap();
        let other = db.open().await;
        let mut held = ReplayLock::take_with_lease(silent.log().db(), "complaints", LEASE)
            .await
            .unwrap();
        let taken = ReplayLock::take(other.log().db(), "complaints").await;
        assert!(refused(&taken), "held by the first host");
        relay.silence_those_so_far();
        let silenced = Instant::now();
        let bound = silenced + LEASE * 10;
        let lock = loop {
            match ReplayLock::take(other.log().db(), "complaints").await {
                Ok(lock) => break lock,
                Err(e) => {
                    assert!(
                        refused(&Err(e)),
                        "only refused while the silent host holds it"
                    );
                    assert!(
                        Instant::now() < bound,
                        "still held {:?} after the link went silent",
                        silenced.elapsed()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(silenced.elapsed() >= LEASE / 2, "{:?}", silenced.elapsed());
        match held.check().await {
            Err(StoreError::Unavailable { reason, .. }) => {
                assert!(reason.contains("lost its lock"), "{reason}")
            }
            other => panic!("the silent host's lock is lost: {other:?}"),
        }
        lock.release().await;
        // Its keeper lets go in the background (the server has ended its session).
        drop(held);
        other.close().await;
        drop(silent);
    }

    /// A host that answers keeps its replay lock for as long as its replay runs, however
    /// many leases that takes: its keeper asks the server something every quarter of
    /// one.
    #[tokio::test]
    async fn a_replay_lock_outlives_its_lease_while_its_host_answers() {
        const LEASE: Duration = Duration::from_secs(1);
        let db = TestDb::new(Backend::Postgres, "replay_lease_kept").await;
        let first = db.open().await;
        let other = db.open().await;
        let mut held = ReplayLock::take_with_lease(first.log().db(), "complaints", LEASE)
            .await
            .unwrap();
        // Three leases go by: the passing time is what is tested.
        tokio::time::sleep(LEASE * 3).await;
        held.check().await.expect("still held");
        let taken = ReplayLock::take(other.log().db(), "complaints").await;
        assert!(refused(&taken), "still held after three leases");
        held.release().await;
        let lock = ReplayLock::take(other.log().db(), "complaints")
            .await
            .expect("free once released");
        lock.release().await;
        first.close().await;
        other.close().await;
    }
}
