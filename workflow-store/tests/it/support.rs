//! What several modules set up or check the same way, on top of `workflow_store::testing`
//! (which the end-to-end tests share too): scenarios written as the SOP's steps, a
//! complaint registered or read back in one call, an open that must fail, a write held
//! open, a SQLite file's bytes, and the name of a child process's test.

use sqlx::{AnyConnection, Executor};
use workflow_core::complaint::command::{
    Closure, ComplaintCommand as C, IdentityErasure, ReviewResult,
};
use workflow_core::fixtures::*;
use workflow_core::{ComplaintEvent, ComplaintServices};
use workflow_store::testing::{step, Step, TestDb};
use workflow_store::views::ComplaintDetail;
use workflow_store::{Executed, Store, StoreError};

/// The UPP registers `complaint` at `at` (WIB, `2026-11-30 09:00`).
pub fn register(complaint: &str, at: &str) -> Step {
    step(complaint, at, upp(), C::Register(registration()))
}

/// The UPP disposes `complaint` to `agency`.
pub fn dispose(complaint: &str, at: &str, agency: &str) -> Step {
    step(complaint, at, upp(), C::Dispose(disposition(agency)))
}

/// The liaison officer of `agency` reviews `complaint` and finds `result`.
pub fn review(complaint: &str, at: &str, agency: &str, result: ReviewResult) -> Step {
    step(complaint, at, liaison(agency), C::Review(result))
}

/// The liaison officer of `agency` asks the complainant for information.
pub fn request_information(complaint: &str, at: &str, agency: &str) -> Step {
    let command = C::RequestInformation(information_request());
    step(complaint, at, liaison(agency), command)
}

/// The liaison officer of `agency` clarifies `complaint`, without a field examination.
pub fn clarify(complaint: &str, at: &str, agency: &str) -> Step {
    step(
        complaint,
        at,
        liaison(agency),
        C::Clarify(clarification(false)),
    )
}

/// The liaison officer of `agency` answers the complainant.
pub fn respond(complaint: &str, at: &str, agency: &str) -> Step {
    step(complaint, at, liaison(agency), C::Respond(response_text()))
}

/// The liaison officer of `agency` rejects `complaint`.
pub fn reject(complaint: &str, at: &str, agency: &str) -> Step {
    step(complaint, at, liaison(agency), C::Reject(rejection()))
}

/// The UPP records the complainant's satisfied feedback.
pub fn record_feedback(complaint: &str, at: &str) -> Step {
    step(complaint, at, upp(), C::RecordFeedback(feedback(true)))
}

/// The UPP erases the complainant's identity in `complaint` (UU 27/2022).
pub fn erase_identity(complaint: &str, at: &str) -> Step {
    step(
        complaint,
        at,
        upp(),
        C::EraseIdentity(IdentityErasure {
            legal_basis: "Permintaan pelapor, Pasal 8 UU 27/2022".into(),
        }),
    )
}

/// The UPP closes `complaint`.
pub fn close(complaint: &str, at: &str) -> Step {
    step(complaint, at, upp(), C::Close(Closure::default()))
}

/// `complaint` registered, disposed to `agency` and reviewed by its liaison officer with
/// `result`, all at `at`: a complaint at step 2 with no time lost.
pub fn reviewed(complaint: &str, at: &str, agency: &str, result: ReviewResult) -> Vec<Step> {
    vec![
        register(complaint, at),
        dispose(complaint, at, agency),
        review(complaint, at, agency, result),
    ]
}

/// The opening the projection and read-only scenarios share: three complaints registered
/// on Monday morning; ADU-1 disposed to PUPR and found complete, ADU-2 disposed to DISHUB
/// and found incomplete and unclear, ADU-3 not disposed.
pub fn three_registered_two_reviewed() -> Vec<Step> {
    vec![
        register("ADU-1", "2026-11-30 08:00"),
        register("ADU-2", "2026-11-30 08:10"),
        register("ADU-3", "2026-11-30 08:20"),
        dispose("ADU-1", "2026-11-30 09:00", "PUPR"),
        dispose("ADU-2", "2026-11-30 09:00", "DISHUB"),
        review("ADU-1", "2026-12-01 09:00", "PUPR", complete_review()),
        review("ADU-2", "2026-12-01 09:00", "DISHUB", incomplete_review()),
    ]
}

/// Registers `complaint` (command id `reg-<complaint>`, Monday 30 November 2026 09:00
/// WIB) and gives the engine's answer: for tests about the store rather than the SOP,
/// which need some complaint, or the outcome of writing one.
pub async fn new_complaint(store: &Store, complaint: &str) -> Result<Executed, StoreError> {
    register(complaint, "2026-11-30 09:00")
        .execute(store, &format!("reg-{complaint}"))
        .await
}

