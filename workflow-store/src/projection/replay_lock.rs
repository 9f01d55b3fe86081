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
    /// PostgreSQL: the task keeping the session that holds the advisory lock (dropped,
    /// it releases the lock and closes the session), and that session's process id.
    Session(Option<tokio::sync::mpsc::Sender<Release>>, i32),
}

/// The replay's word to the task keeping its PostgreSQL lock: release the lock and
/// close the session, then say so.
struct Release(tokio::sync::oneshot::Sender<()>);

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
                debug_assert!(
                    (std::time::Duration::from_millis(4)..std::time::Duration::from_secs(86_400))
                        .contains(&lease),
                    "a lease of {lease:?}"
                );
                // The lease: a session silent for that long is ended by the server,
                // taking the lock with it. Its keeper never leaves it idle that long.
                if let Err(e) =
                    sqlx::query(&format!("SET idle_session_timeout = {}", lease.as_millis()))
                        .execute(&mut conn)
                        .await
                {
                    // PostgreSQL before 14 does not know the setting.
                    tracing::warn!(projection = %name, error = %e, "a replay's lock without a lease: a host cut off mid-replay keeps it until TCP's keepalive gives up");
                }
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
                let pid: i32 = sqlx::query("SELECT pg_backend_pid() AS pid")
                    .fetch_one(&mut conn)
                    .await?
                    .try_get("pid")?;
                let (asks, asked) = tokio::sync::mpsc::channel(1);
                tokio::spawn(keep(conn, name.to_owned(), lease / 4, asked));
                Held::Session(Some(asks), pid)
            }
        };
        Ok(Self {
            held,
            name: name.to_owned(),
        })
    }

    /// Fails, as unavailable, unless this replay still holds its lock: on PostgreSQL,
    /// unless the server's `pg_locks` shows it held by the session its keeper keeps, read
    /// in `conn`'s transaction. Called in every transaction of the replay that writes the
    /// twins (or exchanges them with the views), after it has written them and before it
    /// commits: a replay that lost its lock (its host stalled past the lease, or an
    /// administrator ended the session) writes nothing more, and a replay begun since
    /// touches the twins only once such a transaction has ended (its first statement on
    /// them waits for this one's). A file lock is held as long as its file is open.
    pub(super) async fn confirm_in(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let Held::Session(_, pid) = &self.held else {
            return Ok(());
        };
        let held: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid \
             AND objid = hashtext($2)::oid AND objsubid = 2 AND pid = $3 AND granted",
        )
        .bind(ADVISORY_CLASS)
        .bind(&self.name)
        .bind(*pid)
        .fetch_one(conn)
        .await?
        .try_get("n")?;
        if held == 1 {
            Ok(())
        } else {
            Err(StoreError::Unavailable {
                reason: format!(
                    "the replay of {} lost its lock (the session holding it ended); nothing more was written or switched over: run it again",
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
        if let Held::Session(keeper, _) = &mut self.held {
            if let Some(keeper) = keeper.take() {
                let (reply, done) = tokio::sync::oneshot::channel();
                // The keeper may be in the middle of asking the server (at most
                // `RELEASE_WITHIN`) before it hears this.
                let _ = tokio::time::timeout(RELEASE_WITHIN * 2, async {
                    if keeper.send(Release(reply)).await.is_ok() {
                        let _ = done.await;
                    }
                })
                .await;
            }
        }
    }
}

/// Keeps the session holding a PostgreSQL replay lock: asks the server `SELECT 1`
/// every `beat`, so that the session is never idle for its lease, and releases the lock
/// and closes the session when asked to, or when the replay's lock is dropped.
async fn keep(
    mut conn: AnyConnection,
    name: String,
    beat: std::time::Duration,
    mut asked: tokio::sync::mpsc::Receiver<Release>,
) {
    let release = loop {
        tokio::select! {
            biased;
            release = asked.recv() => break release,
            _ = tokio::time::sleep(beat) => {
                // A failure here is the server's to act on (the session ended takes
                // the lock with it); the replay finds out at its next transaction.
                answers(&mut conn).await;
            }
        }
    };
    // Asked to, or the replay stopped half-way (its lock dropped).
    let _ = tokio::time::timeout(RELEASE_WITHIN, unlock_and_close(conn, &name)).await;
    if let Some(Release(reply)) = release {
        let _ = reply.send(());
    }
}

/// Whether the session answers `SELECT 1` within [`RELEASE_WITHIN`].
async fn answers(conn: &mut AnyConnection) -> bool {
    tokio::time::timeout(RELEASE_WITHIN, sqlx::query("SELECT 1").execute(conn))
        .await
        .is_ok_and(|answered| answered.is_ok())
}

/// How long releasing a PostgreSQL replay lock, or a beat of its keeper, may wait for
/// the server.
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
    /// replay, should it write again, finds its lock lost.
    #[tokio::test]
    async fn a_silent_hosts_replay_lock_is_free_within_its_lease() {
        const LEASE: Duration = Duration::from_secs(2);
        let db = TestDb::new(Backend::Postgres, "replay_lease_silent").await;
        let (relay, through) = Relay::to_postgres(&db.url).await;
        let silent = crate::Store::open(&through, workflow_core::ComplaintServices::builtin())
            .await
            .unwrap();
        let other = db.open().await;
        let held = ReplayLock::take_with_lease(silent.log().db(), "complaints", LEASE)
            .await
            .unwrap();
        let taken = ReplayLock::take(other.log().db(), "complaints").await;
        assert!(refused(&taken), "held by the first host");
        relay.silence_those_so_far();
        let silenced = Instant::now();
        // The lease, and a margin for the server's own timer and a loaded machine.
        let bound = silenced + LEASE + Duration::from_secs(3);
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
                        "still held {:?} after the link went silent (PostgreSQL before 14 \
                         has no idle_session_timeout)",
                        silenced.elapsed()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(silenced.elapsed() >= LEASE / 2, "{:?}", silenced.elapsed());
        // Should the silent host's replay write again, its next transaction finds the
        // lock lost (asked here through the other host's connection).
        let mut conn = other.log().db().any.acquire().await.unwrap();
        match held.confirm_in(&mut conn).await {
            Err(StoreError::Unavailable { reason, .. }) => {
                assert!(reason.contains("lost its lock"), "{reason}")
            }
            other => panic!("the silent host's lock is lost: {other:?}"),
        }
        lock.confirm_in(&mut conn).await.expect("the other host's");
        drop(conn);
        lock.release().await;
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
        let held = ReplayLock::take_with_lease(first.log().db(), "complaints", LEASE)
            .await
            .unwrap();
        // Three leases go by: the passing time is what is tested.
        tokio::time::sleep(LEASE * 3).await;
        let mut conn = first.log().db().any.acquire().await.unwrap();
        held.confirm_in(&mut conn).await.expect("still held");
        drop(conn);
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
