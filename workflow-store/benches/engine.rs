//! The engine against bare cqrs-es and the machine's limits, in one run.
//!
//! `cargo bench -p workflow-store --bench engine -- [--quick] [--out FILE] [--sizes …]`
//!
//! Every figure is printed with its anchor measured in the same run on the same
//! database settings, and the ratio between them; the same goes to a JSON file
//! (default `target/bench/engine.json`). PostgreSQL rows need `TEST_DATABASE_URL`
//! (`scripts/with-postgres` sets it). See `docs/BENCHMARKS.md`.
//!
//! One file longer than the others on purpose: each row stands beside the anchor it is
//! divided by, so that what is compared with what is read in one place.

use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor, Row as _};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{Actor, ComplaintEvent, EventBody};
use workflow_store::audit::ExportFormat;
use workflow_store::chain::{event_hash, ChainInput, GENESIS};
use workflow_store::testing::{Backend, CpuMark, TestDb};
use workflow_store::views::BoardStatus;
use workflow_store::{timestamp, Store};

// ---------------------------------------------------------------- the anchor aggregate

#[derive(Default, Serialize, Deserialize)]
struct Counter {
    n: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Incremented;

impl DomainEvent for Incremented {
    fn event_type(&self) -> String {
        "Incremented".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Counter {
    const TYPE: &'static str = "counter";
    type Command = ();
    type Event = Incremented;
    type Error = Never;
    type Services = ();

    async fn handle(&mut self, _: (), _: &(), sink: &EventSink<Self>) -> Result<(), Never> {
        sink.write(Incremented, self).await;
        Ok(())
    }

    fn apply(&mut self, _: Incremented) {
        self.n += 1;
    }
}

const SQLITE_ES_SCHEMA: &str = "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
    sequence integer CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, event_version text NOT NULL, \
    payload text NOT NULL, metadata text NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence)) STRICT; \
    CREATE TABLE raw_rows (id integer PRIMARY KEY, v text NOT NULL);";
const POSTGRES_ES_SCHEMA: &str = "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
    sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, event_version text NOT NULL, \
    payload json NOT NULL, metadata json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence)); \
    CREATE TABLE raw_rows (id bigserial PRIMARY KEY, v text NOT NULL);";

enum Bare {
    Sqlite(
        CqrsFramework<Counter, PersistedEventStore<sqlite_es::SqliteEventRepository, Counter>>,
        sqlx::SqlitePool,
    ),
    Postgres(
        CqrsFramework<Counter, PersistedEventStore<postgres_es::PostgresEventRepository, Counter>>,
        sqlx::PgPool,
    ),
}

