//! Fresh databases for tests: a SQLite file in a temporary folder, or a new PostgreSQL
//! database on the server `TEST_DATABASE_URL` names, unique to the run and dropped
//! afterwards. A test written once with [`both!`](crate::both) runs on both, or on the
//! one backend a build has (see the `sqlite` and `postgres` features). Enabled by the
//! `testing` feature.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use std::str::FromStr;
#[cfg(feature = "postgres")]
use std::time::Duration;
use workflow_core::ComplaintId;

use crate::Store;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::CqrsFramework;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPool};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::Connection;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use sqlx::{ConnectOptions, Executor};
use workflow_core::{CommandEnvelope, Complaint, ComplaintServices};

/// The tables sqlite-es 0.5 documents for a store (its `migrations/…_init.sql`).
///
/// A copy of upstream's text on purpose, not derived from our log migration (which
/// starts from the same table): adoption is tested against what a plain cqrs-es user
/// created, so a change to our migration must not change this.
pub const SQLITE_ES_SCHEMA: &str = "
CREATE TABLE events
(
  aggregate_type text                          NOT NULL,
  aggregate_id   text                          NOT NULL,
  sequence       integer CHECK (sequence >= 0) NOT NULL,
  event_type     text                          NOT NULL,
  event_version  text                          NOT NULL,
  payload        text                          NOT NULL,
  metadata       text                          NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;
CREATE TABLE snapshots
(
  aggregate_type   text                                  NOT NULL,
  aggregate_id     text                                  NOT NULL,
  last_sequence    integer CHECK (last_sequence >= 0)    NOT NULL,
  current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL,
  payload          text                                  NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;
";

/// The tables postgres-es 0.5 documents for a store (its `db/init.sql`); a copy of
/// upstream's text on purpose, as [`SQLITE_ES_SCHEMA`] says.
pub const POSTGRES_ES_SCHEMA: &str = "
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);
";

/// The backends a test can run on (both exist in every build; a database is only made on
/// one that is compiled in, see [`Backend::compiled_in`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl Backend {
    /// Whether this build has the backend (its feature, `sqlite` or `postgres`).
    pub const fn compiled_in(self) -> bool {
        match self {
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
        }
    }

    /// Panics for a backend this build does not have: a test that needs it should not
    /// have been compiled (gate it with `#[cfg(feature = "…")]`).
    fn missing(self) -> ! {
        panic!(
            "this build has no {self:?} backend: the test needs the `{}` feature",
            match self {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            }
        )
    }
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// Which backend.
    pub backend: Backend,
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// On PostgreSQL: the server's URL and the database's name, to drop it afterwards.
    #[cfg(feature = "postgres")]
    postgres: Option<(String, String)>,
}

/// How long dropping a test database may take before it is given up (and left behind).
#[cfg(feature = "postgres")]
const DROP_WITHIN: Duration = Duration::from_secs(15);

#[cfg(feature = "postgres")]
/// A name of its own for a test database: `aduan_t_`, the test's name (lower case,
/// `_` for anything else; long ones cut and kept distinct by a digest), this process's
/// id and 32 random bits, within PostgreSQL's 63 bytes. Two runs of one test, at once
/// or one after the other, never meet; nor do they meet databases other roles own.
fn database_name(test: &str) -> String {
    use sha2::Digest;
    let stem: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    // 8 (`aduan_t_`) + 38 + 8 (`_` and a pid of up to 7 digits) + 9 (`_` and 8 hex) = 63.
    let stem = if stem.len() > 38 {
        let digest = sha2::Sha256::digest(stem.as_bytes());
        format!("{}_{}", &stem[..29], crate::chain::hex(&digest[..4]))
    } else {
        stem
    };
    let mut random = [0u8; 4];
    getrandom::getrandom(&mut random).expect("the OS random source for a test database name");
    format!(
        "aduan_t_{stem}_{}_{}",
        std::process::id(),
        crate::chain::hex(&random)
    )
}

