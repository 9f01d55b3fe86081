//! The operator's verbs on a real SQLite file: `status` tells the truth and exits
//! non-zero when something needs attention; `resume` takes a parked complaint back only
//! when its events can be read.

mod support;

use support::aduan;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_a_parked_complaint_and_resume_needs_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    {
        let store = Store::open(&url, workflow_core::ComplaintServices::builtin())
            .await
            .unwrap();
        for id in ["ADU-1", "ADU-2"] {
            store
                .engine()
                .execute(
                    id,
                    cmd(
                        &format!("{id}-r"),
                        upp(),
                        wib("2026-11-30 09:00"),
                        C::Register(registration()),
                    ),
                    None,
                )
                .await
                .unwrap();
        }
        store.close().await;
    }
    let healthy = aduan(dir.path(), &url, &["status"]);
    let out = String::from_utf8_lossy(&healthy.stdout);
    assert!(
        healthy.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    assert!(out.contains("write: ok"), "{out}");

    // A row no version of the engine can read, behind the engine's back.
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut raw = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             VALUES ('complaint', 'ADU-1', 2, 'Disposed', '7', '{\"nonsense\": true}', '{}')",
        )
        .execute(&mut raw)
        .await
        .unwrap();
        raw.close().await.unwrap();
    }
    let parked = aduan(dir.path(), &url, &["status"]);
    let out = String::from_utf8_lossy(&parked.stdout);
    assert!(
        !parked.status.success(),
        "a parked complaint needs an operator: {out}"
    );
    assert!(out.contains("parked complaints"), "{out}");
    assert!(out.contains("ADU-1"), "{out}");
    let json = aduan(dir.path(), &url, &["--json", "status"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["parked"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["parked"][0]["complaint_id"], "ADU-1");
    assert_eq!(report["parked"][0]["sequence"], 2);
    for p in report["projections"].as_array().unwrap() {
        assert_eq!(p["lag"], 0, "the other complaint was projected: {report}");
    }

    let resume = aduan(dir.path(), &url, &["resume", "ADU-1"]);
    let err = String::from_utf8_lossy(&resume.stderr);
    assert!(!resume.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("ADU-1") && err.contains("sequence 2"), "{err}");
    let unknown = aduan(dir.path(), &url, &["resume", "ADU-2"]);
    assert!(!unknown.status.success(), "ADU-2 is not parked");
}

/// User names carry no `:` (command ids are `user:key`): a token for one is refused.
#[test]
fn a_token_for_a_user_name_with_a_colon_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let out = aduan(
        dir.path(),
        &url,
        &["token", "create", "--user", "sari:upp", "--role", "upp"],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no token printed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("`:`"));
}
