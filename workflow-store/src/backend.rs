//! Connecting to the database named by a URL, and the little SQL that differs between
//! SQLite and PostgreSQL.
//!
//! Each backend is compiled in by its feature (`sqlite`, `postgres`); the code that needs
//! a backend's driver is behind that feature, and a URL for a backend this build lacks is
//! refused as [`StoreError::BadUrl`]. [`BackendKind`] names both either way: the little
//! SQL that differs is text, and a `Db` of a missing kind is never made. How each one
//! is opened lives in its own module (`backend/sqlite.rs`, `backend/postgres.rs`).

#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqlitePool;
use sqlx::AnyPool;
use sqlx::{Connection, Database, Executor, Row};

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use crate::error::StoreError;
use crate::identity::Identity;
use crate::options::StoreOptions;

/// Which database holds the log. Both variants exist in every build; a store is only
/// ever opened on a backend whose feature is enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// A SQLite file: the embedded default.
    Sqlite,
    /// A PostgreSQL database: production, several hosts on one database.
    Postgres,
}

/// SQLite's busy timeout: how long a write waits for the file's one writer before it
/// fails as unavailable. A turn to write in the process (`Db::writer`) is waited for as
/// long.
pub(crate) const SQLITE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The pools of one database: a typed pool for the event-sourcing crate, and an `Any`
/// pool for our own portable SQL (views, checkpoints, reads by position).
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub kind: BackendKind,
    /// The database for messages: the SQLite path, or the URL without its password.
    pub name: String,
    /// PostgreSQL: the statement that gives a session its settings (timeouts).
    pub session: Option<String>,
    /// Opened read-only: every write is refused before it reaches the database (which
    /// refuses it too: SQLite `mode=ro` and `query_only`, PostgreSQL read-only sessions).
    pub read_only: bool,
    pub any: AnyPool,
    pub typed: TypedPool,
    /// SQLite: the pool the projector writes through, whose connections commit without
    /// waiting for `fsync` (decision 38). `None`: the projector writes through `any`.
    pub projecting: Option<AnyPool>,
    /// SQLite: the turn to write, taken in this process before a write transaction
    /// begins (see [`Db::writer`]). `None` on PostgreSQL.
    pub writer: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    /// SQLite with its default VFS: the database file, for the reads that take SQLite's
    /// rows on a thread of their own (`crate::log::direct`). `None` on PostgreSQL and
    /// where the URL names a VFS (those reads then go through sqlx).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub direct: Option<SqliteFile>,
}