impl Bare {
    async fn new(db: &TestDb) -> Bare {
        match db.backend {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(&db.url)
                    .unwrap()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .unwrap();
                pool.execute(SQLITE_ES_SCHEMA).await.unwrap();
                let store = PersistedEventStore::new_event_store(
                    sqlite_es::SqliteEventRepository::new(pool.clone()),
                );
                Bare::Sqlite(CqrsFramework::new(store, vec![], ()), pool)
            }
            Backend::Postgres => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(16)
                    .connect(&db.url)
                    .await
                    .unwrap();
                pool.execute(POSTGRES_ES_SCHEMA).await.unwrap();
                let store = PersistedEventStore::new_event_store(
                    postgres_es::PostgresEventRepository::new(pool.clone()),
                );
                Bare::Postgres(CqrsFramework::new(store, vec![], ()), pool)
            }
        }
    }

    async fn inc(&self, id: &str) {
        match self {
            Bare::Sqlite(c, _) => c.execute(id, ()).await.unwrap(),
            Bare::Postgres(c, _) => c.execute(id, ()).await.unwrap(),
        }
    }

    async fn raw_insert(&self, v: &str) {
        match self {
            Bare::Sqlite(_, pool) => {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("INSERT INTO raw_rows (v) VALUES (?)")
                    .bind(v)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
            Bare::Postgres(_, pool) => {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("INSERT INTO raw_rows (v) VALUES ($1)")
                    .bind(v)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }
    }
}

// ---------------------------------------------------------------- measuring

#[derive(Serialize)]
struct Figure {
    backend: String,
    work: String,
    figure: f64,
    unit: String,
    anchor: String,
    anchor_figure: f64,
    /// figure / anchor for rates; anchor / figure for latencies (higher is better);
    /// figure / anchor for shares (commands refused of those issued; lower is better).
    ratio: f64,
}

struct Report {
    rows: Vec<Figure>,
}

impl Report {
    fn rate(&mut self, backend: &str, work: String, ops: f64, anchor: &str, anchor_ops: f64) {
        self.higher_is_better(backend, work, ops, "ops/s", anchor, anchor_ops);
    }

    /// A share of the machine's cores kept busy, against another's.
    fn busy(&mut self, backend: &str, work: String, share: f64, anchor: &str, anchor_share: f64) {
        self.higher_is_better(
            backend,
            work,
            share * 100.0,
            "%",
            anchor,
            anchor_share * 100.0,
        );
    }

    /// A figure in `unit` against its anchor's, the ratio figure / anchor.
    fn higher_is_better(
        &mut self,
        backend: &str,
        work: String,
        figure: f64,
        unit: &str,
        anchor: &str,
        anchor_figure: f64,
    ) {
        let row = Figure {
            backend: backend.into(),
            work,
            figure,
            unit: unit.into(),
            anchor: anchor.into(),
            anchor_figure,
            ratio: figure / anchor_figure,
        };
        println!(
            "{:<9} {:<58} {:>12.0} {:<6} | {:<44} {:>12.0}  {:>6.2}x",
            row.backend, row.work, row.figure, row.unit, row.anchor, row.anchor_figure, row.ratio
        );
        self.rows.push(row);
    }

    fn latency(&mut self, backend: &str, work: String, ms: f64, anchor: &str, anchor_ms: f64) {
        let row = Figure {
            backend: backend.into(),
            work,
            figure: ms,
            unit: "ms".into(),
            anchor: anchor.into(),
            anchor_figure: anchor_ms,
            ratio: anchor_ms / ms,
        };
        println!(
            "{:<9} {:<58} {:>12.3} {:<6} | {:<44} {:>12.3}  {:>6.2}x",
            row.backend, row.work, row.figure, row.unit, row.anchor, row.anchor_figure, row.ratio
        );
        self.rows.push(row);
    }

    /// A part of a whole counted in the run (commands refused out of those issued); the
    /// ratio is the share, printed as a percentage (lower is better).
    fn share(&mut self, backend: &str, work: String, part: usize, anchor: &str, whole: usize) {
        let row = Figure {
            backend: backend.into(),
            work,
            figure: part as f64,
            unit: "cmds".into(),
            anchor: anchor.into(),
            anchor_figure: whole as f64,
            ratio: part as f64 / whole as f64,
        };
        println!(
            "{:<9} {:<58} {:>12.0} {:<6} | {:<44} {:>12.0}  {:>6.1}%",
            row.backend,
            row.work,
            row.figure,
            row.unit,
            row.anchor,
            row.anchor_figure,
            row.ratio * 100.0
        );
        self.rows.push(row);
    }

    fn memory(&mut self, backend: &str, work: String, kib: f64, anchor: &str, anchor_kib: f64) {
        let row = Figure {
            backend: backend.into(),
            work,
            figure: kib / 1024.0,
            unit: "MiB".into(),
            anchor: anchor.into(),
            anchor_figure: anchor_kib / 1024.0,
            ratio: anchor_kib / kib,
        };
        println!(
            "{:<9} {:<58} {:>12.1} {:<6} | {:<44} {:>12.1}  {:>6.2}x",
            row.backend, row.work, row.figure, row.unit, row.anchor, row.anchor_figure, row.ratio
        );
        self.rows.push(row);
    }
}

/// Runs `total` operations spread over `tasks` tasks; returns operations per second.
async fn concurrently<F, Fut>(tasks: usize, total: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let op = Arc::clone(&op);
        handles.push(tokio::spawn(async move {
            let mut i = t;
            while i < total {
                op(i).await;
                i += tasks;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn now() -> DateTime<Utc> {
    wib("2026-11-30 09:00")
}

async fn execute(store: &Store, id: &str, command_id: String, actor: Actor, command: C) {
    store
        .engine()
        .execute(&cid(id), cmd(&command_id, actor, now(), command), None)
        .await
        .unwrap();
}

/// Registers, disposes, reviews and clarifies `id` (field examination needed), so that
/// field visits can be recorded on it again and again.
async fn ready_for_field_visits(store: &Store, id: &str) {
    execute(
        store,
        id,
        format!("{id}-r"),
        upp(),
        C::Register(registration()),
    )
    .await;
    execute(
        store,
        id,
        format!("{id}-d"),
        upp(),
        C::Dispose(disposition("PUPR")),
    )
    .await;
    execute(
        store,
        id,
        format!("{id}-v"),
        liaison("PUPR"),
        C::Review(complete_review()),
    )
    .await;
    execute(
        store,
        id,
        format!("{id}-c"),
        liaison("PUPR"),
        C::Clarify(clarification(true)),
    )
    .await;
}

/// `writers` tasks each record `per_writer` field visits on the one complaint `id`, one
/// after the other. Returns (acknowledged, refused with `Conflict`, seconds).
async fn writers_on_one_complaint(
    store: &Arc<Store>,
    id: &str,
    writers: usize,
    per_writer: usize,
) -> (usize, usize, f64) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = Arc::clone(store);
        let id = id.to_owned();
        tasks.push(tokio::spawn(async move {
            let (mut acknowledged, mut conflicts) = (0, 0);
            for k in 0..per_writer {
                let command = cmd(
                    &format!("{id}-w{w}-{k}"),
                    liaison("PUPR"),
                    now(),
                    C::VerifyInField(field_visit("2026-11-30")),
                );
                match store.engine().execute(&cid(&id), command, None).await {
                    Ok(_) => acknowledged += 1,
                    Err(workflow_store::StoreError::Conflict { .. }) => conflicts += 1,
                    Err(e) => panic!("{id}: {e}"),
                }
            }
            (acknowledged, conflicts)
        }));
    }
    let (mut acknowledged, mut conflicts) = (0, 0);
    for t in tasks {
        let (a, c) = t.await.unwrap();
        acknowledged += a;
        conflicts += c;
    }
    (acknowledged, conflicts, started.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------- synthetic logs

/// Appends `complaints` complaints of `per` events each straight into the log, with a
/// valid hash chain, in large transactions: a big log in seconds, not hours.
/// `complaints` complaints of `per` events each, written straight into the log: each
/// complaint's events one after the other, or `interleaved`, as a real log has them (every
/// complaint's first event, then every complaint's second, …).
async fn bulk_log(db: &TestDb, complaints: usize, per: usize, interleaved: bool) {
    let mut raw = db.raw().await;
    let insert = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('complaint', $1, $2, $3, '1', {}, {})",
        db.json_param(4),
        db.json_param(5)
    );
    let bodies: Vec<(Actor, EventBody)> = {
        let mut b = vec![
            (upp(), EventBody::Received(registration())),
            (upp(), EventBody::Disposed(disposition("PUPR"))),
            (liaison("PUPR"), EventBody::Reviewed(complete_review())),
            (liaison("PUPR"), EventBody::Clarified(clarification(true))),
        ];
        while b.len() < per {
            b.push((
                liaison("PUPR"),
                EventBody::FieldVerified(field_visit("2026-11-30")),
            ));
        }
        b.truncate(per);
        b
    };
    let begin = if db.backend == Backend::Sqlite {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN"
    };
    let mut in_tx = 0;
    raw.execute(begin).await.unwrap();
    let mut heads = vec![GENESIS.to_owned(); complaints];
    let order: Vec<(usize, usize)> = if interleaved {
        (0..per)
            .flat_map(|s| (0..complaints).map(move |c| (c, s)))
            .collect()
    } else {
        (0..complaints)
            .flat_map(|c| (0..per).map(move |s| (c, s)))
            .collect()
    };
    for (c, s) in order {
        let id = format!("BULK-{c:08}");
        let prev = &mut heads[c];
        let (actor, body) = &bodies[s];
        {
            let event = ComplaintEvent {
                at: now(),
                by: actor.clone(),
                command_id: workflow_core::CommandId(format!("{id}-{s}")),
                body: body.clone(),
                verdicts: Vec::new(),
            };
            let payload = serde_json::to_value(&event).unwrap();
            let mut metadata = json!({"command_id": format!("{id}-{s}"), "actor": actor.user.0, "role": actor.role.as_str(), "prev_hash": *prev});
            let hash = event_hash(&ChainInput {
                aggregate_type: "complaint",
                aggregate_id: &id,
                sequence: s as u64 + 1,
                event_type: body.event_type(),
                event_version: "1",
                payload: &payload,
                metadata: &metadata,
            });
            metadata["hash"] = json!(hash.clone());
            *prev = hash;
            sqlx::query(&insert)
                .bind(&id)
                .bind(s as i64 + 1)
                .bind(body.event_type())
                .bind(payload.to_string())
                .bind(metadata.to_string())
                .execute(&mut raw)
                .await
                .unwrap();
            in_tx += 1;
            if in_tx == 2000 {
                raw.execute("COMMIT").await.unwrap();
                raw.execute(begin).await.unwrap();
                in_tx = 0;
            }
        }
    }
    raw.execute("COMMIT").await.unwrap();
}

/// Events a second of a replay of the complaint views over a log of `events` events.
async fn rebuild_rate(store: &Store, events: usize) -> f64 {
    let started = Instant::now();
    store
        .projector()
        .rebuild("complaints", |_| {})
        .await
        .unwrap();
    events as f64 / started.elapsed().as_secs_f64()
}

/// A plain ordered fetch of every stored row, as text: the anchor of the log walks.
async fn plain_fetch(db: &TestDb, hash: bool) -> (usize, f64) {
    let mut raw = db.raw().await;
    let cast = if db.backend == Backend::Postgres {
        "::text"
    } else {
        ""
    };
    let sql = format!("SELECT aggregate_id, sequence, event_type, payload{cast} AS payload, metadata{cast} AS metadata FROM events ORDER BY position");
    let started = Instant::now();
    let mut rows = sqlx::query(&sql).fetch(&mut raw);
    let mut n = 0;
    let mut hasher = Sha256::new();
    while let Some(row) = rows.try_next().await.unwrap() {
        let payload: String = row.get("payload");
        let metadata: String = row.get("metadata");
        if hash {
            hasher.update(payload.as_bytes());
            hasher.update(metadata.as_bytes());
        }
        n += 1;
    }
    std::hint::black_box(hasher.finalize());
    (n, n as f64 / started.elapsed().as_secs_f64())
}

/// The same fetch as [`plain_fetch`] straight from SQLite on a thread of its own
/// (`rusqlite` on the same file), as the walks on SQLite read: the second anchor of the
/// walks there, the first being a fetch through sqlx.
async fn plain_fetch_direct(db: &TestDb, hash: bool) -> f64 {
    let path = db
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    tokio::task::spawn_blocking(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let started = Instant::now();
        let mut statement = conn
            .prepare("SELECT aggregate_id, sequence, event_type, payload, metadata FROM events ORDER BY position")
            .unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut n = 0usize;
        let mut hasher = Sha256::new();
        while let Some(row) = rows.next().unwrap() {
            let payload: String = row.get("payload").unwrap();
            let metadata: String = row.get("metadata").unwrap();
            if hash {
                hasher.update(payload.as_bytes());
                hasher.update(metadata.as_bytes());
            }
            std::hint::black_box((payload, metadata));
            n += 1;
        }
        std::hint::black_box(hasher.finalize());
        n as f64 / started.elapsed().as_secs_f64()
    })
    .await
    .unwrap()
}

// ---------------------------------------------------------------- peak memory

fn peak_rss_kib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// In a child process (so that peaks do not mix): open the store and run one walk.
async fn rss_child(what: &str, url: &str) {
    let store = Store::open(url, workflow_core::ComplaintServices::builtin())
        .await
        .unwrap();
    let base = peak_rss_kib();
    match what {
        "rebuild" => {
            store
                .projector()
                .rebuild("complaints", |_| {})
                .await
                .unwrap();
        }
        "verify" => {
            assert!(store.verify(None, None, |_| {}).await.unwrap().ok());
        }
        _ => {
            store
                .export(None, ExportFormat::Jsonl, &mut std::io::sink(), |_| {})
                .await
                .unwrap();
        }
    }
    println!("{base} {}", peak_rss_kib());
}

fn rss_of(what: &str, url: &str) -> (f64, f64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--rss-child", what, url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("0 0");
    let mut it = line
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap_or(0.0));
    (it.next().unwrap_or(0.0), it.next().unwrap_or(0.0))
}

// ---------------------------------------------------------------- the run

struct Sizes {
    commands: usize,
    /// Commands per writer of the sixteen on one complaint.
    contention: usize,
    history_ops: usize,
    histories: Vec<usize>,
    log_complaints: usize,
    open: Vec<usize>,
    rss_complaints: usize,
    /// `--only GROUP,GROUP`: the groups of rows to measure (all when `None`).
    only: Option<Vec<String>>,
}

impl Sizes {
    /// Whether the rows of `group` (statements, register, history, contention, walks,
    /// board, rss) are measured in this run.
    fn runs(&self, group: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|g| g == group))
    }
}

/// What one statement costs on SQLite: a point `SELECT`, handed to the connection's
/// thread and answered from it (sqlx's SQLite driver, which the store's statements go
/// through), against the same statement run by SQLite on the caller's thread
/// (`rusqlite`, on the same file). Each statement the store sends pays the first
/// figure's hand-off (and sqlx's `Any` driver's conversions on top); the work SQLite
/// does for a point read is the second.
async fn statements(sizes: &Sizes, report: &mut Report) {
    use sqlx::Connection;
    const ROWS: i64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statements.db");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql(&format!(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) \
         INSERT INTO t SELECT i, 'row ' || i FROM n;"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let n = sizes.commands * 10;
    let sql = "SELECT v FROM t WHERE id = ?";
    // Prepared before the clock starts, as the other side's statement is.
    sqlx::query(sql)
        .bind(1i64)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let started = Instant::now();
    let mut bytes = 0usize;
    for i in 0..n {
        let row = sqlx::query(sql)
            .bind(1 + i as i64 % ROWS)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        bytes += row.get::<String, _>(0).len();
    }
    let handed = n as f64 / started.elapsed().as_secs_f64();
    conn.close().await.unwrap();
    let direct = tokio::task::spawn_blocking(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut statement = conn.prepare(sql).unwrap();
        let mut read = 0usize;
        let started = Instant::now();
        for i in 0..n {
            let v: String = statement
                .query_row([1 + i as i64 % ROWS], |row| row.get(0))
                .unwrap();
            read += v.len();
        }
        (n as f64 / started.elapsed().as_secs_f64(), read)
    })
    .await
    .unwrap();
    assert_eq!(bytes, direct.1, "both read the same rows");
    report.rate(
        "sqlite",
        "a point SELECT handed to the connection's thread (sqlx)".into(),
        handed,
        "the same on the caller's thread (rusqlite)",
        direct.0,
    );
}

