//! PostgreSQL restarted under a running server while clients send commands: the clients
//! retry what got no answer or a 503 with the same Idempotency-Key; afterwards every
//! command is in the log exactly once and the server is ready again by itself.
//!
//! Its own test binary: the restart would break tests running beside it.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{request, Installation};
use workflow_store::testing::{server_url, Backend, TestDb};

/// The local cluster serving `TEST_DATABASE_URL`, as `pg_ctlcluster` names it.
fn local_cluster() -> Option<(String, String)> {
    let url = server_url();
    let port = url
        .rsplit_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .and_then(|(host, _)| host.rsplit_once(':'))
        .map_or("5432", |(_, p)| p)
        .to_owned();
    // Restarting a cluster needs root (or the postgres user).
    if !support::is_root() {
        return None;
    }
    let out = std::process::Command::new("pg_lsclusters")
        .arg("--no-header")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[2] == port).then(|| (f[0].to_owned(), f[1].to_owned()))
    })
}

/// The pipes of this test process that the server serving `db` holds: a wrapper such as
/// `faketime` waits for every holder of its pipe to end, so a server holding it keeps
/// the test run from ending. Read from `/proc` (root) for the postmaster, the parent of
/// this session's backend.
async fn pipes_held_by_the_server(db: &TestDb) -> Vec<String> {
    use sqlx::Row;
    let mut raw = db.raw().await;
    let backend: i32 = sqlx::query("SELECT pg_backend_pid() AS pid")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get("pid");
    let status = std::fs::read_to_string(format!("/proc/{backend}/status")).unwrap();
    let postmaster = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .map(|p| p.trim().to_owned())
        .expect("a process's status names its parent");
    // A descriptor closed between the listing and its reading is gone (ENOENT); any
    // other error fails the test rather than hide a pipe.
    let pipes = |dir: &str| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| match std::fs::read_link(e.unwrap().path()) {
                Ok(target) => Some(target.to_string_lossy().into_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => panic!("reading {dir}: {e}"),
            })
            .filter(|target| target.starts_with("pipe:"))
            .collect()
    };
    let ours = pipes("/proc/self/fd");
    pipes(&format!("/proc/{postmaster}/fd"))
        .intersection(&ours)
        .cloned()
        .collect()
}