/// Drops a test database, ending whatever still uses it. `WITH (FORCE)` ends the test's
/// own connections, but refuses outright when an autovacuum worker is in the database
/// (not a process of ours to end); then the test's connections are ended by hand and a
/// plain `DROP`, which stops autovacuum and waits a few seconds for the rest, is used.
#[cfg(feature = "postgres")]
async fn drop_database(server: &str, db: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnectOptions::from_str(server)?.connect().await?;
    let forced = admin
        .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await;
    if forced.is_err() {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()",
        )
        .bind(db)
        .execute(&mut admin)
        .await?;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {db}").as_str())
            .await?;
    }
    admin.close().await
}

#[cfg(feature = "postgres")]
impl Drop for TestDb {
    /// A SQLite file goes with its temporary folder. A PostgreSQL database is dropped
    /// (`WITH (FORCE)`: connections a failed test left open do not stop it) on a thread
    /// of its own with its own runtime, as a drop cannot await and may run inside the
    /// test's runtime. Bounded by [`DROP_WITHIN`]; a failure is reported on stderr and
    /// never panics here.
    fn drop(&mut self) {
        let Some((server, db)) = self.postgres.take() else {
            return;
        };
        let (done, outcome) = std::sync::mpsc::channel();
        let name = db.clone();
        let spawned = std::thread::Builder::new()
            .name("drop-test-db".into())
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|runtime| {
                        runtime.block_on(async {
                            match tokio::time::timeout(DROP_WITHIN, drop_database(&server, &name))
                                .await
                            {
                                Ok(result) => result.map_err(|e| e.to_string()),
                                Err(_) => Err(format!("no answer within {DROP_WITHIN:?}")),
                            }
                        })
                    });
                let _ = done.send(result);
            });
        let result = match spawned {
            Ok(_) => outcome
                .recv_timeout(DROP_WITHIN + Duration::from_secs(5))
                .unwrap_or_else(|e| Err(e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            eprintln!("test database {db} was not dropped: {e}");
        }
    }
}

/// The PostgreSQL server for tests; panics with instructions when none is configured.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE_URL is not set: PostgreSQL tests need a server. \
             Run the tests as `scripts/with-postgres cargo test --workspace`, which starts one."
        )
    })
}

