//! Many writers at once, on both backends: no acknowledged event is lost or duplicated,
//! sequences stay gapless, and projectors apply the log in commit order without ever
//! skipping an event that commits late.

use crate::support::{self, dispose, new_complaint, projected, register, reviewed};
use workflow_store::testing::step;
use workflow_store::{both, testing as common};

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Executor, Row};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::EventBody;
use workflow_store::{metadata_keys, StoreError};

/// The complaint's last sequence, read beside the engine.
async fn last_sequence(raw: &mut sqlx::AnyConnection, id: &str) -> i64 {
    sqlx::query(
        "SELECT COALESCE(MAX(sequence), 0) AS n FROM events \
         WHERE aggregate_type = 'complaint' AND aggregate_id = $1",
    )
    .bind(id)
    .fetch_one(raw)
    .await
    .unwrap()
    .get("n")
}

/// Sixteen writers record five field visits each on one complaint (a command that may be
/// repeated, so every one of them can commit), through `store`'s engine. Every command
/// is acknowledged with one event or refused with `Conflict` after the engine's last
/// attempt; the log holds the acknowledged ones exactly once each at dense sequences,
/// and nothing else. Every attempt but the last of an acknowledged command, and every
/// attempt of a refused one, lost to a commit by another writer: at least as many
/// commits as attempts landed while the command ran. Returns the refused commands.
async fn sixteen_writers_five_visits_each(
    db: &common::TestDb,
    store: workflow_store::Store,
) -> Vec<String> {
    const WRITERS: usize = 16;
    const PER_WRITER: usize = 5;
    let at = "2026-11-30 09:00";
    let mut steps = reviewed("ADU-1", at, "PUPR", complete_review());
    // With a field examination, so that the writers below may record visits.
    let clarified = C::Clarify(clarification(true));
    steps.push(step("ADU-1", at, liaison("PUPR"), clarified));
    common::play(&store, steps).await;
    let store = Arc::new(store);
    let max_attempts = store.engine().max_attempts();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        let mut raw = db.raw().await;
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for k in 0..PER_WRITER {
                let id = format!("visit-{w}-{k}");
                let before = last_sequence(&mut raw, "ADU-1").await;
                let visit = C::VerifyInField(field_visit("2026-11-30"));
                let visit = step("ADU-1", at, liaison("PUPR"), visit);
                let result =
                    tokio::time::timeout(Duration::from_secs(60), visit.execute(&store, &id))
                        .await
                        .unwrap_or_else(|_| panic!("{id} got no answer within 60 s"));
                let after = last_sequence(&mut raw, "ADU-1").await;
                outcomes.push((id, before, after, result));
            }
            outcomes
        }));
    }
    let mut acknowledged = BTreeSet::new();
    let mut refused = Vec::new();
    for t in tasks {
        for (id, before, after, result) in t.await.unwrap() {
            let landed = after - before;
            match result {
                Ok(done) => {
                    assert_eq!(done.events.len(), 1, "{id}");
                    assert!((1..=max_attempts).contains(&done.attempts), "{id}");
                    assert!(
                        landed >= i64::from(done.attempts),
                        "{id} took {} attempts, yet only {landed} commits (its own \
                         included) landed while it ran",
                        done.attempts
                    );
                    assert!(acknowledged.insert(id));
                }
                Err(StoreError::Conflict { attempts, .. }) => {
                    assert_eq!(attempts, max_attempts, "{id} gave up early");
                    assert!(
                        landed >= i64::from(attempts),
                        "{id} was refused after {attempts} attempts, yet only {landed} \
                         commits landed while it ran"
                    );
                    refused.push(id);
                }
                Err(e) => panic!("{id}: {e}"),
            }
        }
    }
    assert_eq!(acknowledged.len() + refused.len(), WRITERS * PER_WRITER);

    let events = store.engine().events(&cid("ADU-1")).await.unwrap();
    let sequences: Vec<usize> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=events.len()).collect::<Vec<_>>(), "dense");
    let mut per_command = std::collections::BTreeMap::<&str, usize>::new();
    for e in &events {
        *per_command
            .entry(e.metadata[metadata_keys::COMMAND_ID].as_str())
            .or_default() += 1;
    }
    assert!(
        per_command.values().all(|&n| n == 1),
        "a command recorded twice: {per_command:?}"
    );
    let visits: BTreeSet<String> = events
        .iter()
        .filter(|e| matches!(e.payload.body, EventBody::FieldVerified(_)))
        .map(|e| e.metadata[metadata_keys::COMMAND_ID].clone())
        .collect();
    assert_eq!(
        visits, acknowledged,
        "the log holds exactly the acknowledged visits"
    );
    assert_eq!(events.len(), 4 + acknowledged.len());
    refused
}

