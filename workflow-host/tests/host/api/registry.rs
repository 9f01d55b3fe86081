//! What the agency registry and the tokens' lifetimes change over HTTP: a disposition
//! names a registered agency in service or is refused as a rule (422); a liaison
//! officer's or head's token without an agency is refused (403), never read as every
//! agency; an expired token is answered as an unknown one (401); a token's use is
//! written at most once a minute.

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::json;
use sqlx::Executor;
use workflow_core::fixtures as fx;
use workflow_core::{AgencyCode, Role};
use workflow_store::agency::AgencyDetails;

use super::{disposed, now, registered, TestApp};

fn disposition(agency: &str) -> serde_json::Value {
    json!({"agency": agency, "liaison_officer": "penghubung.x"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_is_disposed_only_to_a_registered_agency_in_service() {
    let t = TestApp::with("ADU-1", registered()).await;
    let path = "/api/v1/complaints/ADU-1/dispose";
    let before = t.event_count().await;

    let unknown = t.post(path, "upp", disposition("DISHUB")).await;
    unknown.assert_refused_by("agency.unknown");
    assert_eq!(
        unknown.content_type(),
        "application/problem+json",
        "{}",
        unknown.text
    );
    assert!(unknown.json()["detail"]
        .as_str()
        .unwrap()
        .contains("DISHUB"));

    let lower = t.post(path, "upp", disposition("pupr")).await;
    lower.assert_refused_by("agency.code_invalid");
    assert!(
        lower.json()["detail"].as_str().unwrap().contains("`PUPR`"),
        "names the upper-case code: {}",
        lower.text
    );
    assert_eq!(t.event_count().await, before, "nothing recorded");

    t.store
        .register_agency("DISHUB", &AgencyDetails::named("Dinas Perhubungan"), now())
        .await
        .unwrap();
    t.store
        .remove_agency(&AgencyCode("DISHUB".into()), true, now())
        .await
        .unwrap();
    t.post(path, "upp", disposition("DISHUB"))
        .await
        .assert_refused_by("agency.retired");
    assert_eq!(t.event_count().await, before);

    let done = t.post(path, "upp", disposition("PUPR")).await;
    done.assert_status(StatusCode::OK);
    assert_eq!(done.json()["status"], "disposed");
    assert_eq!(t.event_count().await, before + 1);
}

/// A liaison officer's token that names no agency, as an older version could issue.
async fn agencyless_token(t: &TestApp, role: Role) -> String {
    use sha2::Digest;
    let token = format!("aduan_without_agency_{role}");
    let hash = workflow_store::chain::hex(&sha2::Sha256::digest(token.as_bytes()));
    let mut raw = t.db.raw().await;
    raw.execute(
        format!(
            "INSERT INTO api_tokens (token_hash, user_name, role, agency, created_at) \
             VALUES ('{hash}', 'tanpa.dinas.{role}', '{role}', NULL, '2026-11-01T00:00:00.000000Z')"
        )
        .as_str(),
    )
    .await
    .unwrap();
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agency_role_without_an_agency_sees_nothing() {
    let t = TestApp::with("ADU-1", registered()).await;
    t.given("ADU-2", disposed("PUPR")).await;
    for role in [Role::Liaison, Role::Head] {
        let token = agencyless_token(&t, role).await;
        let bearer = format!("Bearer {token}");
        for path in [
            "/api/v1/complaints",
            "/api/v1/complaints?agency=PUPR",
            "/api/v1/sla",
            // Not disposed to anyone: an agency of "none" must not match it.
            "/api/v1/complaints/ADU-1",
            "/api/v1/complaints/ADU-2",
        ] {
            let r = t.get_authorized(path, Some(&bearer)).await;
            r.assert_problem(StatusCode::FORBIDDEN, &format!("{role} {path}"));
            assert!(
                r.json()["detail"].as_str().unwrap().contains("no agency"),
                "{}",
                r.text
            );
        }
    }
    // The fixtures' own tokens are as they were.
    t.get("/api/v1/complaints/ADU-2", "liaison_pupr")
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_answered_as_an_unknown_one() {
    let t = TestApp::new(now()).await;
    let issued = now() - TimeDelta::days(30);
    let expired = t
        .store
        .create_expiring_token(&fx::upp(), now() - TimeDelta::hours(1), issued)
        .await
        .unwrap();
    let valid = t
        .store
        .create_expiring_token(&fx::upp(), now() + TimeDelta::minutes(1), issued)
        .await
        .unwrap();
    let unknown = t
        .get_authorized("/api/v1/complaints", Some("Bearer aduan_unknown"))
        .await;
    let old = t
        .get_authorized("/api/v1/complaints", Some(&format!("Bearer {expired}")))
        .await;
    for r in [&unknown, &old] {
        r.assert_problem(StatusCode::UNAUTHORIZED, "expired or unknown");
        assert_eq!(r.header("www-authenticate"), "Bearer realm=\"aduan\"");
    }
    for field in ["type", "title", "status", "detail"] {
        assert_eq!(
            old.json()[field],
            unknown.json()[field],
            "nothing tells them apart"
        );
    }
    t.get_authorized("/api/v1/complaints", Some(&format!("Bearer {valid}")))
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_token_records_its_last_use() {
    let t = TestApp::new(now()).await;
    let used = |t: &TestApp, user: &'static str| {
        let store = std::sync::Arc::clone(&t.store);
        async move {
            store
                .tokens()
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.user.0 == user)
                .unwrap()
                .last_used_at
        }
    };
    assert_eq!(used(&t, "auditor.apip").await, None);
    t.get("/api/v1/complaints", "apip")
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(used(&t, "auditor.apip").await, Some(now()));
    assert_eq!(used(&t, "sari.upp").await, None, "only the caller's");
}
