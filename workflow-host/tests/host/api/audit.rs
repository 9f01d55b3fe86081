//! The audit routes beside the auditor's verbs: the same answer either way.

use axum::http::StatusCode;
use serde_json::Value;

use super::{clarified, TestApp};
use crate::support;

/// `aduan history --json` and `GET /complaints/{id}/history` give the same answer,
/// field for field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_is_the_same_json_on_the_command_line_and_over_http() {
    let t = TestApp::with("ADU-1", clarified(true)).await;
    let as_of = "2026-12-01T03:00:00Z";
    let http = t
        .get(
            &format!("/api/v1/complaints/ADU-1/history?as_of={as_of}"),
            "upp",
        )
        .await;
    http.assert_status(StatusCode::OK);
    // On PostgreSQL, the key file the test's store made in the working directory.
    let kek = std::env::current_dir().unwrap().join("aduan.key");
    let mut args = vec!["history", "ADU-1", "--as-of", as_of, "--json"];
    if t.db.sqlite_path().is_none() {
        args.extend(["--kek-file", kek.to_str().unwrap()]);
    }
    // Without asking, the operator is shown the identity as hidden.
    let hidden = support::aduan(t.dir.path(), &t.db.url, &args);
    let hidden: Value = serde_json::from_str(&support::ok(&hidden)).unwrap();
    assert_eq!(
        hidden["state"]["registration"]["complainant"]["hidden"], true,
        "{hidden}"
    );
    // Asking opens it, and the read is recorded under the name given, as over HTTP.
    args.extend(["--reveal-identity", "--as", "sari.upp"]);
    let cli = support::aduan(t.dir.path(), &t.db.url, &args);
    let cli: Value = serde_json::from_str(&support::ok(&cli)).unwrap();
    let http = http.json();
    assert_eq!(cli["complaint_id"], "ADU-1");
    assert_eq!(cli["state"]["status"], "clarified");
    assert!(cli["state"].get("seen_commands").is_none(), "{cli}");
    assert_eq!(cli, http);
    let reads: Vec<(String, String)> = t
        .store
        .identity_reads(&workflow_core::fixtures::cid("ADU-1"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.user, r.via))
        .collect();
    assert!(
        reads.contains(&(
            "sari.upp".to_owned(),
            "aduan history --reveal-identity".to_owned()
        )),
        "{reads:?}"
    );
}
