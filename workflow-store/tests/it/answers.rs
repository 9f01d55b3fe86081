//! The answers to idempotency keys, kept together: answers arriving at once share a
//! statement, each is answered with what is kept, and one that cannot be kept fails alone.

use std::sync::Arc;
use std::time::Duration;
#[cfg(feature = "sqlite")]
use std::time::Instant;

use chrono::Utc;
#[cfg(feature = "sqlite")]
use sqlx::Executor;
use workflow_store::access::KeptAnswer;
#[cfg(feature = "sqlite")]
use workflow_store::testing::answers_in_hand;
#[cfg(feature = "sqlite")]
use workflow_store::testing::Backend;
use workflow_store::testing::TestDb;
use workflow_store::{both, Store};

fn answer(body: &str) -> KeptAnswer {
    KeptAnswer {
        request_hash: format!("hash of {body}"),
        status: 201,
        response: body.to_owned(),
    }
}

/// `keys` kept at once, each with the answer `body of KEY` (a key twice: the second's
/// body is `other body of KEY`); what each call returned.
async fn keep_at_once(store: &Arc<Store>, keys: &[&str]) -> Vec<Result<KeptAnswer, String>> {
    let mut seen = std::collections::HashSet::new();
    let calls = keys.iter().map(|key| {
        let body = if seen.insert(*key) {
            format!("body of {key}")
        } else {
            format!("other body of {key}")
        };
        let store = Arc::clone(store);
        let key = (*key).to_owned();
        tokio::spawn(async move {
            store
                .keep_answer("upp-1", &key, answer(&body), Utc::now())
                .await
                .map_err(|e| e.to_string())
        })
    });
    let mut out = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        out.push(
            tokio::time::timeout(Duration::from_secs(30), call)
                .await
                .expect("kept within 30 s")
                .unwrap(),
        );
    }
    out
}

/// Keeps the answer `body of KEY` for `key` in a task of its own.
#[cfg(feature = "sqlite")]
fn spawn_keep(
    store: &Arc<Store>,
    key: &'static str,
) -> tokio::task::JoinHandle<Result<KeptAnswer, workflow_store::StoreError>> {
    let store = Arc::clone(store);
    tokio::spawn(async move {
        store
            .keep_answer("upp-1", key, answer(&format!("body of {key}")), Utc::now())
            .await
    })
}