/// A SQLite database as a connection of the store's own opens it: its file, and
/// whether the URL declares it `immutable` (a copy on read-only media, read without
/// locks or a `-shm` file).
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub struct SqliteFile {
    pub path: std::path::PathBuf,
    pub immutable: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum TypedPool {
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
}

/// How long a pooled connection may have been idle and still be handed out without a
/// ping. A connection used this recently is trusted: a server gone since fails its next
/// statement as unavailable, as it would have failed a statement sent just before.
#[cfg(feature = "postgres")]
const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// The pools' rule for a connection handed out (PostgreSQL): one idle for
/// [`PING_AFTER_IDLE`] or more is pinged first, and closed if the server does not
/// answer (a restarted server, a session ended by an administrator); one used more
/// recently is not. sqlx's own test pings every connection on every acquire, a round
/// trip to the server before each transaction and each read. (SQLite's connections are
/// a local file, which does not hang up: its pools test none on acquire. sqlx still
/// pings every connection as it comes back to a pool, after its caller is done with it;
/// that cannot be turned off.)
#[cfg(feature = "postgres")]
fn ping_if_idle<DB: Database>() -> impl Fn(
    &mut DB::Connection,
    sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'_, Result<bool, sqlx::Error>>
       + Send
       + Sync
       + 'static {
    |conn: &mut DB::Connection, meta| {
        Box::pin(async move {
            // A connection that does not answer is closed (and another taken).
            Ok(meta.idle_for < PING_AFTER_IDLE || conn.ping().await.is_ok())
        })
    }
}

/// The pools' rule for a connection coming back: one that is still inside a transaction
/// is closed, never handed out again.
///
/// After a failed `COMMIT` or `ROLLBACK` (a full disk, an I/O error, a server gone) the
/// driver still counts the connection as inside a transaction, and SQLite may have rolled
/// it back by itself. Reused, such a connection turns the next `BEGIN` into a savepoint
/// of a transaction that never ends: writes are then "committed" into nothing, and the
/// write lock is held for good. Closing it rolls back whatever is open on the database's
/// side, and the pool opens a fresh connection in its place.
fn keep_only_clean<DB: Database>() -> impl Fn(
    &mut DB::Connection,
    sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'_, Result<bool, sqlx::Error>>
       + Send
       + Sync
       + 'static {
    |conn: &mut DB::Connection, _| {
        let clean = !conn.is_in_transaction();
        if !clean {
            tracing::warn!("a connection came back inside a transaction; closing it");
        }
        Box::pin(async move { Ok(clean) })
    }
}

/// Begins a transaction on a connection of `pool`, with `statement` (`BEGIN` when
/// `None`): the connection is taken here, and its `BEGIN` is sent and answered in a
/// task of its own, which finishes even when its caller stops waiting. For PostgreSQL
/// (see [`Db::begin`]).
///
/// sqlx (0.8.6, and 0.9.0 as well) counts a PostgreSQL transaction as begun only once
/// the server has answered its `BEGIN`. A caller dropped in between (an HTTP client
/// gone, a timeout run out, a `select!` that took another branch, a replay stopped)
/// left the connection, back in its pool, inside a transaction that nothing ended and
/// that neither sqlx nor [`keep_only_clean`] knew of. Whatever ran on it next ran
/// inside that transaction: an append acknowledged there was never committed, and held
/// the log's numbering lock, so that every other append waited for it, until the
/// server ended the session and rolled it back. In a task of its own the `BEGIN` is
/// always answered, and a transaction nobody waits for any more is dropped as any
/// other: its rollback goes first on the connection, before the pool hands the
/// connection out again. A caller dropped while it waits for a connection leaves
/// nothing behind: the pool keeps the connection it did not hand over.
async fn begin_answered<DB: Database>(
    pool: &sqlx::Pool<DB>,
    statement: Option<&'static str>,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    use tracing::Instrument;
    let conn = pool.acquire().await?;
    // sqlx's own `Pool::begin_with` after its `acquire`, the one public way to begin on
    // a connection taken already (hidden from sqlx's documentation).
    let begun = tokio::spawn(
        sqlx::Transaction::begin(conn, statement.map(std::borrow::Cow::Borrowed)).in_current_span(),
    );
    match begun.await {
        Ok(begun) => begun,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(sqlx::Error::Io(std::io::Error::other(format!(
            "beginning a transaction did not finish: {e}"
        )))),
    }
}

/// A URL that cannot be opened, and why (with its password removed).
fn bad_url(url: &str, reason: &str) -> StoreError {
    StoreError::BadUrl {
        url: redact(url),
        reason: reason.to_owned(),
    }
}

/// Removes a password from a URL for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A migration that failed because the database is unavailable (full, busy, gone) is
/// that; anything else is a failed migration. Either keeps the migrator's error, whose
/// own source is the driver's.
fn migration_error(e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    let transient = matches!(&e, MigrateError::Execute(inner)
        | MigrateError::ExecuteMigration(inner, _) if crate::error::is_transient(inner));
    let (reason, source) = (e.to_string(), Some(Box::new(e) as crate::error::Cause));
    if transient {
        StoreError::Unavailable { reason, source }
    } else {
        StoreError::Migration { reason, source }
    }
}

/// Why a database is being opened: what the look before the first change accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// To run the engine: only a database of its own (see [`crate::identity`]).
    Migrate,
    /// To adopt a plain cqrs-es store: only such a store.
    Adopt,
    /// To read only: a database of its own, marked and fully migrated; nothing is
    /// created, migrated or written.
    Read,
}

