//! The real binary on a SQLite file in a small file system that fills up: every command
//! answered 2xx is in the log after a SIGKILL and a restart, every other one is a 503
//! problem with `Retry-After` that a retry with the same key completes exactly once,
//! readiness tells the truth throughout, and the server recovers by itself when space
//! returns.
//!
//! Every wait here is bounded: the loops run over fixed ranges, `Server::start` gives
//! up after 60 s, each request has 60 s read and write timeouts, and filling the disk
//! stops at 256 MiB; a regression fails instead of hanging.

use serde_json::json;
use workflow_store::testing::SmallDisk;

use crate::support;
use crate::support::{token, Reply, Server};

/// Complaint `i`, reported at `reported_at` (the same in every retry of it: a retry with
/// the same key sends the same request).
fn registration(i: usize, reported_at: &str) -> serde_json::Value {
    json!({
        "lapor_id": format!("LAP-FULL-{i:04}"),
        "title": "Jalan berlubang",
        // Large enough that every commit needs fresh pages in the write-ahead log.
        "description": format!("{i} {}", "Lubang besar di depan sekolah. ".repeat(600)),
        "category": "infrastruktur",
        "reported_at": reported_at,
        "complainant": {"name": "Budi", "confidentiality": "anonymous"},
        "upp_review": "Kewenangan Dinas PUPR",
    })
}

/// A SQLite file on a small file system of its own, the folder `aduan` runs in, and a
/// UPP token; `None` where mounting is impossible (the test is then skipped, loudly).
struct OnSmallDisk {
    disk: SmallDisk,
    work: tempfile::TempDir,
    url: String,
    upp: String,
    /// When its complaints were reported: an hour before the test began, so that the
    /// server's SLA monitor finds nothing due during the test.
    reported_at: String,
}

impl OnSmallDisk {
    fn mount(size: &str) -> Option<Self> {
        let disk = SmallDisk::mount(size)?;
        let work = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/aduan.db", disk.path().display());
        let upp = token(work.path(), &url, "sari", "upp", None);
        Some(Self {
            disk,
            work,
            url,
            upp,
            reported_at: support::an_hour_ago(),
        })
    }

    fn serve(&self) -> Server {
        Server::start(self.work.path(), &self.url)
    }

    /// Registers complaint `i`, with a key of its own.
    fn register(&self, server: &Server, i: usize) -> Reply {
        server.call(
            "POST",
            "/api/v1/complaints",
            Some(&self.upp),
            Some(&registration(i, &self.reported_at)),
            Some(&format!("key-{i}")),
        )
    }
}

#[test]
fn a_full_disk_under_a_running_server_loses_nothing_acknowledged() {
    let Some(t) = OnSmallDisk::mount("8m") else {
        return;
    };
    let server = t.serve();
    let register = |server: &Server, i: usize| t.register(server, i);
    for i in 0..3 {
        let r = register(&server, i);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let ready = server.get("/api/v1/health/ready", None);
    assert_eq!(ready.status, 200, "{}", ready.text());

    t.disk.fill();
    let mut acknowledged = Vec::new();
    let mut refused = Vec::new();
    for i in 3..23 {
        let r = register(&server, i);
        match r.status {
            201 => acknowledged.push(i),
            503 => {
                assert_eq!(r.header("content-type"), Some("application/problem+json"));
                assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
                refused.push(i);
            }
            other => panic!("command {i} on a full disk: {other} {}", r.text()),
        }
    }
    assert!(
        !refused.is_empty(),
        "the disk was full, yet every command succeeded: the fault was not injected"
    );
    let ready = server.get("/api/v1/health/ready", None);
    assert_eq!(
        ready.status,
        503,
        "readiness while writes fail: {}",
        ready.text()
    );
    assert!(ready.header("retry-after").is_some());
    let body = ready.json();
    assert_eq!(body["status"], "not_ready");
    assert!(
        body["write"]["commit_failures"].as_u64().unwrap() >= 1,
        "{body}"
    );
    assert!(
        body["write"]["last_write_error"]["message"].is_string(),
        "{body}"
    );
    let live = server.get("/api/v1/health/live", None);
    assert_eq!(live.status, 200);

    // Space returns: the next command goes through, and readiness follows.
    t.disk.free();
    let r = register(&server, 100);
    assert_eq!(r.status, 201, "after the disk was freed: {}", r.text());
    acknowledged.push(100);
    // Each projection's next batch clears the error a full disk left on it; the
    // projector runs them one after another, so the last may take a moment (bounded).
    let mut ready = server.get("/api/v1/health/ready", None);
    for _ in 0..100 {
        if ready.status == 200 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        ready = server.get("/api/v1/health/ready", None);
    }
    assert_eq!(ready.status, 200, "{}", ready.text());

    // A crash, then a restart on the same file.
    server.crash();
    let server = t.serve();
    let events =
        |server: &Server, i: usize| server.event_count(&t.upp, &format!("LAP-FULL-{i:04}"));
    for &i in &acknowledged {
        assert_eq!(
            events(&server, i),
            1,
            "complaint {i} was acknowledged (acknowledged {acknowledged:?}, refused {refused:?})"
        );
    }
    // The refused ones, retried with their own keys, are done exactly once.
    for &i in &refused {
        let r = register(&server, i);
        assert_eq!(r.status, 201, "retry of {i}: {}", r.text());
        let again = register(&server, i);
        assert_eq!((again.status, again.text()), (r.status, r.text()));
        assert_eq!(events(&server, i), 1, "complaint {i}");
    }
    assert!(server.stop().success());
}

/// A file system that is read-only when the server starts. (Linux refuses to remount a
/// file system read-only while a process holds a file on it open for writing, as the
/// server does its database, so a read-only file system is met at start.) The server
/// refuses to start, with a one-line reason, instead of serving a store that cannot
/// take a single command.
#[test]
fn a_read_only_file_system_is_refused_at_start_with_a_clear_reason() {
    let Some(t) = OnSmallDisk::mount("16m") else {
        return;
    };
    let server = t.serve();
    let r = t.register(&server, 0);
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(server.stop().success());

    t.disk.read_only(true);
    let out = support::aduan(t.work.path(), &t.url, &["serve", "--listen", "127.0.0.1:0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "served a read-only database: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.to_lowercase().contains("read-only file system"),
        "{stderr}"
    );
    t.disk.read_only(false);
}