impl TestDb {
    /// A fresh, empty database of its own, named after the test (on PostgreSQL with
    /// the process id and a random part: see [`TestDb::url`]). It is removed when the
    /// `TestDb` is dropped.
    pub async fn new(backend: Backend, name: &str) -> Self {
        match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
                Self {
                    backend,
                    url,
                    _dir: Some(dir),
                    #[cfg(feature = "postgres")]
                    postgres: None,
                }
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let server = server_url();
                let db = database_name(name);
                let mut admin = PgConnectOptions::from_str(&server)
                    .unwrap()
                    .connect()
                    .await
                    .unwrap();
                admin
                    .execute(format!("CREATE DATABASE {db}").as_str())
                    .await
                    .unwrap_or_else(|e| panic!("creating the test database {db}: {e}"));
                admin.close().await.unwrap();
                let base = &server[..server.rfind('/').unwrap()];
                Self {
                    backend,
                    url: format!("{base}/{db}"),
                    _dir: None,
                    postgres: Some((server, db)),
                }
            }
            #[allow(unreachable_patterns)]
            missing => {
                let _ = name;
                missing.missing()
            }
        }
    }

    /// Opens the store on it with the settings it records, as `aduan` does (the shipped
    /// calendar and policy until one is recorded).
    pub async fn open(&self) -> Store {
        Store::open(&self.url, crate::SettingsSource::Stored)
            .await
            .unwrap()
    }

    /// Opens the store on it with services of the test's own, whatever it records.
    pub async fn open_with(&self, services: ComplaintServices) -> Store {
        Store::open(&self.url, services).await.unwrap()
    }

    /// A bind parameter for a `json` column (PostgreSQL needs the cast).
    pub fn json_param(&self, n: usize) -> String {
        match self.backend {
            Backend::Sqlite => format!("${n}"),
            Backend::Postgres => format!("${n}::json"),
        }
    }

    /// A raw connection for going behind the engine's back.
    pub async fn raw(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.url).await.unwrap()
    }

    /// Runs `sql` on a plain connection, creating the SQLite file (in the default
    /// rollback-journal mode) if it does not exist: another program's database.
    pub async fn create_foreign(&self, sql: &str) {
        match self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(&self.url)
                    .unwrap()
                    .create_if_missing(true);
                let mut conn = options.connect().await.unwrap();
                conn.execute(sql).await.unwrap();
                conn.close().await.unwrap();
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let mut conn = PgConnectOptions::from_str(&self.url)
                    .unwrap()
                    .connect()
                    .await
                    .unwrap();
                conn.execute(sql).await.unwrap();
                conn.close().await.unwrap();
            }
            #[allow(unreachable_patterns)]
            missing => {
                let _ = sql;
                missing.missing()
            }
        }
    }

    /// Makes a plain sqlite-es or postgres-es store here (the crates' documented tables)
    /// and executes `commands` through cqrs-es's own `CqrsFramework` and
    /// `PersistedEventStore`, as a service built on the bare crates would have.
    pub async fn plain_cqrs_es_store(&self, commands: Vec<(&str, CommandEnvelope)>) {
        match self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                self.create_foreign(SQLITE_ES_SCHEMA).await;
                let pool =
                    SqlitePool::connect_with(SqliteConnectOptions::from_str(&self.url).unwrap())
                        .await
                        .unwrap();
                let store = PersistedEventStore::<_, Complaint>::new_event_store(
                    sqlite_es::SqliteEventRepository::new(pool.clone()),
                );
                let cqrs = CqrsFramework::new(store, vec![], ComplaintServices::builtin());
                for (id, command) in commands {
                    cqrs.execute(id, command).await.unwrap();
                }
                pool.close().await;
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                self.create_foreign(POSTGRES_ES_SCHEMA).await;
                let pool = PgPool::connect(&self.url).await.unwrap();
                let store = PersistedEventStore::<_, Complaint>::new_event_store(
                    postgres_es::PostgresEventRepository::new(pool.clone()),
                );
                let cqrs = CqrsFramework::new(store, vec![], ComplaintServices::builtin());
                for (id, command) in commands {
                    cqrs.execute(id, command).await.unwrap();
                }
                pool.close().await;
            }
            #[allow(unreachable_patterns)]
            missing => {
                let _ = commands;
                missing.missing()
            }
        }
    }

    /// What the database holds, as text: every table, index, view, trigger and function
    /// of the schema the engine would use (for "nothing was changed" checks).
    pub async fn schema(&self) -> Vec<String> {
        use sqlx::Row;
        let mut raw = self.raw().await;
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') AS item FROM sqlite_schema \
                 UNION ALL SELECT 'application_id ' || application_id AS item FROM pragma_application_id \
                 ORDER BY item"
            }
            Backend::Postgres => {
                "SELECT c.relkind::text || ' ' || c.relname AS item FROM pg_class c \
                   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() \
                 UNION ALL SELECT 'trigger ' || tgname::text FROM pg_trigger WHERE NOT tgisinternal \
                 UNION ALL SELECT 'function ' || p.proname::text FROM pg_proc p \
                   JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() \
                 ORDER BY item"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&mut raw).await.unwrap();
        raw.close().await.unwrap();
        rows.iter().map(|r| r.get::<String, _>("item")).collect()
    }

    /// The SQLite file's path (none on PostgreSQL).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self.url
            .strip_prefix("sqlite://")
            .map(|p| std::path::PathBuf::from(p.split('?').next().unwrap_or(p)))
    }

    /// Every byte the engine keeps of this database, named: SQLite's file, its
    /// write-ahead log and shared memory; PostgreSQL's data as `pg_dump --data-only`
    /// writes it (live rows only). For scans that nothing was left behind.
    pub fn stored_bytes(&self) -> Vec<(String, Vec<u8>)> {
        match self.sqlite_path() {
            Some(path) => ["", "-wal", "-shm"]
                .iter()
                .filter_map(|suffix| {
                    let file = format!("{}{suffix}", path.display());
                    std::fs::read(&file).ok().map(|bytes| (file, bytes))
                })
                .collect(),
            None => {
                let out = std::process::Command::new("pg_dump")
                    .args(["--data-only", &self.url])
                    .output()
                    .expect("pg_dump runs");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                vec![("pg_dump --data-only".into(), out.stdout)]
            }
        }
    }
}

