//! How the API refuses: every refusal, whoever makes it (a handler, the framework, a
//! panic, a store that cannot write), is an `application/problem+json` with its own
//! status.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{clarified, disposed, now, TestApp};
use crate::support::JPEG;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_bad_request_gets_its_own_clear_answer() {
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;
    let before = t.event_count().await;
    let path = "/api/v1/complaints/ADU-1/review";
    let json = Some("application/json");
    let cases = [
        (
            "{\"complete\": tr",
            json,
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            "{\"complete\": true, \"x\": 1}",
            json,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            "{\"complete\": \"yes\"}",
            json,
            StatusCode::BAD_REQUEST,
            "wrong type",
        ),
        (
            "{\"complete\": true}",
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not JSON",
        ),
        (
            "{\"complete\": true}",
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "no content type",
        ),
        (
            "{\"complete\": true, \"missing_items\": [\"x\"]}",
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "rule",
        ),
    ];
    for (body, content_type, status, what) in cases {
        let reply = t.post_bytes(path, "liaison_pupr", content_type, body).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_eq!(reply.content_type(), "application/problem+json", "{what}");
        let problem = reply.json();
        assert_eq!(problem["status"], status.as_u16());
        assert!(
            problem["title"].is_string()
                && problem["detail"].is_string()
                && problem["type"].is_string()
        );
    }
    let big = "x".repeat(70 * 1024);
    let r = t
        .post_bytes(
            path,
            "liaison_pupr",
            json,
            format!("{{\"notes\": \"{big}\"}}"),
        )
        .await;
    r.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    // A state conflict, an unknown complaint and an id that is none.
    for (path, caller, body, status) in [
        (
            "/api/v1/complaints/ADU-1/respond",
            "liaison_pupr",
            json!({"response": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/complaints/ADU-1/close",
            "upp",
            json!({}),
            StatusCode::CONFLICT,
        ),
        (
            "/api/v1/complaints/ADU-404/close",
            "upp",
            json!({}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/complaints/bad%20id/close",
            "upp",
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = t.post(path, caller, body).await;
        assert_eq!(r.status, status, "{path}: {}", r.text);
    }
    // Evidence that was never uploaded, and uploads that are not what they claim.
    t.given("ADU-2", clarified(true)).await;
    let visit = json!({"visit_date": "2026-12-01", "location": "l", "parties_summoned": [{"name": "n", "position": "p"}],
        "findings": "f", "evidence": [{"sha256": "ab".repeat(32), "caption": "c"}]});
    let r = t
        .post(
            "/api/v1/complaints/ADU-2/field-verification",
            "liaison_pupr",
            visit,
        )
        .await;
    r.assert_refused_by("evidence.unknown");
    let mut huge = JPEG.to_vec();
    huge.resize(5000, 0);
    for (content_type, body, status) in [
        (
            "application/pdf",
            JPEG.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "image/jpeg",
            b"plain text".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("image/jpeg", huge, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let r = t
            .post_bytes("/api/v1/evidence", "upp", Some(content_type), body)
            .await;
        assert_eq!(r.status, status, "an upload as {content_type}");
    }
    assert_eq!(
        t.get("/api/v1/nowhere", "upp").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.event_count().await,
        before + 4,
        "only the four given steps of ADU-2 were written"
    );
}

/// Refusals made before a handler runs (the body limit, the method, the path, an
/// unknown route) are problems with their own status, like every other error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_a_problem_with_its_own_status() {
    let t = TestApp::new(now()).await;
    let big = format!("{{\"notes\": \"{}\"}}", "x".repeat(70 * 1024));
    for (path, content_type, body, status, what) in [
        (
            "/api/v1/complaints/ADU-1/review",
            "application/json",
            big.into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "a JSON body over the limit",
        ),
        (
            "/api/v1/evidence",
            "image/jpeg",
            vec![0xFF; 8192],
            StatusCode::PAYLOAD_TOO_LARGE,
            "an upload over the limit",
        ),
        (
            "/api/v1/complaints/ADU-1/review",
            "text/plain",
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not JSON",
        ),
    ] {
        t.post_bytes(path, "liaison_pupr", Some(content_type), body)
            .await
            .assert_problem(status, what);
    }
    let r = t
        .call(
            axum::http::Method::DELETE,
            "/api/v1/complaints",
            "upp",
            None,
            None,
        )
        .await;
    r.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "DELETE on a list");
    assert!(r.header("allow").contains("GET"), "405 names the methods");
    for (path, what) in [
        ("/api/v1/complaints/%FF%FE", "a path that is not UTF-8"),
        ("/api/v1/evidence/%C0", "an evidence path that is not UTF-8"),
        (
            "/api/v1/complaints?limit=lots",
            "a query that does not parse",
        ),
    ] {
        t.get(path, "upp")
            .await
            .assert_problem(StatusCode::BAD_REQUEST, what);
    }
    for path in ["/nowhere", "/api/v1/nowhere", "/api/v2/complaints", "/"] {
        t.get(path, "upp")
            .await
            .assert_problem(StatusCode::NOT_FOUND, path);
    }
}

/// 401 says how to authenticate; the scheme's name is case-insensitive (RFC 9110).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_asks_for_a_bearer_token_and_the_scheme_is_case_insensitive() {
    let t = TestApp::new(now()).await;
    let upp = &t.tokens["upp"];
    for auth in [
        None,
        Some("Bearer nonsense".to_owned()),
        Some("Basic dXNlcjpwdw==".to_owned()),
        Some(format!("Bearer{upp}")),
    ] {
        let r = t
            .get_authorized("/api/v1/complaints", auth.as_deref())
            .await;
        r.assert_problem(StatusCode::UNAUTHORIZED, &format!("{auth:?}"));
        assert!(
            r.header("www-authenticate").starts_with("Bearer"),
            "{auth:?}: {:?}",
            r.headers
        );
    }
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = t
            .get_authorized("/api/v1/complaints", Some(&format!("{scheme} {upp}")))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.text);
    }
}

#[tokio::test]
async fn a_panic_in_a_handler_is_a_500_problem_not_a_dropped_connection() {
    let router = Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                if true {
                    panic!("boom");
                }
                "never"
            }),
        )
        .layer(axum::middleware::from_fn(workflow_host::http::log_requests));
    let response = router
        .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        problem["detail"], "internal error",
        "the panic's text stays in the log"
    );
}

