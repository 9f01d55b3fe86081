//! Idempotency keys on the command routes: a retry does the work once and is answered
//! the same, whatever became of the first answer; a key is never another request's.

use axum::http::StatusCode;
use serde_json::json;
use workflow_core::fixtures::cid;

use super::{now, registered, TestApp};

const DISPOSE: &str = "/api/v1/complaints/ADU-1/dispose";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_key_does_the_work_once_and_answers_the_same() {
    let t = TestApp::with("ADU-1", registered()).await;
    let body = json!({"agency": "PUPR", "liaison_officer": "andi"});
    let dispose = async |caller: &str, body| t.post_with_key(DISPOSE, caller, body, "k-1").await;
    let first = dispose("upp", body.clone()).await;
    first.assert_status(StatusCode::OK);
    let before = t.event_count().await;
    let again = dispose("upp", body).await;
    assert_eq!(
        (again.status, again.text.as_str()),
        (first.status, first.text.as_str())
    );
    assert_eq!(t.event_count().await, before);
    assert_eq!(first.json()["command_id"], "sari.upp:k-1");
    let other_body = json!({"agency": "DINKES", "liaison_officer": "x"});
    let other = dispose("upp", other_body.clone()).await;
    other.assert_refused_by("http.idempotency_key_reused");
    // The same key from another user is another request.
    let coord = dispose("coordinator", other_body).await;
    coord.assert_status(StatusCode::OK);
}

/// The same Idempotency-Key and body sent to another complaint is another request: it
/// is refused as a reused key (422), never answered with the first complaint's result
/// while the second is left untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_on_another_complaint_is_refused_not_answered_from_the_first() {
    let t = TestApp::new(now()).await;
    for id in ["ADU-A", "ADU-C"] {
        t.given(id, registered()).await;
    }
    let dispose = async |id: &str| {
        let path = format!("/api/v1/complaints/{id}/dispose");
        let body = json!({"agency": "PUPR", "liaison_officer": "andi"});
        t.post_with_key(&path, "upp", body, "k-9").await
    };
    let first = dispose("ADU-A").await;
    first.assert_status(StatusCode::OK);
    let other = dispose("ADU-C").await;
    other.assert_refused_by("http.idempotency_key_reused");
    let c = t.store.engine().load(&cid("ADU-C")).await.unwrap();
    assert_eq!(
        c.status(),
        workflow_core::Status::Received,
        "ADU-C was not touched"
    );
}

/// Once the events are committed the answer is 2xx, even when keeping the answer for
/// the idempotency key fails (here a real database error raised by a trigger); a retry
/// with the same key is then answered from the log, with the same body, and no second
/// event.
// The fault is injected with SQLite's SQL (a trigger).
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_command_is_acknowledged_when_keeping_its_answer_fails() {
    use sqlx::Executor;

    let t = TestApp::with("ADU-1", registered()).await;
    let mut raw = t.db.raw().await;
    raw.execute(
        "CREATE TRIGGER fail_answers BEFORE INSERT ON idempotency_keys \
         BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END",
    )
    .await
    .unwrap();
    let body = json!({"agency": "PUPR", "liaison_officer": "andi"});
    let before = t.event_count().await;
    let first = t.post_with_key(DISPOSE, "upp", body.clone(), "k-1").await;
    first.assert_status(StatusCode::OK);
    assert_eq!(first.json()["event_type"], "Disposed");
    assert_eq!(t.event_count().await, before + 1);

    raw.execute("DROP TRIGGER fail_answers").await.unwrap();
    let again = t.post_with_key(DISPOSE, "upp", body, "k-1").await;
    assert_eq!(
        (again.status, again.text.as_str()),
        (first.status, first.text.as_str())
    );
    assert_eq!(t.event_count().await, before + 1);
}