/// How many appends `store`'s log holds in hand: waiting for its writer, or in the
/// batch being written.
pub fn appends_in_hand(store: &Store) -> usize {
    store.log().appends_in_hand()
}

/// The answers to idempotency keys `store` holds: how many wait to be taken into a
/// statement, and how many callers keeping one have not been answered.
pub fn answers_in_hand(store: &Store) -> (usize, usize) {
    store.answers.in_hand()
}

/// How many transactions of appends `store`'s log writes at once: 1 on SQLite, more
/// on PostgreSQL.
pub fn log_writers(store: &Store) -> usize {
    store.log().writers()
}

/// Fails naming the file when `needle` occurs in any of `files` ([`TestDb::stored_bytes`]
/// and the like); `what` says what was looked for.
#[track_caller]
pub fn assert_nowhere(files: &[(String, Vec<u8>)], needle: &[u8], what: &str) {
    for (file, bytes) in files {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{what} is in {file}"
        );
    }
}

/// The first error of type `T` in `err`'s source chain, `err` itself included: what a
/// [`StoreError`](crate::StoreError) keeps of the driver's or the file system's error.
pub fn cause<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    std::iter::successors(Some(err), |e| e.source()).find_map(|e| e.downcast_ref::<T>())
}

/// The database's error code in `err`'s source chain (SQLite's extended code as
/// digits, a PostgreSQL SQLSTATE), if a database error is there.
pub fn database_code(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    match cause::<sqlx::Error>(err)? {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Runs an async test body `fn(TestDb)` once on SQLite and once on PostgreSQL: the
/// tests `$name::sqlite` and `$name::postgres`. A backend this build of workflow-store
/// does not have gets no test (its feature decides, not the calling crate's).
#[macro_export]
macro_rules! both {
    ($name:ident, $body:path) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__with_sqlite! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let name = concat!(module_path!(), "_sqlite");
                    $body($crate::testing::TestDb::new($crate::testing::Backend::Sqlite, name).await)
                        .await;
                }
            }
            $crate::__with_postgres! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let name = module_path!();
                    $body($crate::testing::TestDb::new($crate::testing::Backend::Postgres, name).await)
                        .await;
                }
            }
        }
    };
}

/// One scripted command of a test scenario: on which complaint, when (WIB wall clock,
/// `2026-11-30 09:00`), by whom, what.
pub struct Step {
    complaint: ComplaintId,
    at: chrono::DateTime<chrono::Utc>,
    actor: workflow_core::Actor,
    command: workflow_core::ComplaintCommand,
}

/// A scripted command (see [`play`]).
pub fn step(
    complaint: &str,
    at: &str,
    actor: workflow_core::Actor,
    command: workflow_core::ComplaintCommand,
) -> Step {
    Step {
        complaint: ComplaintId::new(complaint).expect("a valid complaint id"),
        at: workflow_core::fixtures::wib(at),
        actor,
        command,
    }
}

impl Step {
    /// Executes this command alone, with the command id given, and gives the engine's
    /// answer: for a command whose outcome or refusal the test looks at, where [`play`]
    /// stops at a refusal.
    pub async fn execute(
        self,
        store: &Store,
        command_id: &str,
    ) -> Result<crate::Executed, crate::StoreError> {
        let command = CommandEnvelope::new(command_id, self.actor, self.at, self.command);
        store.engine().execute(&self.complaint, command, None).await
    }
}

/// Runs scripted commands in order through the engine (command ids `seed-1`, `seed-2`,
/// …); each must be accepted.
pub async fn play(store: &Store, steps: Vec<Step>) {
    for (i, s) in steps.into_iter().enumerate() {
        let (name, complaint) = (s.command.name(), s.complaint.clone());
        s.execute(store, &format!("seed-{}", i + 1))
            .await
            .unwrap_or_else(|e| panic!("step {} ({name} on {complaint}): {e}", i + 1));
    }
}

/// The tokens given, in a build with SQLite; nothing otherwise (for [`both!`](crate::both)).
#[cfg(feature = "sqlite")]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_sqlite {
    ($($item:tt)*) => { $($item)* };
}

