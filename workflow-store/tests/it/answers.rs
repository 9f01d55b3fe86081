//! The answers to idempotency keys, kept together: answers arriving at once share a
//! statement, each key keeps its first answer, and one that cannot be kept fails alone.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::Executor;
use workflow_store::access::KeptAnswer;
use workflow_store::testing::{Backend, TestDb};
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

async fn answers_kept_at_once_keep_each_keys_first_answer(db: TestDb) {
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
both!(at_once, answers_kept_at_once_keep_each_keys_first_answer);

/// Refuses every answer kept for `key`, behind the store's back.
async fn refuse_key(db: &TestDb, key: &str) {
    let mut raw = db.raw().await;
    let statements = match db.backend {
        Backend::Sqlite => vec![format!(
            "CREATE TRIGGER refuse_key BEFORE INSERT ON idempotency_keys WHEN NEW.idem_key = '{key}' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )],
        Backend::Postgres => vec![
            format!(
                "CREATE FUNCTION refuse_key() RETURNS trigger AS $$ BEGIN \
                 IF NEW.idem_key = '{key}' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER refuse_key BEFORE INSERT ON idempotency_keys FOR EACH ROW \
             EXECUTE FUNCTION refuse_key()"
                .to_owned(),
        ],
    };
    for sql in statements {
        raw.execute(sql.as_str()).await.unwrap();
    }
}

async fn an_answer_that_cannot_be_kept_fails_alone(db: TestDb) {
    let store = Arc::new(db.open().await);
    refuse_key(&db, "key-bad").await;
    // On SQLite a raw transaction holds the write lock while the answers arrive: the
    // first blocks on it, the others queue behind its turn and are kept together,
    // the refused one among them.
    let held = match db.backend {
        Backend::Sqlite => {
            let mut raw = db.raw().await;
            raw.execute("BEGIN IMMEDIATE").await.unwrap();
            Some(raw)
        }
        Backend::Postgres => None,
    };
    let first = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .keep_answer(
                    "upp-1",
                    "key-first",
                    answer("body of key-first"),
                    Utc::now(),
                )
                .await
        })
    };
    // A bounded observation: the first is blocked on the lock by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let keys = ["key-a", "key-bad", "key-b", "key-c"];
    let rest = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { keep_at_once(&store, &keys).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Some(mut raw) = held {
        raw.execute("COMMIT").await.unwrap();
    }
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
both!(failing_alone, an_answer_that_cannot_be_kept_fails_alone);
