//! Opening a SQLite file: created private (0600) when new, in WAL mode with full
//! synchronisation, refused with the operating system's reason when it cannot be
//! written, and opened read-only without creating anything for a reading verb.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Executor};

use super::{bad_url, keep_only_clean, BackendKind, Db, Purpose, TypedPool};
use crate::error::StoreError;

use super::SQLITE_BUSY_TIMEOUT as BUSY_TIMEOUT;

/// Why a SQLite file cannot be opened for writing, in the operating system's words: a
/// read-only file system, a missing folder, no permission. `None` when it can be.
fn why_not_writable(path: &std::path::Path) -> Option<String> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !folder.is_dir() {
        return Some(format!("the folder {} does not exist", folder.display()));
    }
    let target = if path.exists() { path } else { folder };
    let probe = if target.is_dir() {
        tempfile_in(target)
    } else {
        std::fs::OpenOptions::new()
            .append(true)
            .open(target)
            .map(|_| ())
    };
    probe.err().map(|e| format!("cannot write: {e}"))
}

/// Creates and removes a file in `folder`.
fn tempfile_in(folder: &std::path::Path) -> std::io::Result<()> {
    let probe = folder.join(format!(".aduan-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Why a SQLite file that exists cannot be opened read-only. A file in WAL mode needs
/// its `-shm` beside it (or a folder where it may be created) unless it is opened as
/// immutable: say so, with what to do.
fn cannot_open_read_only(path: &std::path::Path, err: sqlx::Error) -> StoreError {
    let cannot_open = matches!(&err, sqlx::Error::Database(db)
        if db.code().and_then(|c| c.parse::<u32>().ok()).is_some_and(|c| c & 0xff == 14));
    let mut header = [0u8; 20];
    let wal = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok()
        && header[18] == 2;
    let shm = std::path::PathBuf::from(format!("{}-shm", path.display()));
    if cannot_open && wal && !shm.exists() {
        let p = path.display();
        return StoreError::Unavailable {
            reason: format!(
                "{p} is in WAL mode and SQLite cannot read it without creating {p}-shm, which \
                 its folder does not allow; copy it with `sqlite3 {p} \"VACUUM INTO 'copy.db'\"` \
                 (or with its -wal and -shm files), or add `?immutable=1` to the URL if nothing \
                 writes it"
            ),
            source: Some(Box::new(err)),
        };
    }
    StoreError::from(err)
}

/// The SQLite URL with `mode=ro` in place of any mode it names; its other parameters
/// (`immutable`, `vfs`, `cache`) are kept.
pub(crate) fn read_only_sqlite_url(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .collect();
    params.push("mode=ro");
    format!("{base}?{}", params.join("&"))
}

/// The URL's query parameters as sqlx reads them (decoded; where one is given twice,
/// sqlx keeps the last).
fn parameters(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Whether the SQLite URL leaves the VFS to SQLite's default (names no `vfs`). A
/// connection opened by its file's path alone (a replay's or a walk's reader,
/// decisions 54 and 55) would use the default VFS, and locks it takes would not be
/// seen by connections using another (`unix-dotfile`, `unix-none`) or one that
/// changes the file's bytes.
fn default_vfs(url: &str) -> bool {
    !parameters(url).iter().any(|(k, _)| k == "vfs")
}

/// Whether the SQLite URL declares the database `immutable`, as sqlx reads it: the
/// last `immutable` given, `true` or `1` (sqlx refuses a URL with any value but those
/// and `false` or `0`).
fn immutable(url: &str) -> bool {
    parameters(url)
        .iter()
        .rev()
        .find(|(k, _)| k == "immutable")
        .is_some_and(|(_, v)| matches!(v.as_str(), "true" | "1"))
}

/// Creates an empty file only its owner may read and write (an empty file is an empty
/// SQLite database); leaves an existing one alone.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Db {
    pub(super) async fn connect_sqlite(url: &str, purpose: Purpose) -> Result<Db, StoreError> {
        let bad = |reason: &str| bad_url(url, reason);
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(bad("an in-memory SQLite database cannot be shared between the engine's pools; name a file"));
        }
        let given = SqliteConnectOptions::from_str(url).map_err(|e| bad(&e.to_string()))?;
        let name = given.get_filename().display().to_string();
        let path = given.get_filename().to_owned();
        let explain = |err: sqlx::Error| match StoreError::from(err) {
            StoreError::Unavailable { reason, source } => StoreError::Unavailable {
                reason: match why_not_writable(&path) {
                    Some(why) => format!("{}: {why} ({reason})", path.display()),
                    None => reason,
                },
                source,
            },
            other => other,
        };
        // Look before touching: setting WAL mode or probing for write access would
        // already change another program's file.
        let read_only = purpose == Purpose::Read;
        if given.get_filename().exists() {
            // What keeps the file from being read: for a read-only open, why SQLite
            // cannot read it without writing beside it; otherwise why it cannot be
            // written.
            let unreadable = |e| {
                if read_only {
                    cannot_open_read_only(given.get_filename(), e)
                } else {
                    explain(e)
                }
            };
            let mut conn = sqlx::AnyConnection::connect(&read_only_sqlite_url(url))
                .await
                .map_err(unreadable)?;
            // SQLite opens the file at the first read.
            conn.execute("PRAGMA schema_version")
                .await
                .map_err(unreadable)?;
            let identity = crate::identity::probe(&mut conn, BackendKind::Sqlite).await;
            conn.close().await?;
            if let Some(refusal) = purpose.refusal(&identity?, &name) {
                return Err(refusal);
            }
        } else if purpose == Purpose::Adopt {
            return Err(StoreError::NotAdoptable {
                database: name,
                reason: "no such file".into(),
            });
        } else if read_only {
            return Err(StoreError::unavailable(format!(
                "{name}: no such database file (a read-only open creates none)"
            )));
        }
        // `secure_delete`: a deleted row's bytes are overwritten, so that an erased
        // identity's key leaves nothing behind in free pages (crate::keys).
        let mut options = given
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("secure_delete", "ON");
        if purpose == Purpose::Migrate && !path.exists() {
            // A new database is its owner's alone; SQLite gives its journal and WAL
            // files the database file's permissions.
            // Where it cannot be created, SQLite fails below with the reason.
            let _ = create_private_file(&path);
        }
        if purpose == Purpose::Migrate {
            // An adopted store turns to WAL on its first open after the adoption
            // committed: a refused or failed adoption leaves its file as it was.
            options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
        }
        if read_only {
            options = options.read_only(true).pragma("query_only", "ON");
        }
        let typed = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .after_release(keep_only_clean::<sqlx::Sqlite>())
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(explain)?;
        if purpose == Purpose::Migrate {
            // Fail now, with a clear error, on a file we cannot write.
            typed
                .execute("CREATE TABLE IF NOT EXISTS aduan_write_probe (x integer); DROP TABLE aduan_write_probe;")
                .await
                .map_err(explain)?;
        }
        let any = any_pool(url, 4, "FULL", read_only).await?;
        // The projector's own connections (decision 38): the same settings but
        // `synchronous = NORMAL`, under which a commit in WAL mode is atomic and in
        // order but not yet `fsync`ed. Every view and checkpoint is made again from
        // the log should a power cut lose the last of them; the log's appends keep
        // `FULL` on the pools above.
        let projecting = if read_only {
            None
        } else {
            Some(any_pool(url, 2, "NORMAL", false).await?)
        };
        Ok(Db {
            kind: BackendKind::Sqlite,
            name,
            read_only,
            session: None,
            any,
            typed: TypedPool::Sqlite(typed),
            projecting,
            writer: Some(std::sync::Arc::new(tokio::sync::Mutex::new(()))),
            direct: default_vfs(url).then(|| super::SqliteFile {
                path,
                immutable: immutable(url),
            }),
        })
    }
}

/// A pool of `max` connections through sqlx's `Any` driver to the SQLite database at
/// `url`, each with the store's settings and `PRAGMA synchronous = {synchronous}`
/// (`FULL` for what must be on disk when it is acknowledged, `NORMAL` for the
/// projector's commits, decision 38); read-only ones refuse every write.
async fn any_pool(
    url: &str,
    max: u32,
    synchronous: &'static str,
    read_only: bool,
) -> Result<sqlx::AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(max)
        .test_before_acquire(false)
        .after_release(keep_only_clean::<sqlx::Any>())
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute(
                    format!(
                        "PRAGMA busy_timeout = {}; PRAGMA synchronous = {synchronous}; \
                         PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
                        BUSY_TIMEOUT.as_millis()
                    )
                    .as_str(),
                )
                .await?;
                if read_only {
                    conn.execute("PRAGMA query_only = ON").await?;
                }
                Ok(())
            })
        })
        .connect(&if read_only {
            read_only_sqlite_url(url)
        } else {
            url.to_owned()
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_names_a_vfs_is_not_read_by_path() {
        for url in [
            "sqlite://aduan.db",
            "sqlite:aduan.db?mode=rwc",
            "sqlite:///srv/aduan.db?mode=rwc&cache=private",
        ] {
            assert!(default_vfs(url), "{url}");
        }
        for url in [
            "sqlite:aduan.db?vfs=unix-dotfile",
            "sqlite://aduan.db?mode=rwc&vfs=unix-none",
        ] {
            assert!(!default_vfs(url), "{url}");
        }
    }

    #[test]
    fn an_immutable_url_is_read_as_immutable() {
        for url in [
            "sqlite:///media/copy.db?immutable=1",
            "sqlite:copy.db?mode=ro&immutable=true",
            "sqlite:copy.db?immutable=%31",
            "sqlite:copy.db?immutable=0&immutable=1",
        ] {
            assert!(immutable(url), "{url}");
        }
        for url in [
            "sqlite:///media/copy.db",
            "sqlite:copy.db?immutable=0",
            "sqlite:copy.db?mode=ro&immutable=false",
            "sqlite:immutable=1.db",
            "sqlite:copy.db?immutable=1&immutable=0",
        ] {
            assert!(!immutable(url), "{url}");
        }
    }
}