impl Purpose {
    /// The error for a database this purpose does not accept.
    pub(crate) fn refusal(self, identity: &Identity, database: &str) -> Option<StoreError> {
        match self {
            Purpose::Migrate => identity.refusal(database),
            Purpose::Adopt => crate::adopt::refusal(identity, database),
            Purpose::Read => match identity {
                Identity::Ours => None,
                Identity::Earlier => Some(StoreError::ReadOnly(format!(
                    "{database} was made by an earlier aduan and is not marked as aduan's yet; \
                     a read-only open changes nothing: run `aduan migrate` on it first"
                ))),
                Identity::Empty => Some(StoreError::ForeignDatabase {
                    database: database.to_owned(),
                    found: "no tables at all".to_owned(),
                    hint: "A read-only open never creates or migrates a database: check the path or URL."
                        .to_owned(),
                }),
                Identity::PlainCqrsEs { .. } | Identity::Foreign { .. } => {
                    identity.refusal(database)
                }
            },
        }
    }
}

impl Db {
    pub(crate) async fn connect(
        url: &str,
        purpose: Purpose,
        settings: &StoreOptions,
    ) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            return Db::connect_sqlite(url, purpose).await;
            #[cfg(not(feature = "sqlite"))]
            return Err(bad_url(
                url,
                "this build has no SQLite support; enable the `sqlite` feature",
            ));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Db::connect_postgres(url, purpose, settings).await;
            #[cfg(not(feature = "postgres"))]
            return Err(bad_url(
                url,
                "this build has no PostgreSQL support; enable the `postgres` feature",
            ));
        }
        // (Read here too, for a build in which no branch above uses them.)
        let _ = (purpose, settings);
        Err(bad_url(
            url,
            "expected sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE",
        ))
    }

    /// Migrates the database if it is ours (see [`crate::identity`]): a database that
    /// is empty, or was made by an earlier version, is marked first. Another program's
    /// database is refused before anything in it changes. Each migration runs in its own
    /// transaction (SQLite and PostgreSQL both roll back DDL), so one that fails leaves
    /// the schema as the previous one left it.
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.any.acquire().await?;
        let result = match self.kind {
            BackendKind::Sqlite => {
                {
                    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                    self.claim(&mut tx).await?;
                    tx.commit().await?;
                }
                crate::identity::migrator(self.kind).run(&mut *conn).await
            }
            BackendKind::Postgres => {
                // Several hosts may start at once: one migrates, the others wait, as long
                // as it takes; a migration may rightly run long on a large log.
                conn.execute(
                    "SELECT set_config('lock_timeout', '0', false), set_config('statement_timeout', '0', false)",
                )
                .await?;
                conn.execute("SELECT pg_advisory_lock(727274263)").await?;
                let result = async {
                    self.claim(&mut conn).await?;
                    Ok::<_, StoreError>(crate::identity::migrator(self.kind).run(&mut *conn).await)
                }
                .await;
                conn.execute("SELECT pg_advisory_unlock(727274263)").await?;
                if let Some(session) = &self.session {
                    if conn.execute(session.as_str()).await.is_err() {
                        conn.close_on_drop();
                    }
                }
                result?
            }
        };
        result.map_err(migration_error)
    }

    /// Runs the migrations on `conn` (under the caller's lock, or inside the caller's
    /// transaction, where each migration becomes a savepoint).
    pub(crate) async fn run_migrations(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<(), StoreError> {
        crate::identity::migrator(self.kind)
            .run(conn)
            .await
            .map_err(migration_error)
    }

    /// SQLite: waits for this process's turn to write. SQLite has one writer; a
    /// transaction that finds the write lock taken is put to sleep by SQLite's busy
    /// handler (1, 2, 5, 10 ms and longer) and only then looks again, however soon the
    /// lock was given back. Writers of one process take turns here instead, each woken
    /// as the last one's transaction ends; other processes still meet the busy handler.
    /// Hold the guard until the transaction has committed or rolled back.
    ///
    /// The wait is bounded by SQLite's busy timeout (10 s): a writer that has waited
    /// that long goes on without its turn and meets SQLite's busy handler as before.
    /// So a write begun while this process holds its turn (a projection of an
    /// embedder's that wrote through the store, say) fails instead of waiting for
    /// ever, though only after the two waits, up to twice the busy timeout.
    pub(crate) async fn writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        let gate = self.writer.as_ref()?;
        match tokio::time::timeout(SQLITE_BUSY_TIMEOUT, gate.lock()).await {
            Ok(turn) => Some(turn),
            Err(_) => {
                tracing::warn!(
                    database = %self.name,
                    "no turn to write within 10 s; writing without one"
                );
                None
            }
        }
    }

    /// The pool the projector's transactions run on: on SQLite, connections with
    /// `synchronous = NORMAL`, so that a projection's commit does not wait for an
    /// `fsync` (a view and its checkpoint commit together, and the log they are made
    /// from is committed with `synchronous = FULL`: a commit lost to a power cut is
    /// made again from the log). Elsewhere the common pool.
    pub(crate) fn projecting(&self) -> &AnyPool {
        self.projecting.as_ref().unwrap_or(&self.any)
    }

    /// Closes the pools (waits for connections in use to be returned).
    pub(crate) async fn close(&self) {
        self.any.close().await;
        if let Some(projecting) = &self.projecting {
            projecting.close().await;
        }
        match &self.typed {
            #[cfg(feature = "sqlite")]
            TypedPool::Sqlite(p) => p.close().await,
            #[cfg(feature = "postgres")]
            TypedPool::Postgres(p) => p.close().await,
        }
    }

    /// Refuses `what` on a store opened read-only.
    pub(crate) fn writable(&self, what: &str) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly(format!("{what} is refused")));
        }
        Ok(())
    }

    /// For a read-only open: the database must be ours, marked, with every migration of
    /// this version applied (a read-only open applies none) and none it does not know.
    pub(crate) async fn check_current(&self) -> Result<(), StoreError> {
        let mut conn = self.any.acquire().await?;
        let identity = crate::identity::probe(&mut conn, self.kind).await?;
        if let Some(refusal) = Purpose::Read.refusal(&identity, &self.name) {
            return Err(refusal);
        }
        let migrator = crate::identity::migrator(self.kind);
        let applied: Vec<(i64, Vec<u8>)> =
            sqlx::query("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut *conn)
                .await
                .unwrap_or_default()
                .iter()
                .map(|r| Ok((r.try_get("version")?, r.try_get("checksum")?)))
                .collect::<Result<_, sqlx::Error>>()?;
        let mut pending = Vec::new();
        for m in migrator.iter() {
            match applied.iter().find(|(v, _)| *v == m.version) {
                None => pending.push(format!("{} {}", m.version, m.description)),
                Some((_, checksum)) if checksum.as_slice() != m.checksum.as_ref() => {
                    return Err(StoreError::Migration {
                        reason: format!(
                            "migration {} of {} differs from this aduan's",
                            m.version, self.name
                        ),
                        source: None,
                    })
                }
                Some(_) => {}
            }
        }
        if let Some((unknown, _)) = applied
            .iter()
            .find(|(v, _)| !migrator.iter().any(|m| m.version == *v))
        {
            return Err(StoreError::Migration {
                reason: format!(
                    "{} was migrated by a newer aduan (migration {unknown} is unknown to this one)",
                    self.name
                ),
                source: None,
            });
        }
        if !pending.is_empty() {
            return Err(StoreError::ReadOnly(format!(
                "{} lacks migrations of this aduan ({}); a read-only open applies none: \
                 run `aduan migrate` on it first",
                self.name,
                pending.join(", ")
            )));
        }
        Ok(())
    }

    /// Lifts `statement_timeout` for the rest of the caller's transaction (PostgreSQL),
    /// for work that may rightly run long on a large log: a walk of the whole log, the
    /// switch-over of a replay, an adoption.
    pub(crate) async fn unbounded_statements(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<(), StoreError> {
        if self.kind == BackendKind::Postgres {
            conn.execute("SELECT set_config('statement_timeout', '0', true)")
                .await?;
        }
        Ok(())
    }

    /// Begins a transaction on a connection of `pool` (one of this database's), with
    /// `statement` (`BEGIN` when `None`), so that a caller dropped at any point leaves
    /// no connection inside a transaction (decision 51). On PostgreSQL its `BEGIN` is
    /// answered in a task of its own ([`begin_answered`]); SQLite's driver rolls back,
    /// by itself, a `BEGIN` whose answer nobody took, so there it begins as sqlx does.
    /// The transactions the store begins on its pools begin here.
    pub(crate) async fn begin<DB: Database>(
        &self,
        pool: &sqlx::Pool<DB>,
        statement: Option<&'static str>,
    ) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
        match self.kind {
            BackendKind::Postgres => begin_answered(pool, statement).await,
            BackendKind::Sqlite => match statement {
                Some(statement) => pool.begin_with(statement).await,
                None => pool.begin().await,
            },
        }
    }

    /// Opens a transaction on `pool` for a walk of the log in complaint order
    /// ([`Db::events_by_complaint_sql`]), prepared by [`Db::walk_settings`].
    pub(crate) async fn begin_walk<DB>(
        &self,
        pool: &sqlx::Pool<DB>,
    ) -> Result<sqlx::Transaction<'static, DB>, StoreError>
    where
        DB: Database,
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    {
        let mut tx = self.begin(pool, None).await?;
        if let Some(settings) = self.walk_settings() {
            (&mut *tx).execute(settings).await?;
        }
        Ok(tx)
    }

    /// The statements that prepare a transaction for a walk of the log in complaint
    /// order, on PostgreSQL, run first in it: one snapshot for the whole transaction
    /// (`REPEATABLE READ`), so that the walk's count and its rows are of one moment, as
    /// SQLite's read transactions are; no statement timeout (as
    /// [`Db::unbounded_statements`]); and rows read along the `events_audit_order` index
    /// instead of sorted. Left to its
    /// estimates the planner sorts the whole log first (on disk once it outgrows
    /// `work_mem`, with parallel workers taking the cores the walk's own judging
    /// needs), and sends no row until the sort is done; read along the index, rows
    /// stream from the first one, with no temporary files: 86 ms against 229 ms on a
    /// log of 100,000 events, 166 ms against 287 ms with the complaints' events
    /// interleaved (decision 49). `None` on SQLite, whose planner reads the primary key
    /// in that order.
    fn walk_settings(&self) -> Option<&'static str> {
        match self.kind {
            BackendKind::Postgres => Some(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; \
                 SELECT set_config('statement_timeout', '0', true), \
                 set_config('enable_sort', 'off', true)",
            ),
            BackendKind::Sqlite => None,
        }
    }

    /// The condition that narrows a walk ([`Db::events_by_complaint_sql`]) to the
    /// complaint bound as `$2`, compared bytewise as the walk orders: PostgreSQL then
    /// finds the complaint's events in `events_audit_order` (an index on the column
    /// in the "C" collation serves no condition in another collation). Equality is
    /// the same in both: the column's collation is the database's, which PostgreSQL
    /// requires to be deterministic.
    pub(crate) fn one_complaint_filter(&self) -> String {
        format!(" AND {} = $2", self.bytewise("aggregate_id"))
    }

    /// Decides whose database this is (under the caller's migration lock) and marks it
    /// if it is ours but not yet marked; refuses it, unchanged, if it is not ours.
    async fn claim(&self, conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
        let identity = crate::identity::probe(conn, self.kind).await?;
        if let Some(refusal) = identity.refusal(&self.name) {
            return Err(refusal);
        }
        if identity != crate::identity::Identity::Ours {
            crate::identity::mark(conn, self.kind).await?;
        }
        Ok(())
    }

    /// Begins, as [`Db::begin`] does, a transaction that will write, on `pool` (one of
    /// this database's), with [`Db::begin_write`].
    pub(crate) async fn begin_writing(
        &self,
        pool: &AnyPool,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        self.begin(pool, Some(self.begin_write())).await
    }

    /// The statement that opens a transaction that will write: SQLite must take the write
    /// lock up front, or a transaction that read first can fail to upgrade.
    pub(crate) fn begin_write(&self) -> &'static str {
        match self.kind {
            BackendKind::Sqlite => "BEGIN IMMEDIATE",
            BackendKind::Postgres => "BEGIN",
        }
    }

    /// The payload and metadata columns as text (PostgreSQL stores `json`).
    /// Every event of one aggregate type (`$1`), complaint by complaint (ids compared
    /// byte-wise, so the order is the same on both backends) and each complaint's in
    /// sequence order; with `columns` after the first two and `filter` (` AND …`) added
    /// to the condition as given.
    pub(crate) fn events_by_complaint_sql(&self, columns: &str, filter: &str) -> String {
        format!(
            "SELECT aggregate_id, sequence, {columns}event_type, event_version, {} AS payload, {} AS metadata \
             FROM events WHERE aggregate_type = $1{filter} ORDER BY {}, sequence",
            self.json_as_text("payload"),
            self.json_as_text("metadata"),
            self.bytewise("aggregate_id"),
        )
    }

    pub(crate) fn json_as_text(&self, column: &str) -> String {
        match self.kind {
            BackendKind::Sqlite => column.to_owned(),
            BackendKind::Postgres => format!("{column}::text"),
        }
    }

    /// Orders text bytewise, whatever the database's collation.
    pub(crate) fn bytewise(&self, column: &str) -> String {
        match self.kind {
            BackendKind::Sqlite => column.to_owned(),
            BackendKind::Postgres => format!("{column} COLLATE \"C\""),
        }
    }

    /// Locks a row read in a write transaction (SQLite's write lock already covers it).
    pub(crate) fn for_update(&self) -> &'static str {
        match self.kind {
            BackendKind::Sqlite => "",
            BackendKind::Postgres => " FOR UPDATE",
        }
    }
}