async fn postmaster_start(db: &TestDb) -> String {
    use sqlx::Row;
    let mut raw = db.raw().await;
    sqlx::query("SELECT pg_postmaster_start_time()::text AS t")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get("t")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_loses_nothing_and_doubles_nothing() {
    let Some((version, cluster)) = local_cluster() else {
        eprintln!(
            "\n\n*** SKIPPED: not root, or TEST_DATABASE_URL is not a local cluster \
             pg_ctlcluster can restart; the PostgreSQL restart was NOT tested ***\n"
        );
        return;
    };
    let aduan = Installation::new(Backend::Postgres, "pg_restart_under_load").await;
    let upp = aduan.token("sari", "upp", None);
    let server = aduan.serve(&[]);
    let addr = server.addr;
    let acknowledged = Arc::new(support::Counter::default());
    let done = Arc::new(AtomicBool::new(false));
    const CLIENTS: usize = 4;
    // Each client sends commands until told to stop, retrying each one with its own key
    // until it is acknowledged; it returns the commands it sent and how often it retried.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let upp = upp.clone();
            let acknowledged = Arc::clone(&acknowledged);
            let done = Arc::clone(&done);
            // Reported an hour ago: the server's SLA monitor runs on the wall clock.
            let reported_at = support::an_hour_ago();
            std::thread::spawn(move || {
                let mut retries = 0;
                let mut sent = Vec::new();
                for n in 0.. {
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = c * 10_000 + n;
                    let body = json!({
                        "lapor_id": format!("LAP-R-{i}"), "title": "Lampu padam", "description": "Tiga lampu",
                        "category": "penerangan", "reported_at": reported_at,
                        "complainant": {"name": "Siti"}, "upp_review": "Dishub",
                    })
                    .to_string();
                    let key = format!("restart-{i}");
                    let started = Instant::now();
                    loop {
                        let reply = request(
                            addr,
                            "POST",
                            "/api/v1/complaints",
                            Some(&upp),
                            Some("application/json"),
                            body.as_bytes(),
                            Some(&key),
                        );
                        match reply {
                            Ok(r) if r.status == 201 => break,
                            Ok(r) if r.status == 503 => {}
                            Ok(r) => panic!("LAP-R-{i}: {} {}", r.status, r.text()),
                            Err(_) => {} // no answer: the outcome is unknown, so retry
                        }
                        retries += 1;
                        assert!(
                            started.elapsed() < Duration::from_secs(90),
                            "LAP-R-{i} was never acknowledged"
                        );
                        // The client's pause before its retry (what a real client does
                        // on 503 or a dropped connection), not a wait for another thread.
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    sent.push(format!("LAP-R-{i}"));
                    acknowledged.add();
                }
                (sent, retries)
            })
        })
        .collect();
    let wait_for = |target: usize, what: &str| {
        acknowledged.wait_for(target, Duration::from_secs(90), what);
    };
    wait_for(20, "before the restart");
    let started_before = postmaster_start(&aduan.db).await;
    let restarted_at = chrono::Utc::now();
    // The server comes back holding none of this process's descriptors: bash closes
    // every one above 2 before it runs `pg_ctlcluster`. Under `.ci/run`'s moved clock
    // the server would otherwise hold the `faketime` wrapper's pipe, and the wrapper
    // would wait for it until the server ends. (`pg_ctlcluster` gives the server the
    // cluster's own environment, so libfaketime does not reach it.)
    let mut restart = std::process::Command::new("bash");
    restart
        .args([
            "-c",
            r#"for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec pg_ctlcluster "$@""#,
            "bash",
            &version,
            &cluster,
            "restart",
            "-m",
            "fast",
        ])
        .stdin(std::process::Stdio::null());
    let restart = restart.status().unwrap();
    assert!(restart.success(), "pg_ctlcluster restart failed");
    // Load goes on after the restart until twenty more commands are in.
    let after = acknowledged.get();
    wait_for(after + 20, "after the restart");
    done.store(true, Ordering::SeqCst);
    let mut sent = Vec::new();
    let mut retries = 0;
    for c in clients {
        let (s, r) = c.join().unwrap();
        sent.extend(s);
        retries += r;
    }
    eprintln!(
        "{} commands; retries by clients across the restart: {retries}",
        sent.len()
    );
    assert_ne!(
        postmaster_start(&aduan.db).await,
        started_before,
        "the server was not restarted: the fault was not injected"
    );
    assert_eq!(
        pipes_held_by_the_server(&aduan.db).await,
        Vec::<String>::new(),
        "the restarted server holds this test process's pipes"
    );

    // Ready again by itself, bounded.
    let waited = Instant::now();
    loop {
        let r = server.get("/api/v1/health/ready", None);
        if r.status == 200 {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "never ready again: {}",
            r.text()
        );
        // Readiness is only observable by asking: poll, bounded above.
        std::thread::sleep(Duration::from_millis(200));
    }
    // Listening for other hosts' commits again, on a session made since the restart,
    // with the session the restart ended told (bounded).
    let waited = Instant::now();
    loop {
        let health = server.get("/api/v1/health", None);
        assert_eq!(health.status, 200, "{}", health.text());
        let other_hosts = &health.json()["other_hosts"];
        let since = other_hosts["since"]
            .as_str()
            .and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok());
        if other_hosts["listening"] == true && since.is_some_and(|s| s > restarted_at) {
            assert!(other_hosts["failures"].as_u64() >= Some(1), "{other_hosts}");
            assert!(
                other_hosts["last_error"]["message"].is_string(),
                "{other_hosts}"
            );
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "never listening again since the restart at {restarted_at}: {other_hosts}"
        );
        // Only observable by asking: poll, bounded above.
        std::thread::sleep(Duration::from_millis(200));
    }
    for id in &sent {
        assert_eq!(server.event_count(&upp, id), 1, "{id} exactly once");
    }
    assert!(server.stop().success());
}
