//! The operators' routes: liveness, readiness and metrics.

use axum::http::StatusCode;

use super::{registered, TestApp};

/// Metrics need a `system` or `coordinator` token; they count what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_operators_and_count_commits() {
    let t = TestApp::with("ADU-1", registered()).await;
    let anonymous = t.get("/api/v1/metrics", "anonymous").await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
    let liaison = t.get("/api/v1/metrics", "liaison_pupr").await;
    liaison.assert_status(StatusCode::FORBIDDEN);
    for caller in ["system", "coordinator"] {
        let m = t.get("/api/v1/metrics", caller).await;
        assert_eq!(m.status, StatusCode::OK, "{caller}: {}", m.text);
        assert!(m.content_type().starts_with("application/openmetrics-text"));
        assert!(m.text.contains("aduan_commits_total 1\n"), "{}", m.text);
        assert!(m.text.contains("aduan_commit_failures_total 0\n"));
        assert!(m
            .text
            .contains("aduan_projection_lag{projection=\"complaints\"} 0\n"));
        assert!(m.text.ends_with("# EOF\n"));
    }
}

/// Liveness needs nothing; readiness proves the write path with a probe when no
/// commit was seen, and names each check.
// The fault is SQLite's own (a writer holding the database's lock).
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_its_checks_and_liveness_touches_nothing() {
    use super::now;
    use serde_json::json;
    use sqlx::Executor;

    // Probe on every call, however recent the last commit.
    let policy = workflow_store::ReadinessPolicy {
        recent_commit: std::time::Duration::ZERO,
        ..Default::default()
    };
    let t = TestApp::with_readiness(now(), policy).await;
    let live = t.get("/api/v1/health/live", "anonymous").await;
    assert_eq!(
        (live.status, live.json()["status"].clone()),
        (StatusCode::OK, json!("live"))
    );
    let ready = t.get("/api/v1/health/ready", "anonymous").await;
    ready.assert_status(StatusCode::OK);
    let body = ready.json();
    assert_eq!(body["status"], "ready");
    let names: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "write",
            "projection:complaints",
            "projection:outbox",
            "projection:timeline"
        ]
    );
    assert_eq!(body["checks"][0]["detail"], "a probe write was committed");

    // A write lock held elsewhere: the probe cannot commit in time, so not ready.
    let mut raw = t.db.raw().await;
    raw.execute("BEGIN IMMEDIATE").await.unwrap();
    let blocked = t.get("/api/v1/health/ready", "anonymous").await;
    raw.execute("ROLLBACK").await.unwrap();
    blocked.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(blocked.headers.contains_key("retry-after"));
    assert_eq!(blocked.json()["checks"][0]["ok"], false);
}

/// The health routes answer anyone, but a failure's own words only a `system` or
/// `coordinator` token: anyone else (no token, another role's, the auditors' too) reads
/// `withheld` in their place, with the check's name and verdict, the engine's own
/// words and the error's time. Here a probe write that cannot commit while a writer
/// elsewhere holds SQLite's lock; an operator's token is honoured while the lock is
/// still held (it is looked up without a write).
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failures_own_words_are_shown_to_operators_only() {
    use super::now;
    use sqlx::Executor;
    use workflow_host::http::health::WITHHELD;

    let policy = workflow_store::ReadinessPolicy {
        recent_commit: std::time::Duration::ZERO,
        ..Default::default()
    };
    let t = TestApp::with_readiness(now(), policy).await;
    let mut raw = t.db.raw().await;
    raw.execute("BEGIN IMMEDIATE").await.unwrap();
    let blocked = t.get("/api/v1/health/ready", "anonymous").await;
    let during = t.get("/api/v1/health", "system").await;
    raw.execute("ROLLBACK").await.unwrap();
    blocked.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body = blocked.json();
    assert_eq!(body["checks"][0]["name"], "write");
    assert_eq!(body["checks"][0]["ok"], false);
    let timed_out = "a probe write did not finish in 3000 ms";
    assert_eq!(
        body["checks"][0]["detail"], timed_out,
        "the engine's own words: {body}"
    );
    assert_eq!(
        body["write"]["last_write_error"]["message"], WITHHELD,
        "{body}"
    );
    assert!(
        body["write"]["last_write_error"]["at"].is_string(),
        "{body}"
    );
    during.assert_status(StatusCode::OK);
    assert_eq!(
        during.json()["write"]["last_write_error"]["message"],
        timed_out,
        "a system token while the lock is held elsewhere"
    );

    // The failed write is held against readiness for a while (10 s): the same check,
    // each caller in turn.
    for (caller, shown) in [
        ("anonymous", false),
        ("liaison_pupr", false),
        ("system", true),
        ("coordinator", true),
        ("apip", false),
    ] {
        let ready = t.get("/api/v1/health/ready", caller).await.json();
        let detail = ready["checks"][0]["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("a write failed at "),
            "{caller}: {detail}"
        );
        let health = t.get("/api/v1/health", caller).await;
        health.assert_status(StatusCode::OK);
        let health = health.json();
        let message = health["write"]["last_write_error"]["message"]
            .as_str()
            .unwrap();
        if shown {
            assert!(
                detail.ends_with(&format!(": {timed_out}")),
                "{caller}: {detail}"
            );
            assert_eq!(message, timed_out, "{caller}");
        } else {
            assert!(
                detail.ends_with(&format!(": {WITHHELD}")),
                "{caller}: {detail}"
            );
            assert_eq!(message, WITHHELD, "{caller}");
        }
    }
}