/// How multi-row statements write their parameters.
///
/// sqlx binds SQLite parameters by name: for each value it asks SQLite the name of the
/// parameter at that index, which SQLite finds by walking the statement's list of
/// names. A multi-row statement of n `$N` parameters then costs about n²/2 steps to
/// bind (2,200 parameters: some 2.4 million); it was most of a replay's time on SQLite.
/// Anonymous `?` parameters have no names and are bound in order. Each parameter here
/// is used once, in the order it is bound.
#[derive(Clone, Copy)]
pub(crate) enum Params {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …` (SQLite).
    Anonymous,
}

impl Params {
    /// The parameters of statements sent on `conn`.
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Self::Anonymous
        } else {
            Self::Numbered
        }
    }

    /// The parameters of statements sent to a database of `kind`.
    pub(crate) fn of_kind(kind: BackendKind) -> Self {
        match kind {
            BackendKind::Sqlite => Self::Anonymous,
            BackendKind::Postgres => Self::Numbered,
        }
    }

    fn one(self, n: usize) -> String {
        match self {
            Self::Numbered => format!("${n}"),
            Self::Anonymous => "?".to_owned(),
        }
    }

    /// `rows` rows of `columns` parameters each, `(…), (…)`.
    pub(crate) fn rows(self, rows: usize, columns: usize) -> String {
        (0..rows)
            .map(|r| {
                let cells: Vec<String> = (0..columns)
                    .map(|c| self.one(1 + r * columns + c))
                    .collect();
                format!("({})", cells.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `count` parameters, `…, …`.
    pub(crate) fn list(self, count: usize) -> String {
        (1..=count)
            .map(|i| self.one(i))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parameters_are_numbered_in_binding_order_or_anonymous() {
        use super::Params;
        assert_eq!(Params::Numbered.rows(2, 2), "($1, $2), ($3, $4)");
        assert_eq!(Params::Anonymous.rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(Params::Numbered.list(3), "$1, $2, $3");
        assert_eq!(Params::Anonymous.list(3), "?, ?, ?");
    }

    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://aduan:s3cret@127.0.0.1/aduan"),
            "postgres://aduan:***@127.0.0.1/aduan"
        );
        assert_eq!(redact("sqlite://aduan.db"), "sqlite://aduan.db");
    }

    /// The plan of `sql` (bound to the complaint type, and to `complaint` as `$2` if
    /// given) in `tx`, as EXPLAIN prints it.
    #[cfg(all(feature = "postgres", feature = "testing"))]
    async fn plan(tx: &mut sqlx::PgConnection, sql: &str, complaint: Option<&str>) -> String {
        let explain = format!("EXPLAIN {sql}");
        let mut query =
            sqlx::query(&explain).bind(<workflow_core::Complaint as cqrs_es::Aggregate>::TYPE);
        if let Some(c) = complaint {
            query = query.bind(c);
        }
        let rows = query.fetch_all(&mut *tx).await.unwrap();
        let lines: Vec<String> = rows.iter().map(|r| sqlx::Row::get(r, 0)).collect();
        lines.join("\n")
    }

    /// On PostgreSQL a walk's transaction reads the log along the `events_audit_order`
    /// index and sorts nothing, where the planner, left to its estimates on the same
    /// analysed log, sorts the whole log first; a walk of one complaint finds its
    /// events in that index too, without a sort.
    #[cfg(all(feature = "postgres", feature = "testing"))]
    #[tokio::test]
    async fn a_walk_on_postgres_reads_along_the_index_and_sorts_nothing() {
        use super::TypedPool;
        use crate::testing::{Backend, TestDb};
        use workflow_core::complaint::command::ComplaintCommand as C;
        use workflow_core::fixtures::{disposition, registration, upp, wib};
        use workflow_core::{CommandEnvelope, ComplaintId};

        let db = TestDb::new(Backend::Postgres, "walk_plan").await;
        let store = db.open().await;
        // Complaints registered out of their ids' order, then all disposed: each
        // complaint's events lie apart, as in a live log.
        let ids: Vec<ComplaintId> = (0..300)
            .map(|i| ComplaintId::new(format!("ADU-{:04}", i * 7919 % 1000)).unwrap())
            .collect();
        let at = wib("2026-11-30 09:00");
        for (name, command) in [
            ("r", C::Register(registration())),
            ("d", C::Dispose(disposition("PUPR"))),
        ] {
            let runs = ids.iter().map(|id| {
                let envelope =
                    CommandEnvelope::new(format!("{name}-{id}"), upp(), at, command.clone());
                store.engine().execute(id, envelope, None)
            });
            for answer in futures::future::join_all(runs).await {
                answer.unwrap();
            }
        }
        let log = store.log().db();
        let pool = match &log.typed {
            TypedPool::Postgres(pool) => pool,
            #[allow(unreachable_patterns)]
            _ => unreachable!("a PostgreSQL store"),
        };
        sqlx::query("ANALYZE events").execute(pool).await.unwrap();
        let all = log.events_by_complaint_sql("position, recorded_at, ", "");
        let one =
            log.events_by_complaint_sql("position, recorded_at, ", &log.one_complaint_filter());
        let seventh = ids[7].to_string();
        let complaint = Some(seventh.as_str());

        let mut tx = pool.begin().await.unwrap();
        let estimated = plan(&mut tx, &all, None).await;
        assert!(
            estimated.contains("Sort"),
            "the planner left alone no longer sorts this log, and the check below shows \
             nothing:\n{estimated}"
        );
        tx.rollback().await.unwrap();

        let mut tx = log.begin_walk(pool).await.unwrap();
        let walked = plan(&mut tx, &all, None).await;
        assert!(
            walked.contains("events_audit_order") && !walked.contains("Sort"),
            "a walk's plan:\n{walked}"
        );
        let one_walked = plan(&mut tx, &one, complaint).await;
        let found_by_id = one_walked
            .lines()
            .any(|l| l.trim_start().starts_with("Index Cond:") && l.contains("aggregate_id"));
        assert!(
            found_by_id && !one_walked.contains("Sort"),
            "the plan of a walk of one complaint:\n{one_walked}"
        );
        tx.rollback().await.unwrap();
        store.close().await;
    }
}