async fn bench_backend(backend: Backend, sizes: &Sizes, report: &mut Report) {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    if backend == Backend::Sqlite && sizes.runs("statements") {
        statements(sizes, report).await;
    }
    // Commands creating new complaints, against the counter on bare cqrs-es and raw rows.
    if sizes.runs("register") {
        for tasks in [1usize, 16] {
            let db = TestDb::new(backend, &format!("bench_new_{tasks}")).await;
            let store = Arc::new(db.open().await);
            let s = Arc::clone(&store);
            let cpu = CpuMark::now();
            let ours = concurrently(tasks, sizes.commands, move |i| {
                let s = Arc::clone(&s);
                async move {
                    execute(
                        &s,
                        &format!("ADU-{i}"),
                        format!("c{i}"),
                        upp(),
                        C::Register(registration()),
                    )
                    .await
                }
            })
            .await;
            let our_cpu = cpu.and_then(|c| c.since(sizes.commands));
            let health = store.health().snapshot();
            report.share(
                name,
                format!("register, {tasks} task(s): the log's transactions"),
                health.transactions as usize,
                "commands committed",
                health.commits as usize,
            );
            let anchor_db = TestDb::new(backend, &format!("bench_bare_{tasks}")).await;
            let bare = Arc::new(Bare::new(&anchor_db).await);
            let b = Arc::clone(&bare);
            let cpu = CpuMark::now();
            let counter = concurrently(tasks, sizes.commands, move |i| {
                let b = Arc::clone(&b);
                async move { b.inc(&format!("counter-{i}")).await }
            })
            .await;
            let counter_cpu = cpu.and_then(|c| c.since(sizes.commands));
            let b = Arc::clone(&bare);
            let raw = concurrently(tasks, sizes.commands, move |i| {
                let b = Arc::clone(&b);
                async move { b.raw_insert(&format!("row-{i}")).await }
            })
            .await;
            report.rate(
                name,
                format!("register new complaints, {tasks} task(s)"),
                ours,
                "counter on bare cqrs-es",
                counter,
            );
            report.rate(
                name,
                format!("register new complaints, {tasks} task(s)"),
                ours,
                "one-row INSERT transactions",
                raw,
            );
            // Where the time goes: the machine's CPU (every process, the database
            // server's included) per command, and how busy the cores were.
            if let (Some((our_ms, our_busy)), Some((counter_ms, counter_busy))) =
                (our_cpu, counter_cpu)
            {
                report.latency(
                    name,
                    format!("register, {tasks} task(s): CPU per command"),
                    our_ms,
                    "the counter's CPU per command",
                    counter_ms,
                );
                report.busy(
                    name,
                    format!("register, {tasks} task(s): cores busy"),
                    our_busy,
                    "the counter's cores busy",
                    counter_busy,
                );
            }
            store.close().await;
        }
    }
    // Commands on complaints with a history.
    if sizes.runs("history") {
        for &len in &sizes.histories {
            let db = TestDb::new(backend, &format!("bench_hist_{len}")).await;
            let store = db.open().await;
            // Four complaints for the store as it runs, four for one keeping no states in
            // memory (decision 39), each run on its own complaints.
            let complaints = 4;
            for c in 0..2 * complaints {
                let id = format!("H-{c}");
                ready_for_field_visits(&store, &id).await;
                for k in 4..len {
                    execute(
                        &store,
                        &id,
                        format!("{id}-f{k}"),
                        liaison("PUPR"),
                        C::VerifyInField(field_visit("2026-11-30")),
                    )
                    .await;
                }
            }
            let commands_on = |store: Store, first: usize| async move {
                let started = Instant::now();
                for i in 0..sizes.history_ops {
                    let id = format!("H-{}", first + i % complaints);
                    execute(
                        &store,
                        &id,
                        format!("op-{i}"),
                        liaison("PUPR"),
                        C::VerifyInField(field_visit("2026-11-30")),
                    )
                    .await;
                }
                let rate = sizes.history_ops as f64 / started.elapsed().as_secs_f64();
                store.close().await;
                rate
            };
            let ours = commands_on(store, 0).await;
            let unkept = Store::open_with_options(
                &db.url,
                workflow_store::SettingsSource::Stored,
                workflow_store::StoreOptions::default().kept_states(0),
            )
            .await
            .unwrap();
            let ours_unkept = commands_on(unkept, complaints).await;
            let anchor_db = TestDb::new(backend, &format!("bench_hist_bare_{len}")).await;
            let bare = Bare::new(&anchor_db).await;
            for c in 0..complaints {
                for _ in 0..len {
                    bare.inc(&format!("counter-{c}")).await;
                }
            }
            let started = Instant::now();
            for i in 0..sizes.history_ops {
                bare.inc(&format!("counter-{}", i % complaints)).await;
            }
            let counter = sizes.history_ops as f64 / started.elapsed().as_secs_f64();
            report.rate(
                name,
                format!("a command on a complaint with {len} events"),
                ours,
                "counter with as many events",
                counter,
            );
            report.rate(
                name,
                format!("a command on a complaint with {len} events, no states kept"),
                ours_unkept,
                "counter with as many events",
                counter,
            );
        }
    }
    // Sixteen writers on one complaint: how many commands the engine's retries fail to
    // save from a Conflict, with its default retries and with the former ones (5
    // attempts, each at once), and what the acknowledged ones cost against one writer.
    if sizes.runs("contention") {
        {
            let writers = 16;
            let per_writer = sizes.contention;
            let total = writers * per_writer;
            let db = TestDb::new(backend, "bench_contention").await;
            let store = Arc::new(db.open().await);
            let attempts = store.engine().max_attempts();
            let backoff = store.engine().backoff();
            ready_for_field_visits(&store, "HOT-16").await;
            let (acknowledged, conflicts, seconds) =
                writers_on_one_complaint(&store, "HOT-16", writers, per_writer).await;
            ready_for_field_visits(&store, "HOT-1").await;
            let (alone, _, alone_seconds) =
                writers_on_one_complaint(&store, "HOT-1", 1, total).await;
            let db = TestDb::new(backend, "bench_contention_former").await;
            let former = Arc::new(db.open().await.with_engine(|e| {
                e.with_max_attempts(5)
                    .with_backoff(workflow_store::Backoff::NONE)
            }));
            ready_for_field_visits(&former, "HOT-16").await;
            let (_, former_conflicts, _) =
                writers_on_one_complaint(&former, "HOT-16", writers, per_writer).await;
            report.share(
                name,
                format!(
                "{writers}x{per_writer} on one complaint: Conflict ({attempts} tries, {}-{} ms)",
                backoff.base.as_millis(),
                backoff.cap.as_millis()
            ),
                conflicts,
                "commands issued",
                total,
            );
            report.share(
                name,
                format!("{writers}x{per_writer} on one complaint: Conflict (5 tries at once)"),
                former_conflicts,
                "commands issued",
                total,
            );
            report.rate(
                name,
                format!("{writers} writers on one complaint: acknowledged commands"),
                acknowledged as f64 / seconds,
                "the same commands from 1 writer",
                alone as f64 / alone_seconds,
            );
            store.close().await;
            former.close().await;
        }
    }

    // Walks over a log: rebuild, verify, export.
    if sizes.runs("walks") {
        let db = TestDb::new(backend, "bench_log").await;
        let store = db.open().await;
        bulk_log(&db, sizes.log_complaints, 10, false).await;
        let events = sizes.log_complaints * 10;
        let (_, fetch) = plain_fetch(&db, false).await;
        let (_, fetch_hash) = plain_fetch(&db, true).await;
        let direct = if backend == Backend::Sqlite {
            Some((
                plain_fetch_direct(&db, false).await,
                plain_fetch_direct(&db, true).await,
            ))
        } else {
            None
        };
        let rebuild = rebuild_rate(&store, events).await;
        report.rate(
            name,
            format!("rebuild the complaint views, {events} events"),
            rebuild,
            "plain ordered fetch",
            fetch,
        );
        let started = Instant::now();
        assert!(store.verify(None, None, |_| {}).await.unwrap().ok());
        let verify = events as f64 / started.elapsed().as_secs_f64();
        report.rate(
            name,
            format!("verify, {events} events"),
            verify,
            "plain ordered fetch",
            fetch,
        );
        report.rate(
            name,
            format!("verify, {events} events"),
            verify,
            "plain fetch + sha256 of the bytes",
            fetch_hash,
        );
        let started = Instant::now();
        store
            .export(None, ExportFormat::Jsonl, &mut std::io::sink(), |_| {})
            .await
            .unwrap();
        let export = events as f64 / started.elapsed().as_secs_f64();
        report.rate(
            name,
            format!("export JSON Lines, {events} events"),
            export,
            "plain ordered fetch",
            fetch,
        );
        if let Some((direct, direct_hash)) = direct {
            for (work, figure) in [
                ("rebuild the complaint views", rebuild),
                ("verify", verify),
                ("export JSON Lines", export),
            ] {
                report.rate(
                    name,
                    format!("{work}, {events} events"),
                    figure,
                    "plain ordered fetch straight from SQLite (rusqlite)",
                    direct,
                );
            }
            report.rate(
                name,
                format!("verify, {events} events"),
                verify,
                "the same + sha256 of the bytes",
                direct_hash,
            );
        }
        store.close().await;
        drop(db);
        // The same log with the complaints' events interleaved, as in a real log, where
        // a complaint's events are weeks apart among every other complaint's: each batch
        // of the replay then loads and writes back ten times as many complaints' states.
        let mixed = TestDb::new(backend, "bench_log_interleaved").await;
        let store = mixed.open().await;
        bulk_log(&mixed, sizes.log_complaints, 10, true).await;
        let (_, fetch) = plain_fetch(&mixed, false).await;
        report.rate(
            name,
            format!("rebuild the complaint views, {events} events, complaints interleaved"),
            rebuild_rate(&store, events).await,
            "plain ordered fetch",
            fetch,
        );
        store.close().await;
    }

    // "Overdue now" and "at risk now" among many open complaints.
    if sizes.runs("board") {
        for &open in &sizes.open {
            let db = TestDb::new(backend, &format!("bench_open_{open}")).await;
            let store = db.open().await;
            let mut raw = db.raw().await;
            let begin = if backend == Backend::Sqlite {
                "BEGIN IMMEDIATE"
            } else {
                "BEGIN"
            };
            raw.execute(begin).await.unwrap();
            // 1 in 100 overdue, 1 in 100 at risk, the rest on track.
            let base = now();
            for i in 0..open {
                let (due, risk) = match i % 100 {
                    0 => (
                        base - chrono::Duration::hours(1 + (i % 48) as i64),
                        base - chrono::Duration::hours(30),
                    ),
                    1 => (
                        base + chrono::Duration::hours(10),
                        base - chrono::Duration::hours(1),
                    ),
                    _ => (
                        base + chrono::Duration::days(2 + (i % 20) as i64),
                        base + chrono::Duration::days(1),
                    ),
                };
                sqlx::query(
                "INSERT INTO sla_deadlines (complaint_id, step, occurrence, agency, started_at, due_at, at_risk_from, ended_at, breachable, breach_recorded) \
                 VALUES ($1, 'review', 1, 'PUPR', $2, $3, $4, NULL, 1, 0)",
            )
            .bind(format!("O-{i:08}"))
            .bind(timestamp(base - chrono::Duration::days(3)))
            .bind(timestamp(due))
            .bind(timestamp(risk))
            .execute(&mut raw)
            .await
            .unwrap();
                if i % 5000 == 4999 {
                    raw.execute("COMMIT").await.unwrap();
                    raw.execute(begin).await.unwrap();
                }
            }
            raw.execute("COMMIT").await.unwrap();
            raw.execute("ANALYZE").await.unwrap();
            for (label, status) in [
                ("overdue now", BoardStatus::Breached),
                ("at risk now", BoardStatus::AtRisk),
            ] {
                let runs = 20;
                let mut found = 0;
                let started = Instant::now();
                for _ in 0..runs {
                    found = store
                        .views()
                        .sla_board(base, Some(status), None)
                        .await
                        .unwrap()
                        .len();
                }
                let ours = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
                // The same rows by a full scan.
                let (no_index_on, no_index_off) = match backend {
                    Backend::Sqlite => ("", ""),
                    Backend::Postgres => (
                        "SET enable_indexscan = off; SET enable_bitmapscan = off;",
                        "RESET enable_indexscan; RESET enable_bitmapscan;",
                    ),
                };
                let not_indexed = if backend == Backend::Sqlite {
                    " NOT INDEXED"
                } else {
                    ""
                };
                let condition = match status {
                    BoardStatus::Breached => "due_at < $1",
                    _ => "due_at >= $1 AND at_risk_from <= $1",
                };
                if !no_index_on.is_empty() {
                    raw.execute(no_index_on).await.unwrap();
                }
                let sql = format!(
                "SELECT complaint_id, step, occurrence, agency, started_at, due_at, at_risk_from, breach_recorded \
                 FROM sla_deadlines{not_indexed} WHERE ended_at IS NULL AND breachable = 1 AND {condition} ORDER BY due_at"
            );
                let started = Instant::now();
                let mut scanned = 0;
                for _ in 0..runs {
                    scanned = sqlx::query(&sql)
                        .bind(timestamp(base))
                        .fetch_all(&mut raw)
                        .await
                        .unwrap()
                        .len();
                }
                let scan = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
                if !no_index_off.is_empty() {
                    raw.execute(no_index_off).await.unwrap();
                }
                assert_eq!(found, scanned);
                // The board's first page (the 100 most urgent): the range scan stops early,
                // the full scan still reads the whole table.
                let started = Instant::now();
                for _ in 0..runs {
                    std::hint::black_box(
                        store
                            .views()
                            .sla_board_first(base, Some(status), None, Some(100))
                            .await
                            .unwrap(),
                    );
                }
                let page = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
                if !no_index_on.is_empty() {
                    raw.execute(no_index_on).await.unwrap();
                }
                let limited = format!("{sql} LIMIT 100");
                let started = Instant::now();
                for _ in 0..runs {
                    std::hint::black_box(
                        sqlx::query(&limited)
                            .bind(timestamp(base))
                            .fetch_all(&mut raw)
                            .await
                            .unwrap(),
                    );
                }
                let page_scan = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
                if !no_index_off.is_empty() {
                    raw.execute(no_index_off).await.unwrap();
                }
                report.latency(
                    name,
                    format!("\"{label}\" among {open} open complaints ({found} found)"),
                    ours,
                    "full scan of the same table",
                    scan,
                );
                report.latency(
                    name,
                    format!("\"{label}\", first 100, among {open} open complaints"),
                    page,
                    "full scan with the same LIMIT",
                    page_scan,
                );
            }
            store.close().await;
        }
    }

    // Peak memory of the walks: a log of n and of 4n events should cost the same.
    if sizes.runs("rss") {
        let small = TestDb::new(backend, "bench_rss_small").await;
        small.open().await.close().await;
        bulk_log(&small, sizes.rss_complaints / 4, 10, false).await;
        let large = TestDb::new(backend, "bench_rss_large").await;
        large.open().await.close().await;
        bulk_log(&large, sizes.rss_complaints, 10, false).await;
        for what in ["rebuild", "verify", "export"] {
            let (_, small_peak) = rss_of(what, &small.url);
            let (_, large_peak) = rss_of(what, &large.url);
            report.memory(
                name,
                format!("peak RSS of {what}, {} events", sizes.rss_complaints * 10),
                large_peak,
                &format!("the same at {} events", sizes.rss_complaints * 10 / 4),
                small_peak,
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Some(i) = args.iter().position(|a| a == "--rss-child") {
        runtime.block_on(rss_child(&args[i + 1], &args[i + 2]));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num =
        |name: &str, default: usize| flag(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let sizes = if quick {
        Sizes {
            // Small enough for CI to run from its (unoptimised) test build in under a
            // minute: a smoke run that every row still works, not figures.
            commands: num("--commands", 100),
            contention: num("--contention", 5),
            history_ops: num("--history-ops", 20),
            histories: vec![10, 50],
            log_complaints: num("--log-complaints", 200),
            open: vec![num("--open", 4_000)],
            rss_complaints: num("--rss-complaints", 300),
            only: None,
        }
    } else {
        Sizes {
            commands: num("--commands", 2_000),
            contention: num("--contention", 20),
            history_ops: num("--history-ops", 200),
            histories: vec![10, 50, 200],
            log_complaints: num("--log-complaints", 10_000),
            open: vec![100_000, num("--open", 1_000_000)],
            rss_complaints: num("--rss-complaints", 100_000),
            only: None,
        }
    };
    let sizes = Sizes {
        only: flag("--only").map(|groups| groups.split(',').map(str::to_owned).collect()),
        ..sizes
    };
    // Relative paths are taken from the workspace root, not the package folder cargo runs benches in.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = flag("--out")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "target/bench/engine.json".into());
    let out = if out.is_absolute() {
        out
    } else {
        root.join(out)
    };
    let backends: Vec<Backend> = match flag("--backend").as_deref() {
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") => vec![Backend::Postgres],
        _ if std::env::var_os("TEST_DATABASE_URL").is_some() => {
            vec![Backend::Sqlite, Backend::Postgres]
        }
        _ => {
            eprintln!("TEST_DATABASE_URL is not set: measuring SQLite only (scripts/with-postgres runs both)");
            vec![Backend::Sqlite]
        }
    };
    println!(
        "{:<9} {:<58} {:>12} {:<6} | {:<44} {:>12}  {:>7}",
        "backend", "work", "figure", "unit", "anchor (same run, same settings)", "anchor", "ratio"
    );
    let mut report = Report { rows: Vec::new() };
    let started = Instant::now();
    for backend in backends {
        runtime.block_on(bench_backend(backend, &sizes, &mut report));
    }
    let doc = json!({
        "quick": quick,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "seconds": started.elapsed().as_secs_f64(),
        "rows": report.rows,
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut file = std::fs::File::create(&out).unwrap();
    writeln!(file, "{}", serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    println!(
        "written to {} in {:.0} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
}