/// Why the store at `url` does not open (panics if it does).
pub async fn open_refused(url: &str) -> StoreError {
    let opened = Store::open(url, ComplaintServices::builtin()).await;
    opened.err().unwrap_or_else(|| panic!("{url} opened"))
}

/// Opens `db`, which migrates and marks it, registers one complaint (ADU-1) and closes
/// it: an aduan database with something in it, for the tests of what a later open does.
pub async fn store_one_complaint(db: &TestDb) {
    let store = db.open().await;
    new_complaint(&store, "ADU-1").await.unwrap();
    store.close().await;
}

/// `complaint` as the views show it; panics when they do not have it.
pub async fn projected(store: &Store, complaint: &str) -> ComplaintDetail {
    let detail = store.views().detail(&cid(complaint)).await.unwrap();
    detail.unwrap_or_else(|| panic!("{complaint} is not in the views"))
}

/// Begins a write transaction on `raw`, a connection to the database at `url`, and
/// inserts `event` there as `complaint`'s event `sequence` behind the engine's back,
/// leaving the transaction open: a writer stopped between its INSERT and its COMMIT.
pub async fn insert_and_hold(
    raw: &mut AnyConnection,
    url: &str,
    (complaint, sequence): (&str, i64),
    event: &ComplaintEvent,
) {
    let sqlite = url.starts_with("sqlite:");
    // On SQLite the write lock is taken at BEGIN, as the engine's own writes take it.
    let begin = if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
    raw.execute(begin).await.unwrap();
    let json = if sqlite { "$4" } else { "$4::json" };
    sqlx::query(&format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('complaint', $1, $2, $3, '1', {json}, '{{}}')"
    ))
    .bind(complaint)
    .bind(sequence)
    .bind(event.body.event_type())
    .bind(serde_json::to_string(event).unwrap())
    .execute(&mut *raw)
    .await
    .unwrap();
}