/// With the engine's defaults: the properties above. How many are refused depends on
/// the machine's speed (each attempt's window between load and commit), so it is not
/// asserted here; `docs/BENCHMARKS.md` measures it.
async fn sixteen_writers_on_one_complaint_lose_nothing(db: common::TestDb) {
    let store = db.open().await;
    assert_eq!(
        store.engine().max_attempts(),
        workflow_store::Engine::<workflow_store::SqlLog>::DEFAULT_MAX_ATTEMPTS
    );
    sixteen_writers_five_visits_each(&db, store).await;
}
both!(one_complaint, sixteen_writers_on_one_complaint_lose_nothing);

/// Given attempts enough, every one of the sixteen writers' commands gets in: the
/// retries converge rather than chase one another for ever.
async fn sixteen_patient_writers_on_one_complaint_all_commit(db: common::TestDb) {
    let store = db.open().await.with_engine(|e| e.with_max_attempts(40));
    let refused = sixteen_writers_five_visits_each(&db, store).await;
    assert!(
        refused.is_empty(),
        "{} of 80 refused with Conflict after 40 attempts: {refused:?}",
        refused.len()
    );
}
both!(
    one_complaint_patient,
    sixteen_patient_writers_on_one_complaint_all_commit
);

async fn sixteen_writers_on_many_complaints_all_commit(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    let at = "2026-11-30 09:00";
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = format!("ADU-{t:02}");
            let steps = [register(&id, at), dispose(&id, at, "DINKES")];
            for (k, command) in steps.into_iter().enumerate() {
                command.execute(&store, &format!("{id}-{k}")).await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    store.projector().catch_up().await.unwrap();
    let page = store
        .views()
        .list(&workflow_store::views::ComplaintFilter {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 16);
    assert!(page
        .items
        .iter()
        .all(|s| s.status == workflow_core::Status::Disposed && s.sequence == 2));
    let head = store.log().head().await.unwrap();
    let status = store.projector().status().await.unwrap();
    assert!(
        status.iter().all(|s| s.position == head && s.lag == 0),
        "{status:?}"
    );
}
both!(
    many_complaints,
    sixteen_writers_on_many_complaints_all_commit
);

/// How long a test waits for something that must happen before it fails.
const WITHIN: Duration = Duration::from_secs(30);

/// A writer holds its transaction open with an event inserted; another command and a
/// projector run meanwhile. The open transaction's event must come first in the global
/// order and must not be skipped by the projector.
///
/// On PostgreSQL this is a real late commit: the open transaction has numbered its row,
/// the other writer queues behind its position lock (the test waits, bounded, until
/// PostgreSQL shows exactly that: a backend of this test's database waiting for an
/// advisory lock held by the open transaction), and only then does it commit.
///
/// On SQLite a late commit cannot happen: the trigger numbers a row inside the one write
/// transaction SQLite allows at a time, so a later commit always has a later position.
/// What the test checks there is that guarantee itself: while the transaction is open a
/// second write transaction is refused outright (busy timeout 0), the engine's append
/// does not finish, and it is numbered after the open one once that commits.
async fn a_late_commit_is_never_skipped(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    let now = wib("2026-11-30 09:00");
    new_complaint(&store, "ADU-B").await.unwrap();
    store.projector().catch_up().await.unwrap();

    // The slow writer: an event for ADU-A inserted in a transaction left open.
    let mut slow = db.raw().await;
    let slow_pid: Option<i32> = match db.backend {
        common::Backend::Postgres => Some(
            sqlx::query("SELECT pg_backend_pid() AS pid")
                .fetch_one(&mut slow)
                .await
                .unwrap()
                .get("pid"),
        ),
        common::Backend::Sqlite => None,
    };
    let received = event("a0", upp(), now, EventBody::Received(registration()));
    support::insert_and_hold(&mut slow, &db.url, ("ADU-A", 1), &received).await;

    if db.backend == common::Backend::Sqlite {
        // No second write transaction while this one is open.
        let mut probe = db.raw().await;
        probe.execute("PRAGMA busy_timeout = 0").await.unwrap();
        let refused = probe
            .execute("BEGIN IMMEDIATE")
            .await
            .expect_err("a second SQLite write transaction began beside an open one");
        assert!(
            refused.to_string().contains("locked"),
            "not refused for the lock: {refused}"
        );
    }

    // Meanwhile another command and a projector run.
    let mut writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let command = dispose("ADU-B", "2026-11-30 09:00", "PUPR");
            command.execute(&store, "b1").await
        })
    };
    let projector = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.projector().catch_up().await })
    };
    match slow_pid {
        Some(pid) => {
            // The other writer must be queued behind the slow one's position lock: a
            // backend of this database waiting for an advisory lock that `pid` holds.
            let mut watch = db.raw().await;
            let deadline = tokio::time::Instant::now() + WITHIN;
            loop {
                let queued: i64 = sqlx::query(
                    "SELECT COUNT(*) AS n FROM pg_locks \
                     WHERE locktype = 'advisory' AND NOT granted \
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND $1 = ANY(pg_blocking_pids(pid))",
                )
                .bind(pid)
                .fetch_one(&mut watch)
                .await
                .unwrap()
                .get("n");
                if queued > 0 {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the second writer did not queue behind the open transaction's \
                     position lock within {WITHIN:?}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        None => {
            // SQLite: the engine's append waits for the write lock (its busy timeout is
            // 10 s); finishing while the transaction is open would break the guarantee.
            let early = tokio::time::timeout(Duration::from_millis(500), &mut writer).await;
            assert!(
                early.is_err(),
                "the engine's append finished while another write transaction was open: {:?}",
                early.map(|r| r.map(|e| e.map(|e| e.sequence)))
            );
        }
    }
    slow.execute("COMMIT").await.unwrap();
    let written = tokio::time::timeout(WITHIN, writer)
        .await
        .unwrap_or_else(|_| panic!("the writer did not finish within {WITHIN:?}"))
        .unwrap()
        .unwrap();
    assert_eq!(written.sequence, 2);
    tokio::time::timeout(WITHIN, projector)
        .await
        .unwrap_or_else(|_| panic!("the projector did not finish within {WITHIN:?}"))
        .unwrap()
        .unwrap();
    store.projector().catch_up().await.unwrap();

    let mut raw = db.raw().await;
    let rows = sqlx::query("SELECT aggregate_id, sequence, position FROM events ORDER BY position")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    let order: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r.get("aggregate_id"), r.get("sequence")))
        .collect();
    assert_eq!(
        order,
        vec![
            ("ADU-B".into(), 1),
            ("ADU-A".into(), 1),
            ("ADU-B".into(), 2)
        ],
        "global order is commit order"
    );
    let a = store.views().timeline(&cid("ADU-A")).await.unwrap();
    assert_eq!(a.len(), 1, "the late event was projected");
    let b = store.views().timeline(&cid("ADU-B")).await.unwrap();
    assert!(a[0].position < b[1].position);
    assert_eq!(
        projected(&store, "ADU-A").await.summary.status,
        workflow_core::Status::Received
    );
}
both!(late_commit, a_late_commit_is_never_skipped);