/// The tokens given, in a build with SQLite; nothing otherwise (for [`both!`](crate::both)).
#[cfg(not(feature = "sqlite"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_sqlite {
    ($($item:tt)*) => {};
}

/// The tokens given, in a build with PostgreSQL; nothing otherwise (for [`both!`](crate::both)).
#[cfg(feature = "postgres")]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_postgres {
    ($($item:tt)*) => { $($item)* };
}

/// The tokens given, in a build with PostgreSQL; nothing otherwise (for [`both!`](crate::both)).
#[cfg(not(feature = "postgres"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_postgres {
    ($($item:tt)*) => {};
}

/// The whole state of the views, for comparing an incremental run with a rebuild.
pub async fn snapshot_views(store: &Store) -> String {
    let views = store.views();
    let mut parts = Vec::new();
    let page = views
        .list(&crate::views::ComplaintFilter {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap();
    for s in &page.items {
        let detail = views.detail(&s.complaint_id).await.unwrap().unwrap();
        let timeline = views.timeline(&s.complaint_id).await.unwrap();
        parts.push(format!(
            "{:?}\n{:?}\n{:?}",
            detail.summary, detail.state, timeline
        ));
    }
    for now in [
        "2020-01-01T00:00:00Z",
        "2026-12-10T00:00:00Z",
        "2030-01-01T00:00:00Z",
    ] {
        let now = chrono::DateTime::parse_from_rfc3339(now).unwrap().to_utc();
        parts.push(format!(
            "{:?}",
            views.sla_board(now, None, None).await.unwrap()
        ));
    }
    parts.join("\n---\n")
}

/// The state rebuilt from the log alone, for comparing with the views.
/// Every event read back from the log and folded, without a snapshot.
pub async fn replayed(store: &Store, complaint_id: &ComplaintId) -> Complaint {
    store.engine().replay(complaint_id).await.unwrap()
}

mod child;
mod disk;
#[cfg(feature = "postgres")]
mod relay;
pub use child::{child_url, fault_point, say, ChildProcess};
pub use disk::SmallDisk;
#[cfg(feature = "postgres")]
pub use relay::Relay;

/// The machine's CPU time from `/proc/stat` (Linux), for benchmarks: the busy and the
/// total, in clock ticks, over every core and every process (a database server's
/// included).
#[derive(Clone, Copy, Debug)]
pub struct CpuMark {
    busy: u64,
    total: u64,
}

impl CpuMark {
    /// The machine's CPU time now (`None` where `/proc/stat` cannot be read).
    pub fn now() -> Option<CpuMark> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|t| t.parse().ok())
            .collect::<Option<_>>()?;
        let total: u64 = ticks.iter().sum();
        // idle and iowait
        let idle = ticks.get(3)? + ticks.get(4)?;
        Some(CpuMark {
            busy: total - idle,
            total,
        })
    }

    /// Since `self`: the CPU milliseconds spent per command of `commands`, and the share
    /// of the cores that was busy.
    pub fn since(self, commands: usize) -> Option<(f64, f64)> {
        let now = CpuMark::now()?;
        // Ticks of USER_HZ, which is 100 on the architectures this runs on (proc(5)).
        let busy = now.busy.saturating_sub(self.busy) as f64;
        let total = now.total.saturating_sub(self.total) as f64;
        if total <= 0.0 || commands == 0 {
            return None;
        }
        Some((busy * 10.0 / commands as f64, busy / total))
    }
}

/// SQLite's `synchronous` setting (1: `NORMAL`, 2: `FULL`) on a connection of the pool
/// the log's appends use (`None` on PostgreSQL).
pub async fn sqlite_appends_synchronous(store: &Store) -> Option<i64> {
    use sqlx::Row;
    let db = store.log().db();
    if db.kind != crate::backend::BackendKind::Sqlite {
        return None;
    }
    let row = sqlx::query("PRAGMA synchronous")
        .fetch_one(&db.any)
        .await
        .expect("PRAGMA synchronous answers");
    Some(row.try_get::<i64, _>(0).expect("an integer"))
}
