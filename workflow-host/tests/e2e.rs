//! The real binary on 127.0.0.1, on SQLite and on PostgreSQL: one complaint worked
//! through all three SOP steps over HTTP, with an evidence upload and the BA; then the
//! auditor's CLI verbs on the same database. And a crash: SIGKILL under load, restart,
//! and nothing acknowledged is lost.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::{aduan, request, token, Server};
use workflow_core::{ComplaintServices, TimeZoneSpec};
use workflow_store::testing::{snapshot_views, Backend, TestDb};
use workflow_store::Store;

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 1,
];

fn ok(reply: &support::Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
}

async fn the_whole_sop_over_http_then_audit(backend: Backend, name: &str) {
    let db = TestDb::new(backend, name).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = db.url.clone();
    let upp = token(d, &url, "sari", "upp", None);
    let liaison = token(d, &url, "andi", "liaison", Some("PUPR"));
    let head = token(d, &url, "hendra", "head", Some("PUPR"));
    let server = Server::start(d, &url);
    let today = TimeZoneSpec::jakarta()
        .local_date(chrono::Utc::now())
        .to_string();

    let r = server.call("POST", "/api/v1/complaints", Some(&upp), Some(&json!({
        "id": "ADU-E2E", "lapor_id": "LAP-E2E-1", "title": "Jalan berlubang", "description": "Lubang besar",
        "category": "infrastruktur", "location": "Jl. Tambun Bungai", "reported_at": "2026-11-28T01:00:00Z",
        "complainant": {"name": "Budi", "phone": "0812", "confidentiality": "anonymous"},
        "upp_review": "Kewenangan PUPR"})), Some("reg-1"));
    ok(&r, 201, "register");
    let steps = [
        (
            "dispose",
            &upp,
            json!({"agency": "PUPR", "liaison_officer": "andi"}),
        ),
        (
            "review",
            &liaison,
            json!({"complete": true, "notes": "lengkap"}),
        ),
        (
            "clarify",
            &liaison,
            json!({"field_examination_needed": true, "reasoning": "perlu diukur"}),
        ),
    ];
    for (route, tok, body) in steps {
        ok(
            &server.call(
                "POST",
                &format!("/api/v1/complaints/ADU-E2E/{route}"),
                Some(tok),
                Some(&body),
                None,
            ),
            200,
            route,
        );
    }
    let upload = request(
        server.addr,
        "POST",
        "/api/v1/evidence",
        Some(&liaison),
        Some("image/jpeg"),
        JPEG,
        None,
    )
    .unwrap();
    ok(&upload, 201, "upload");
    let sha = upload.json()["sha256"].as_str().unwrap().to_owned();
    ok(&server.call("POST", "/api/v1/complaints/ADU-E2E/field-verification", Some(&liaison), Some(&json!({
        "visit_date": today, "location": "Jl. Tambun Bungai", "parties_summoned": [{"name": "Rahmat", "position": "Kasi"}],
        "findings": "Lubang 1 m", "evidence": [{"sha256": sha, "caption": "Foto lubang"}]})), None), 200, "field verification");
    ok(&server.call("POST", "/api/v1/complaints/ADU-E2E/ba", Some(&liaison), Some(&json!({
        "number": "BA/E2E/1", "date": today, "addressee": {"name": "Hendra", "position": "Kepala Dinas PUPR", "agency": "PUPR"},
        "signatories": [{"name": "Andi", "position": "Pejabat Penghubung"}], "findings": "Lubang 1 m",
        "conclusion": "Perlu ditambal", "solution": "Ditambal pekan ini"})), None), 200, "BA");
    let page = server.call(
        "GET",
        "/api/v1/complaints/ADU-E2E/ba",
        Some(&head),
        None,
        None,
    );
    ok(&page, 200, "BA page");
    assert!(page.text().contains("BA/E2E/1") && page.text().contains("Foto lubang"));
    ok(
        &server.call(
            "POST",
            "/api/v1/complaints/ADU-E2E/respond",
            Some(&liaison),
            Some(&json!({"response": "Ditambal"})),
            None,
        ),
        200,
        "respond",
    );
    ok(
        &server.call(
            "POST",
            "/api/v1/complaints/ADU-E2E/close",
            Some(&upp),
            Some(&json!({})),
            None,
        ),
        200,
        "close",
    );
    let detail = server.call("GET", "/api/v1/complaints/ADU-E2E", Some(&head), None, None);
    ok(&detail, 200, "detail");
    assert_eq!(detail.json()["status"], "closed");
    assert_eq!(
        detail.json()["registration"]["complainant"]["hidden"],
        true,
        "the head never sees a hidden identity"
    );
    let health = server.call("GET", "/api/v1/health", None, None, None);
    ok(&health, 200, "health");
    let status = server.stop();
    assert!(status.success(), "a graceful stop exits 0");

    let history = aduan(d, &url, &["history", "ADU-E2E", "--json"]);
    assert!(history.status.success());
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history["status"], "closed");
    assert_eq!(history["events"].as_array().unwrap().len(), 8);
    let verify = aduan(d, &url, &["verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let export = aduan(d, &url, &["export", "--out", "log.jsonl"]);
    assert!(export.status.success());
    assert_eq!(
        std::fs::read_to_string(d.join("log.jsonl"))
            .unwrap()
            .lines()
            .count(),
        8
    );
    let offline = aduan(d, &url, &["verify", "--export", "log.jsonl"]);
    assert!(offline.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_sop_over_http_on_sqlite() {
    the_whole_sop_over_http_then_audit(Backend::Sqlite, "e2e_sop_sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_sop_over_http_on_postgres() {
    the_whole_sop_over_http_then_audit(Backend::Postgres, "e2e_sop_postgres").await;
}

/// Eight clients send commands; the server is killed with SIGKILL while they do; after a
/// restart every answered command is in the log, the log verifies, and the views equal
/// a rebuild.
async fn nothing_acknowledged_is_lost_in_a_crash(backend: Backend, name: &str) {
    let db = TestDb::new(backend, name).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let url = db.url.clone();
    let upp = token(&d, &url, "sari", "upp", None);
    let server = Server::start(&d, &url);
    let addr = server.addr;
    let acknowledged: Arc<Mutex<BTreeSet<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (upp, acknowledged, stop, count) = (
            upp.clone(),
            Arc::clone(&acknowledged),
            Arc::clone(&stop),
            Arc::clone(&count),
        );
        clients.push(std::thread::spawn(move || {
            // Bounded: at most 200 complaints per client.
            for n in 0..200 {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let id = format!("ADU-C{c}-{n}");
                let body = json!({"id": id, "lapor_id": id, "title": "t", "description": "d", "category": "c",
                    "reported_at": "2026-11-28T01:00:00Z", "complainant": {"name": "x"}, "upp_review": "r"});
                let key = format!("k-{id}");
                let Ok(reply) = request(addr, "POST", "/api/v1/complaints", Some(&upp), Some("application/json"), body.to_string().as_bytes(), Some(&key)) else {
                    return; // the server is gone
                };
                if reply.status == 201 {
                    acknowledged.lock().unwrap().insert((id.clone(), format!("sari:{key}")));
                    count.fetch_add(1, Ordering::SeqCst);
                }
                let dispose = json!({"agency": "PUPR", "liaison_officer": "andi"});
                let key = format!("k-{id}-d");
                let Ok(reply) = request(addr, "POST", &format!("/api/v1/complaints/{id}/dispose"), Some(&upp), Some("application/json"), dispose.to_string().as_bytes(), Some(&key)) else {
                    return;
                };
                if reply.status == 200 {
                    acknowledged.lock().unwrap().insert((id, format!("sari:{key}")));
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    // Kill it mid-load, once a good number of commands were answered.
    while count.load(Ordering::SeqCst) < 60 {
        std::thread::yield_now();
    }
    server.crash();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 60);

    // Restart: the server catches up on start; then look at what survived.
    let server = Server::start(&d, &url);
    let health = server.call("GET", "/api/v1/health", None, None, None);
    assert_eq!(health.status, 200);
    assert!(server.stop().success());
    let store = Store::open(&url, ComplaintServices::builtin())
        .await
        .unwrap();
    for (id, command_id) in &acknowledged {
        let events = store.engine().events(id).await.unwrap();
        assert!(
            events.iter().any(|e| e.payload.command_id.0 == *command_id),
            "acknowledged {command_id} on {id} was lost"
        );
    }
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    store.projector().catch_up().await.unwrap();
    let incremental = snapshot_views(&store).await;
    for p in store.projector().names() {
        store.projector().rebuild(p, |_| {}).await.unwrap();
    }
    assert_eq!(
        snapshot_views(&store).await,
        incremental,
        "the views equal a rebuild"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loses_nothing_acknowledged_on_sqlite() {
    nothing_acknowledged_is_lost_in_a_crash(Backend::Sqlite, "e2e_crash_sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loses_nothing_acknowledged_on_postgres() {
    nothing_acknowledged_is_lost_in_a_crash(Backend::Postgres, "e2e_crash_postgres").await;
}