/// Thirty-two writers on sixteen complaints, through two stores on one database (two
/// hosts), while each store's projector runs live. Each writer opens a complaint of its
/// own, then records field visits on it and on its neighbour's, through its own store,
/// so that the two hosts race on every complaint. Every command is acknowledged (the
/// engines are patient); the log holds each exactly once at dense sequences; and once
/// both projectors have reached the head, the live views are exactly those a rebuild of
/// every projection from the log makes.
async fn thirty_two_writers_on_two_hosts_agree_with_a_rebuild(db: common::TestDb) {
    const WRITERS: usize = 32;
    const VISITS: usize = 6;
    let at = "2026-11-30 09:00";
    let patient = |store: workflow_store::Store| {
        store.with_engine(|e| {
            e.with_max_attempts(100)
                .with_backoff(workflow_store::Backoff {
                    base: Duration::from_millis(1),
                    cap: Duration::from_millis(20),
                })
        })
    };
    let hosts = [
        Arc::new(patient(db.open().await)),
        Arc::new(patient(db.open().await)),
    ];
    let runners: Vec<_> = hosts
        .iter()
        .map(|host| support::run_projector(host, Duration::from_millis(200)))
        .collect();
    let opened = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&hosts[w % 2]);
        let opened = Arc::clone(&opened);
        writers.push(tokio::spawn(async move {
            let own = format!("ADU-{w:02}");
            let neighbour = format!("ADU-{:02}", w ^ 1);
            let mut acknowledged = Vec::new();
            let mut opening = reviewed(&own, at, "PUPR", complete_review());
            opening.push(step(
                &own,
                at,
                liaison("PUPR"),
                C::Clarify(clarification(true)),
            ));
            let mut failed = None;
            for (k, command) in opening.into_iter().enumerate() {
                let id = format!("{own}-open-{k}");
                if let Err(e) = command.execute(&store, &id).await {
                    failed = Some(e);
                    break;
                }
                acknowledged.push(id);
            }
            // Every complaint is clarified before anyone visits one; a writer that
            // failed passes the barrier too, so that no other waits for it for ever.
            opened.wait().await;
            if let Some(e) = failed {
                return Err(e);
            }
            for k in 0..VISITS {
                let on = if k % 2 == 0 { &own } else { &neighbour };
                let id = format!("visit-{w}-{k}");
                step(
                    on,
                    at,
                    liaison("PUPR"),
                    C::VerifyInField(field_visit("2026-11-30")),
                )
                .execute(&store, &id)
                .await?;
                acknowledged.push(id);
            }
            Ok::<_, StoreError>(acknowledged)
        }));
    }
    let mut acknowledged = Vec::new();
    for w in writers {
        let done = tokio::time::timeout(Duration::from_secs(120), w)
            .await
            .expect("a writer finished within two minutes");
        acknowledged.extend(done.unwrap().unwrap());
    }
    assert_eq!(acknowledged.len(), WRITERS * (4 + VISITS));

    // Both projectors reach the head, within a bound.
    let head = hosts[0].log().head().await.unwrap();
    let deadline = tokio::time::Instant::now() + WITHIN;
    for host in &hosts {
        loop {
            let status = host.projector().status().await.unwrap();
            if status.iter().all(|s| s.position == head && s.lag == 0) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the projectors did not reach the head {head:?} within {WITHIN:?}: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for runner in runners {
        runner.stop().await;
    }

    // The log: every acknowledged command once, each complaint's sequences dense.
    let mut raw = db.raw().await;
    let rows = sqlx::query(&format!(
        "SELECT aggregate_id, sequence, {} AS metadata FROM events \
         WHERE aggregate_type = 'complaint' ORDER BY aggregate_id, sequence",
        match db.backend {
            common::Backend::Sqlite => "metadata",
            common::Backend::Postgres => "metadata::text",
        }
    ))
    .fetch_all(&mut raw)
    .await
    .unwrap();
    let mut logged = Vec::new();
    let mut expected_next: std::collections::BTreeMap<String, i64> = Default::default();
    for row in &rows {
        let id: String = row.get("aggregate_id");
        let sequence: i64 = row.get("sequence");
        let next = expected_next.entry(id.clone()).or_insert(1);
        assert_eq!(sequence, *next, "a gap or a repeat in {id}");
        *next += 1;
        let metadata: serde_json::Value =
            serde_json::from_str(&row.get::<String, _>("metadata")).unwrap();
        logged.push(
            metadata[metadata_keys::COMMAND_ID]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let logged_set: BTreeSet<&String> = logged.iter().collect();
    assert_eq!(logged.len(), logged_set.len(), "a command in the log twice");
    assert_eq!(
        logged_set,
        acknowledged.iter().collect::<BTreeSet<_>>(),
        "the log holds exactly the acknowledged commands"
    );

    // Each host's state of each complaint (kept or not) is the log's.
    for host in &hosts {
        for c in 0..WRITERS {
            let id = cid(format!("ADU-{c:02}"));
            assert_eq!(
                host.engine().load(&id).await.unwrap(),
                common::replayed(host, &id).await,
                "{id}"
            );
        }
    }

    // The live views are the rebuild's.
    let live = common::snapshot_views(&hosts[0]).await;
    assert!(live.contains("ADU-31"), "every complaint is in the views");
    for name in hosts[1].projector().names() {
        hosts[1].projector().rebuild(name, |_| {}).await.unwrap();
    }
    let rebuilt = common::snapshot_views(&hosts[0]).await;
    assert_eq!(live, rebuilt, "the live views differ from a rebuild's");
}
both!(
    two_hosts_and_a_rebuild,
    thirty_two_writers_on_two_hosts_agree_with_a_rebuild
);

/// On SQLite the writers of one store take turns in the process (`Db::writer`) instead
/// of each being put to sleep by SQLite's busy handler. A writer of another process (here
/// a second store on the same file, with turns of its own) still meets the busy handler.
/// While sixteen writers and the projector of one store keep the database busy for
/// twelve seconds, longer than SQLite's busy timeout (10 s), the other store's
/// commands, one after another, are each acknowledged: a command shut out for the busy
/// timeout would fail as unavailable.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_of_another_process_is_not_shut_out_while_one_store_is_busy() {
    let db = common::TestDb::new(
        common::Backend::Sqlite,
        "concurrency_another_process_is_not_shut_out",
    )
    .await;
    let busy = Arc::new(db.open().await);
    let other = db.open().await;
    let projector = support::run_projector(&busy, Duration::from_millis(50));
    let until = std::time::Instant::now() + Duration::from_secs(12);
    let mut load = Vec::new();
    for t in 0..16 {
        let busy = Arc::clone(&busy);
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while std::time::Instant::now() < until {
                let id = format!("ADU-B{t:02}{n:05}");
                register(&id, "2026-11-30 09:00")
                    .execute(&busy, &format!("{id}-r"))
                    .await
                    .unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut waits = Vec::new();
    let mut n = 0;
    while std::time::Instant::now() < until {
        let id = format!("ADU-O{n:05}");
        let started = std::time::Instant::now();
        let outcome = register(&id, "2026-11-30 09:00")
            .execute(&other, &format!("{id}-r"))
            .await;
        waits.push(started.elapsed());
        assert!(
            outcome.is_ok(),
            "the other store's command {n}: {outcome:?}"
        );
        n += 1;
    }
    let mut busy_commands = 0;
    for task in load {
        busy_commands += task.await.unwrap();
    }
    projector.stop().await;
    let longest = waits.iter().max().copied().unwrap_or_default();
    println!("busy store: {busy_commands} commands; the other: {n}, longest wait {longest:?}");
    assert!(longest < Duration::from_secs(10), "{longest:?}");
}