/// Waits until `holds` is true of `store`'s answers in hand (how many queued, how many
/// callers unanswered), for at most 30 s.
#[cfg(feature = "sqlite")]
async fn until(store: &Store, what: &str, holds: impl Fn((usize, usize)) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !holds(answers_in_hand(store)) {
        assert!(
            Instant::now() < deadline,
            "{what}: not within 30 s (queued, in hand: {:?})",
            answers_in_hand(store)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn answers_kept_at_once_are_each_answered_with_what_is_kept(db: TestDb) {
    let store = Arc::new(db.open().await);
    let mut keys: Vec<String> = (0..20).map(|i| format!("key-{i}")).collect();
    // Two keys sent twice at once, with different answers.
    keys.push("key-3".into());
    keys.push("key-7".into());
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();

    let returned = keep_at_once(&store, &keys).await;

    for (key, got) in keys.iter().zip(&returned) {
        let got = got.as_ref().unwrap_or_else(|e| panic!("{key}: {e}"));
        let kept = store.kept_answer("upp-1", key).await.unwrap().unwrap();
        // Each call is answered with what is kept, twins alike.
        assert_eq!(got, &kept, "{key}");
        assert!(
            kept == answer(&format!("body of {key}"))
                || kept == answer(&format!("other body of {key}")),
            "{key}: {kept:?}"
        );
    }
    // A key kept stays kept: a later answer to it gets the first back.
    let again = store
        .keep_answer("upp-1", "key-0", answer("late"), Utc::now())
        .await
        .unwrap();
    assert_eq!(again, answer("body of key-0"));
    store.close().await;
}
both!(
    at_once,
    answers_kept_at_once_are_each_answered_with_what_is_kept
);

/// SQLite: a raw transaction holding the write lock, and the answer for `key-first`
/// being kept, taken into its statement (which waits on the lock).
#[cfg(feature = "sqlite")]
async fn first_held_at_the_lock(
    db: &TestDb,
    store: &Arc<Store>,
) -> (
    sqlx::AnyConnection,
    tokio::task::JoinHandle<Result<KeptAnswer, workflow_store::StoreError>>,
) {
    let mut raw = db.raw().await;
    raw.execute("BEGIN IMMEDIATE").await.unwrap();
    let first = spawn_keep(store, "key-first");
    until(
        store,
        "the first answer taken into its statement",
        |(queued, in_hand)| queued == 0 && in_hand == 1,
    )
    .await;
    (raw, first)
}

/// SQLite: refuses every answer kept for `key`, behind the store's back.
#[cfg(feature = "sqlite")]
async fn refuse_key(db: &TestDb, key: &str) {
    let mut raw = db.raw().await;
    raw.execute(
        format!(
            "CREATE TRIGGER refuse_key BEFORE INSERT ON idempotency_keys WHEN NEW.idem_key = '{key}' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
        .as_str(),
    )
    .await
    .unwrap();
}

/// SQLite: a raw transaction holds the write lock while the answers arrive, so that
/// they queue and one statement keeps several (PostgreSQL has no writer's turn to queue
/// behind: there each answer is a statement of its own).
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_cannot_be_kept_fails_alone() {
    let db = TestDb::new(Backend::Sqlite, "answers_failing_alone").await;
    let store = Arc::new(db.open().await);
    refuse_key(&db, "key-bad").await;
    // The first blocks on the lock, the others queue behind its turn and are kept
    // together, the refused one among them.
    let (mut held, first) = first_held_at_the_lock(&db, &store).await;
    let keys = ["key-a", "key-bad", "key-b", "key-c"];
    let rest = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { keep_at_once(&store, &keys).await })
    };
    until(
        &store,
        "the four answers queued behind the first",
        |(queued, _)| queued == 4,
    )
    .await;
    held.execute("COMMIT").await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(30), first)
        .await
        .expect("kept within 30 s")
        .unwrap();
    assert_eq!(first.unwrap(), answer("body of key-first"));
    let rest = tokio::time::timeout(Duration::from_secs(30), rest)
        .await
        .expect("kept within 30 s")
        .unwrap();
    for (key, got) in keys.iter().zip(&rest) {
        let kept = store.kept_answer("upp-1", key).await.unwrap();
        if *key == "key-bad" {
            let err = got.as_ref().expect_err("the refused answer fails");
            assert!(err.contains("refused by the test"), "{err}");
            assert_eq!(kept, None);
        } else {
            let body = answer(&format!("body of {key}"));
            assert_eq!(got.as_ref().unwrap(), &body, "{key}");
            assert_eq!(kept, Some(body), "{key}");
        }
    }
    store.close().await;
}

/// A request given up while its statement kept other requests' answers too leaves them
/// unanswered; each of them writes its answer again and is answered. SQLite: a raw
/// transaction holds the write lock so that each statement waits while the test gives
/// its request up.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_taken_by_a_request_given_up_half_way_is_kept_by_its_own_caller() {
    let db = TestDb::new(Backend::Sqlite, "answers_given_up").await;
    let store = Arc::new(db.open().await);
    // The first takes the writer's turn and waits on the lock with its answer alone.
    let (mut raw, first) = first_held_at_the_lock(&db, &store).await;
    // Two more queue behind its turn, the second before the third.
    let second = spawn_keep(&store, "key-second");
    until(&store, "the second answer queued", |(queued, _)| {
        queued == 1
    })
    .await;
    let third = spawn_keep(&store, "key-third");
    until(&store, "the third answer queued", |(queued, _)| queued == 2).await;
    // The first is given up: the second takes the turn and both queued answers, and
    // waits on the lock.
    first.abort();
    until(
        &store,
        "the second taking both answers",
        |(queued, in_hand)| queued == 0 && in_hand == 2,
    )
    .await;
    // The second is given up with the third's answer in its statement.
    second.abort();
    until(&store, "the second given up", |(_, in_hand)| in_hand <= 1).await;
    raw.execute("COMMIT").await.unwrap();
    let third = tokio::time::timeout(Duration::from_secs(30), third)
        .await
        .expect("answered within 30 s")
        .unwrap();
    assert_eq!(third.unwrap(), answer("body of key-third"));
    assert_eq!(
        store.kept_answer("upp-1", "key-third").await.unwrap(),
        Some(answer("body of key-third"))
    );
    store.close().await;
}
