//! `POST /api/v1/imports/lapor`: UPP sends a LAPOR! export as JSON Lines, CSV or
//! multipart with its attachments; each report is registered once, and a line that
//! cannot be imported is answered with its number, field and reason.

use axum::http::StatusCode;
use serde_json::json;
use workflow_store::testing::Backend;

use super::{now, TestApp};
use crate::support::JPEG;

async fn app(backend: Backend) -> TestApp {
    TestApp::on(backend, now(), workflow_store::ReadinessPolicy::default()).await
}

const PATH: &str = "/api/v1/imports/lapor";

fn report(tracking_id: &str) -> serde_json::Value {
    json!({
        "tracking_id": tracking_id,
        "title": "Sampah menumpuk",
        "content": "Sampah di pasar tidak diangkut tiga hari.",
        "category": "lingkungan",
        "reported_at": "2026-11-27 08:00",
        "status": "verification",
        "reporter_name": "Maria Pelapor",
    })
}

on_each_backend!(upp_imports_json_lines_once_and_each_bad_line_is_answered: import_json_lines_sqlite, import_json_lines_postgres);

async fn upp_imports_json_lines_once_and_each_bad_line_is_answered(backend: Backend, _: &str) {
    let t = app(backend).await;
    let mut disposed = report("LAP-HTTP-2");
    disposed["status"] = "disposed".into();
    disposed["institution"] = "PUPR".into();
    disposed["disposed_at"] = "2026-11-28 09:00".into();
    disposed["liaison_officer"] = "penghubung.pupr".into();
    let mut late = report("LAP-HTTP-3");
    late["status"] = "disposed".into();
    late["institution"] = "PUPR".into();
    late["disposed_at"] = "2026-12-31 09:00".into();
    late["liaison_officer"] = "penghubung.pupr".into();
    let body = format!("{}\n{disposed}\n{late}\n[]\n", report("LAP-HTTP-1"));
    let first = t
        .post_bytes(PATH, "upp", Some("application/x-ndjson"), body.clone())
        .await;
    first.assert_status(StatusCode::OK);
    let summary = first.json();
    assert_eq!(
        summary["imported"],
        json!([{"line": 1, "complaint_id": "LAP-HTTP-1"}, {"line": 2, "complaint_id": "LAP-HTTP-2"}])
    );
    assert_eq!(summary["refused"][0]["line"], 3, "{summary}");
    assert_eq!(summary["refused"][0]["field"], "disposed_at");
    assert_eq!(
        summary["refused"][0]["rule"],
        "import.disposition_between_report_and_import"
    );
    assert_eq!(summary["refused"][1]["line"], 4);
    assert_eq!(summary["refused"][1]["reason"], "not a JSON object");
    let events = t.event_count().await;
    let again = t
        .post_bytes(PATH, "upp", Some("application/x-ndjson"), body)
        .await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.json()["imported"], json!([]));
    assert_eq!(again.json()["already_present"].as_array().unwrap().len(), 2);
    assert_eq!(
        t.event_count().await,
        events,
        "a second import writes nothing"
    );
    // The complaint reads as any other, disposed as LAPOR! disposed it.
    let detail = t.get("/api/v1/complaints/LAP-HTTP-2", "upp").await;
    detail.assert_status(StatusCode::OK);
    assert_eq!(detail.json()["status"], "disposed", "{}", detail.text);
}

on_each_backend!(a_multipart_import_carries_its_attachments_and_csv: import_multipart_sqlite, import_multipart_postgres);

async fn a_multipart_import_carries_its_attachments_and_csv(backend: Backend, _: &str) {
    let t = app(backend).await;
    let boundary = "batas-impor";
    let csv = "tracking_id,title,content,category,reported_at,status,reporter_name,attachments\n\
               LAP-MP-1,Jembatan,Retak,infrastruktur,2026-11-27 08:00,verification,Maria,foto.jpg\n";
    let mut body = Vec::new();
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"reports\"; filename=\"laporan.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"foto\"; filename=\"foto.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(JPEG);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let reply = t
        .post_bytes(
            PATH,
            "upp",
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body,
        )
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(
        reply.json()["imported"],
        json!([{"line": 2, "complaint_id": "LAP-MP-1"}]),
        "{}",
        reply.text
    );
    let detail = t.get("/api/v1/complaints/LAP-MP-1", "upp").await;
    let attachments = &detail.json()["registration"]["attachments"];
    assert_eq!(attachments[0]["caption"], "foto.jpg", "{}", detail.text);
    // The photo is served to UPP as uploaded.
    let sha = attachments[0]["sha256"].as_str().unwrap();
    let photo = t.get(&format!("/api/v1/evidence/{sha}"), "upp").await;
    photo.assert_status(StatusCode::OK);
    assert_eq!(photo.content_type(), "image/jpeg");
}

on_each_backend!(only_upp_imports_and_only_an_export_is_read: import_only_upp_sqlite, import_only_upp_postgres);

async fn only_upp_imports_and_only_an_export_is_read(backend: Backend, _: &str) {
    let t = app(backend).await;
    let body = format!("{}\n", report("LAP-X"));
    for caller in ["liaison_pupr", "coordinator", "apip", "head_pupr"] {
        t.post_bytes(PATH, caller, Some("application/x-ndjson"), body.clone())
            .await
            .assert_problem(StatusCode::FORBIDDEN, caller);
    }
    t.post_bytes(
        PATH,
        "anonymous",
        Some("application/x-ndjson"),
        body.clone(),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "no token");
    t.post_bytes(PATH, "upp", Some("application/json"), body.clone())
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "JSON is not JSON Lines");
    t.post_bytes(PATH, "upp", Some("text/csv"), vec![0xff, 0xfe, 0x00])
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "not UTF-8");
    let boundary = "dua";
    let part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"reports\"; filename=\"a.jsonl\"\r\n\r\n{body}\r\n"
    );
    t.post_bytes(
        PATH,
        "upp",
        Some(&format!("multipart/form-data; boundary={boundary}")),
        format!("{part}{part}--{boundary}--\r\n"),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "two exports in one request");
    assert_eq!(t.event_count().await, 0, "nothing was registered");
}
