//! The auditor's read-only verbs (`verify`, `checkpoint`, `export`, `history`, `sla`)
//! through the real binary on copies they cannot write: a SQLite copy on a read-only
//! mount, and a PostgreSQL database whose sessions are read-only. A wrong path is an
//! error, never a new empty database.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use sqlx::{ConnectOptions, Connection, Executor};
#[cfg(feature = "postgres")]
use workflow_store::testing::Backend;

#[cfg(feature = "postgres")]
use crate::support::Installation;
use crate::support::{self, ok, refused};

/// A folder bound read-only onto itself: not even root can write in it. Unmounted on
/// drop. `None` (and a loud message) where mounting is impossible and we are not root.
struct ReadOnlyMount(PathBuf);

impl ReadOnlyMount {
    fn over(dir: &Path) -> Option<Self> {
        let run = |args: &[&str]| Command::new("mount").args(args).arg(dir).status();
        match run(&["--bind", dir.to_str().unwrap()]) {
            Ok(s) if s.success() => {}
            other => {
                assert!(!support::is_root(), "cannot bind-mount as root: {other:?}");
                eprintln!(
                    "\n\n*** SKIPPED: a read-only bind mount needs root ({other:?}); \
                     read-only copies were NOT tested ***\n"
                );
                return None;
            }
        }
        let mount = ReadOnlyMount(dir.to_owned());
        let status = run(&["-o", "remount,bind,ro"]).unwrap();
        assert!(status.success(), "remount read-only: {status:?}");
        assert!(
            std::fs::write(dir.join("probe"), b"x").is_err(),
            "the mount is read-only, even for root"
        );
        Some(mount)
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Copies a SQLite database as the auditors' guide says: `VACUUM INTO` a new file.
async fn vacuum_into(from: &Path, to: &Path) {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(&format!(
        "sqlite://{}?mode=ro",
        from.display()
    ))
    .unwrap()
    .connect()
    .await
    .unwrap();
    conn.execute(format!("VACUUM INTO '{}'", to.display()).as_str())
        .await
        .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditors_verbs_work_on_a_sqlite_copy_nobody_can_write() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let copies = work.path().join("copies");
    let out = work.path().join("out");
    for d in [&src, &copies, &out] {
        std::fs::create_dir(d).unwrap();
    }
    let src_url = format!("sqlite://{}/aduan.db", src.display());
    ok(&support::aduan(&src, &src_url, &["demo"]));
    vacuum_into(&src.join("aduan.db"), &copies.join("copy.db")).await;
    // A copy in WAL mode without its -wal and -shm, as a plain `cp` of the main file of
    // a cleanly closed database gives: the same pages, with the header's WAL flags
    // (file format write and read versions, bytes 18 and 19) set to 2.
    let mut wal_copy = std::fs::read(copies.join("copy.db")).unwrap();
    wal_copy[18] = 2;
    wal_copy[19] = 2;
    std::fs::write(copies.join("wal-copy.db"), wal_copy).unwrap();
    let before = std::fs::read(copies.join("copy.db")).unwrap();
    chmod(&copies.join("copy.db"), 0o444);
    chmod(&copies.join("wal-copy.db"), 0o444);
    chmod(&copies, 0o555);
    let Some(_mount) = ReadOnlyMount::over(&copies) else {
        return;
    };

    let url = format!("sqlite://{}/copy.db", copies.display());
    let verified = ok(&support::aduan(&out, &url, &["verify"]));
    assert!(verified.starts_with("verified: "), "{verified}");
    ok(&support::aduan(
        &out,
        &url,
        &["export", "--out", "copy.jsonl"],
    ));
    ok(&support::aduan(
        &out,
        &src_url,
        &["export", "--out", "src.jsonl"],
    ));
    assert_eq!(
        std::fs::read(out.join("copy.jsonl")).unwrap(),
        std::fs::read(out.join("src.jsonl")).unwrap()
    );
    let history = ok(&support::aduan(
        &out,
        &url,
        &[
            "history",
            "ADU-2026-0003",
            "--as-of",
            "2026-12-09T00:00:00Z",
        ],
    ));
    assert!(history.contains("ADU-2026-0003"), "{history}");
    let board = ["sla", "--at", "2026-12-21T03:00:00Z", "--json"];
    let on_copy = ok(&support::aduan(&out, &url, &board));
    assert_eq!(on_copy, ok(&support::aduan(&out, &src_url, &board)));
    assert!(on_copy.contains("\"entries\""), "{on_copy}");
    ok(&support::aduan(
        &out,
        &url,
        &["checkpoint", "--out", "cp.json", "--key", "auditor.key"],
    ));
    let extends = ok(&support::aduan(
        &out,
        &url,
        &[
            "verify",
            "--checkpoint",
            "cp.json",
            "--public-key",
            "auditor.pub",
        ],
    ));
    assert!(extends.contains("extends the checkpoint"), "{extends}");

    // A plain copy of a WAL-mode file cannot be read read-only without its -shm: the
    // reason says what to do, and `immutable=1` does it.
    let wal = format!("sqlite://{}/wal-copy.db", copies.display());
    let reason = refused(&support::aduan(&out, &wal, &["verify"]));
    assert!(reason.contains("immutable=1"), "{reason}");
    let verified = ok(&support::aduan(
        &out,
        &format!("{wal}?immutable=1"),
        &["verify"],
    ));
    assert!(verified.starts_with("verified: "), "{verified}");

    assert_eq!(std::fs::read(copies.join("copy.db")).unwrap(), before);
    drop(_mount);
    chmod(&copies, 0o755);
}

#[test]
fn a_wrong_path_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("sqlite://{}/typo.db", d.display());
    for verb in [
        &["verify"][..],
        &["export", "--out", "log.jsonl"],
        &["history", "ADU-2026-0001"],
        &["sla"],
        &["checkpoint", "--out", "cp.json"],
    ] {
        let reason = refused(&support::aduan(d, &url, verb));
        assert!(reason.contains("typo.db"), "{verb:?}: {reason}");
        assert!(!d.join("typo.db").exists(), "{verb:?} created the database");
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditors_verbs_work_on_postgres_sessions_that_cannot_write() {
    let aduan = Installation::new(Backend::Postgres, "cli_read_only").await;
    ok(&aduan.run(&["demo"]));
    let board = ["sla", "--at", "2026-12-21T03:00:00Z", "--json"];
    let board_before = ok(&aduan.run(&board));

    // From now on every session of this database is read-only, as on a standby.
    let name = aduan.url().rsplit('/').next().unwrap().to_owned();
    let mut admin = aduan.db.raw().await;
    admin
        .execute(format!("ALTER DATABASE {name} SET default_transaction_read_only = on").as_str())
        .await
        .unwrap();
    admin.close().await.unwrap();
    let cannot = aduan.run(&["token", "create", "--user", "x", "--role", "upp"]);
    assert!(!cannot.status.success(), "the sessions cannot write");

    let verified = ok(&aduan.run(&["verify"]));
    assert!(verified.starts_with("verified: "), "{verified}");
    ok(&aduan.run(&["export", "--out", "log.jsonl"]));
    ok(&aduan.run(&[
        "history",
        "ADU-2026-0003",
        "--as-of",
        "2026-12-09T00:00:00Z",
    ]));
    assert_eq!(ok(&aduan.run(&board)), board_before);
    ok(&aduan.run(&["checkpoint", "--out", "cp.json"]));
}