/// Refuses every insert of `id`'s events, behind the engine's back (a fault in the
/// events' statement after the key's).
pub async fn refuse_events_of(db: &TestDb, id: &str) {
    let mut raw = db.raw().await;
    let statements = match db.backend {
        workflow_store::testing::Backend::Sqlite => vec![format!(
            "CREATE TRIGGER refuse_test BEFORE INSERT ON events WHEN NEW.aggregate_id = '{id}' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )],
        workflow_store::testing::Backend::Postgres => vec![
            format!(
                "CREATE FUNCTION refuse_test() RETURNS trigger AS $$ BEGIN \
                 IF NEW.aggregate_id = '{id}' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER refuse_test BEFORE INSERT ON events FOR EACH ROW \
             EXECUTE FUNCTION refuse_test()"
                .to_owned(),
        ],
    };
    for sql in statements {
        raw.execute(sql.as_str()).await.unwrap();
    }
}

pub async fn allow_events_again(db: &TestDb) {
    let mut raw = db.raw().await;
    let sql = match db.backend {
        workflow_store::testing::Backend::Sqlite => "DROP TRIGGER refuse_test",
        workflow_store::testing::Backend::Postgres => "DROP TRIGGER refuse_test ON events",
    };
    raw.execute(sql).await.unwrap();
}

/// The SQLite file and everything beside it, byte for byte (nothing on PostgreSQL): for
/// "not a byte changed" checks, which the schema alone cannot make.
pub fn files(db: &TestDb) -> Vec<(String, Vec<u8>)> {
    let Some(path) = db.sqlite_path() else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The name the test harness knows `test` by, `test` being a path below the module
/// whose `module_path!()` is `module`: a child process runs it by that exact name, and
/// the harness leaves out the binary's crate name that `module_path!()` starts with.
pub fn test_name(module: &str, test: &str) -> String {
    let (_crate, module) = module
        .split_once("::")
        .expect("a module of the test binary, not its root");
    format!("{module}::{test}")
}

/// A store's projector running in the background ([`Projector::run`]) until stopped.
///
/// [`Projector::run`]: workflow_store::Projector::run
pub struct RunningProjector {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts `store`'s projector, polling every `poll` besides its wake-ups.
pub fn run_projector(store: &Store, poll: std::time::Duration) -> RunningProjector {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(std::sync::Arc::clone(store.projector()).run(poll, async {
        let _ = stopped.await;
    }));
    RunningProjector { stop, task }
}

impl RunningProjector {
    /// Stops it, and waits (at most 30 s) until its batches under way have ended.
    pub async fn stop(self) {
        self.stop.send(()).expect("the projector was still running");
        tokio::time::timeout(std::time::Duration::from_secs(30), self.task)
            .await
            .expect("the projector stopped within 30 s")
            .unwrap();
    }
}

/// `ADU-1` registered at `at` by a program recorded before identities were sealed
/// (a plain cqrs-es store), then adopted: its state holds the identity in plain.
pub async fn adopted_plain_registration(db: &TestDb, at: &str) {
    db.plain_cqrs_es_store(vec![(
        "ADU-1",
        cmd("legacy-1", upp(), wib(at), C::Register(registration())),
    )])
    .await;
    Store::adopt(&db.url).await.unwrap();
}

/// How many data keys are stored for `id` (the table the personal data's keys live in).
pub async fn keys_of(db: &TestDb, id: &str) -> i64 {
    let mut raw = db.raw().await;
    sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM subject_keys WHERE complaint_id = $1")
            .bind(id)
            .fetch_one(&mut raw)
            .await
            .unwrap(),
        "n",
    )
}

/// The secondary (neither unique nor primary-key) indexes on `table`, by name, read on a
/// connection of its own to the database at `url`.
pub async fn secondary_indexes(
    url: &str,
    backend: workflow_store::testing::Backend,
    table: &str,
) -> Vec<String> {
    let sql = match backend {
        workflow_store::testing::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
             AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
        }
        workflow_store::testing::Backend::Postgres => {
            "SELECT c.relname::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = to_regclass($1) AND NOT i.indisprimary AND NOT i.indisunique \
             ORDER BY c.relname"
        }
    };
    sqlx::any::install_default_drivers();
    let mut conn = <AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::query(sql)
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| sqlx::Row::get(row, "name"))
        .collect()
}

/// A replay of the projection `name` stopped half-way: started, and its future dropped
/// once its first batch is applied (the replay batch should be small enough for there
/// to be more than one).
pub async fn stop_replay_after_first_batch(store: &Store, name: &str) {
    let (first_batch, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut first_batch = Some(first_batch);
    let replay = store.projector().rebuild(name, move |_| {
        if let Some(tell) = first_batch.take() {
            let _ = tell.send(());
        }
    });
    tokio::select! {
        done = replay => panic!("the replay finished before it was stopped: {done:?}"),
        _ = stopped => {}
    }
}

/// Replays projection `name`, waiting (at most 30 s) while another replay of it still
/// holds its lock: after a replay stopped half-way or killed, on PostgreSQL, until the
/// server has seen its session end. The number of events applied.
pub async fn rebuild_when_free(store: &Store, name: &str) -> u64 {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match store.projector().rebuild(name, |_| {}).await {
            Ok(applied) => return applied,
            Err(workflow_store::StoreError::Unavailable { reason, .. })
                if reason.contains("already") && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("a replay of {name}: {e}"),
        }
    }
}

/// What `work` gives, run on a thread and runtime of its own (as another host would run
/// it), the caller's thread waiting for it (at most 30 s): for code that cannot await,
/// such as a walk's or a replay's progress report.
pub fn on_a_thread_of_its_own<T, F>(work: impl FnOnce() -> F + Send + 'static) -> T
where
    F: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = done.send(runtime.block_on(work()));
    });
    finished
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the work on a thread of its own ends within 30 s")
}

/// A replay of projection `name` by a store of its own on a thread and runtime of its
/// own (as another host's would run), held after its first batch (that runtime blocked)
/// until released.
pub struct HeldReplay {
    thread: std::thread::JoinHandle<Result<u64, workflow_store::StoreError>>,
    release: std::sync::mpsc::Sender<()>,
}

impl HeldReplay {
    /// Starts it on the database at `url`, and waits (at most 30 s) for its first batch.
    pub async fn start(url: &str, name: &'static str) -> Self {
        let (held, holding) = tokio::sync::oneshot::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let url = url.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let store = Store::open(&url, workflow_store::SettingsSource::Stored)
                    .await
                    .unwrap();
                store.projector().set_replay_batch(2);
                let mut held = Some(held);
                let done = store
                    .projector()
                    .rebuild(name, move |_| {
                        if let Some(tell) = held.take() {
                            let _ = tell.send(());
                            let _ = released.recv_timeout(std::time::Duration::from_secs(30));
                        }
                    })
                    .await;
                store.close().await;
                done
            })
        });
        tokio::time::timeout(std::time::Duration::from_secs(30), holding)
            .await
            .expect("the held replay applies its first batch")
            .unwrap();
        Self { thread, release }
    }

    /// Lets it go on, and waits (at most 30 s) for what it returns.
    pub async fn release(self) -> Result<u64, workflow_store::StoreError> {
        self.release.send(()).unwrap();
        let thread = self.thread;
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            tokio::task::spawn_blocking(move || thread.join()),
        )
        .await
        .expect("the held replay ends once released")
        .unwrap()
        .unwrap()
    }
}