/// A store that cannot write answers 503 with a `Retry-After` hint, as problem+json,
/// whichever layer met the error.
// The fault is SQLite's own (a writer holding the database's lock).
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_write_answers_503_with_retry_after() {
    use super::registered;
    use sqlx::Executor;

    let t = TestApp::with("ADU-1", registered()).await;
    let mut raw = t.db.raw().await;
    // Hold SQLite's write lock: every append waits its busy timeout, then gives up.
    raw.execute("BEGIN IMMEDIATE").await.unwrap();
    let body = json!({"agency": "PUPR", "liaison_officer": "andi"});
    let reply = t
        .post("/api/v1/complaints/ADU-1/dispose", "upp", body)
        .await;
    raw.execute("ROLLBACK").await.unwrap();
    reply.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.content_type(), "application/problem+json");
    assert_eq!(reply.json()["status"], 503);
    assert!(
        reply.headers.contains_key("retry-after"),
        "no Retry-After on a 503"
    );
}

/// Every answer names its request's id in `X-Request-Id`, and a problem in its body
/// too: the caller's own when it is a sane token, a fresh one otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_and_answers_carry_the_request_id() {
    let t = TestApp::new(now()).await;
    let send = |id: Option<&str>| {
        let mut req = Request::get("/api/v1/no-such-route");
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        t.send(req.body(Body::empty()).unwrap())
    };
    let mine = send(Some("trace-4711")).await;
    mine.assert_problem(StatusCode::NOT_FOUND, "no route");
    assert_eq!(mine.header("x-request-id"), "trace-4711");
    assert_eq!(mine.json()["request_id"], "trace-4711");
    let fresh = send(None).await;
    let id = fresh.header("x-request-id").to_owned();
    assert_eq!(id.len(), 24, "{id}");
    assert_eq!(fresh.json()["request_id"], id.as_str());
    let injected = send(Some("x=1 level=error")).await;
    assert_ne!(injected.header("x-request-id"), "x=1 level=error");
    assert_eq!(injected.header("x-request-id").len(), 24);
    let ok = t.get("/api/v1/health/live", "anonymous").await;
    assert_eq!(
        ok.header("x-request-id").len(),
        24,
        "successes carry one too"
    );
}
