//! The log's long reads on SQLite, a replay's and a walk's (verify, export), straight
//! from SQLite on a thread of their own (decision 54).
//!
//! sqlx's SQLite driver runs each connection's statements on a worker thread and hands
//! every row across to the task that asked, one at a time; for a replay, which reads the
//! whole log, those hand-offs and the rows' conversion to sqlx's `Any` rows were most of
//! its reading (0.9 s of 1.35 s for 100,000 events, where SQLite itself took about
//! 0.15 s). A replay reads from a blocking thread of its own instead, through rusqlite
//! on the same SQLite library, and decodes each row there as the log's other reads do.

use cqrs_es::Aggregate;
use rusqlite::{Connection, OpenFlags};

use super::{LogRow, SqlLog, StoredEvent, Unreadable};
use crate::audit::{not_text, StoredRow};
use crate::backend::{SqliteFile, SQLITE_BUSY_TIMEOUT};
use crate::error::{is_unavailable_code, StoreError};
use crate::position::Position;
use workflow_core::Complaint;

/// A read-only connection to the log's SQLite file, for one replay.
pub(crate) struct DirectReader {
    conn: Connection,
    log: SqlLog,
    by_complaint: String,
    after: String,
}

impl DirectReader {
    /// Opens the log's database file read-only. Each read is a statement of its own,
    /// which reads the database as it stood when the statement began (write-ahead log).
    pub(crate) fn open(log: &SqlLog) -> Result<Self, StoreError> {
        let file = log.db().direct.as_ref().ok_or_else(|| {
            StoreError::defect("a direct read of a database not opened by its file's path")
        })?;
        let conn = open_read_only(file, "opening the log for a replay")?;
        // The statements the sqlx reads run.
        Ok(Self {
            by_complaint: log.by_complaint_sql(),
            after: log.after_sql(),
            conn,
            log: log.clone(),
        })
    }

    /// As `SqlLog::read_by_complaint`: the events after `after` (complaint and sequence)
    /// through `through`, complaint by complaint, at most `limit`.
    pub(crate) fn by_complaint(
        &self,
        after: (&str, i64),
        through: Position,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(
            &self.by_complaint,
            &[
                ("$1", &Complaint::TYPE),
                ("$2", &after.0),
                ("$3", &after.1),
                ("$4", &through.get()),
                ("$5", &limit),
            ],
        )
    }

    /// As `SqlLog::read_after`: the events after `position` in the log's order, at most
    /// `limit`.
    pub(crate) fn after(
        &self,
        position: Position,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(
            &self.after,
            &[
                ("$1", &Complaint::TYPE),
                ("$2", &position.get()),
                ("$3", &limit),
            ],
        )
    }

    /// Runs `sql`, its parameters bound by name (`$1`, `$2`, ... as the sqlx reads
    /// bind them by number: SQLite numbers them in the order they first appear, which
    /// a change of the statement could make differ).
    fn read(
        &self,
        sql: &str,
        params: &[(&str, &dyn rusqlite::ToSql)],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        const READING: &str = "reading the log for a replay";
        let reading = |e| error(READING, e);
        let mut statement = self.conn.prepare_cached(sql).map_err(reading)?;
        let mut rows = statement.query(params).map_err(reading)?;
        let mut events = Vec::new();
        while let Some(row) = rows.next().map_err(reading)? {
            let column = |name| ColumnOf {
                row,
                reading: READING,
                name,
            };
            let row = LogRow {
                position: Position::new(column("position").get()?),
                complaint_id: column("aggregate_id").get()?,
                sequence: column("sequence").get()?,
                event_type: column("event_type").get()?,
                event_version: column("event_version").get()?,
                payload: column("payload").get()?,
                metadata: column("metadata").get()?,
                recorded_at: column("recorded_at").get()?,
            };
            events.push(self.log.decode_row(row)?.map_err(Unreadable::into_error)?);
        }
        Ok(events)
    }
}

/// Opens a SQLite database file read-only, on the caller's thread, as the store's own
/// connections open it (`immutable` where its URL says so: a copy on read-only media
/// has no `-shm` file, and could not be opened otherwise).
fn open_read_only(file: &SqliteFile, context: &str) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let opened = if file.immutable {
        // sqlx opens only UTF-8 paths: a store has no other.
        let path = file.path.to_str().ok_or_else(|| {
            StoreError::defect(format!(
                "{}: a store's SQLite path that is not UTF-8",
                file.path.display()
            ))
        })?;
        let uri = format!(
            "file:{}?immutable=1",
            percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC)
        );
        Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
    } else {
        Connection::open_with_flags(&file.path, flags)
    };
    let conn = opened.map_err(|e| error(context, e))?;
    conn.busy_timeout(SQLITE_BUSY_TIMEOUT)
        .map_err(|e| error(context, e))?;
    Ok(conn)
}

/// What a walk's reader sends: first the walk's size, then its rows in batches.
pub(crate) enum Walked {
    /// The events the walk will read.
    Total(i64),
    /// The next rows, in the walk's order.
    Rows(Vec<StoredRow>),
}

/// A walk of the whole log (verify, export, a checkpoint) read straight from SQLite, on
/// the caller's thread (a blocking one): in one read transaction, so that the count
/// and the rows are of one moment, the count (`count_sql`) and then the rows (`sql`,
/// the columns of `Db::events_by_complaint_sql` with `position, recorded_at`), sent in
/// batches of `batch`; `after_count` runs between the two (a test's hook). Both
/// statements take the aggregate type as `$1`, bound by name. Ends early, without an
/// error, when the receiver is gone.
pub(crate) fn walk(
    file: &SqliteFile,
    count_sql: &str,
    sql: &str,
    batch: usize,
    send: &tokio::sync::mpsc::Sender<Walked>,
    after_count: impl FnOnce(),
) -> Result<(), StoreError> {
    const READING: &str = "reading the log for a walk";
    let reading = |e| error(READING, e);
    let mut conn = open_read_only(file, "opening the log for a walk")?;
    let tx = conn.transaction().map_err(reading)?;
    let params: &[(&str, &dyn rusqlite::ToSql)] = &[("$1", &Complaint::TYPE)];
    let total: i64 = tx
        .query_row(count_sql, params, |row| row.get(0))
        .map_err(reading)?;
    if send.blocking_send(Walked::Total(total)).is_err() {
        return Ok(());
    }
    after_count();
    let mut statement = tx.prepare(sql).map_err(reading)?;
    let mut rows = statement.query(params).map_err(reading)?;
    let mut taken = Vec::with_capacity(batch);
    while let Some(row) = rows.next().map_err(reading)? {
        let column = |name| ColumnOf {
            row,
            reading: READING,
            name,
        };
        taken.push(StoredRow {
            complaint_id: column("aggregate_id").get()?,
            sequence: column("sequence").get()?,
            position: column("position").get::<Option<i64>>()?.unwrap_or(0),
            recorded_at: column("recorded_at")
                .get::<Option<String>>()?
                .unwrap_or_default(),
            event_type: column("event_type").get()?,
            event_version: column("event_version").get()?,
            payload: column("payload").text()?,
            metadata: column("metadata").text()?,
        });
        if taken.len() == batch {
            let full = std::mem::replace(&mut taken, Vec::with_capacity(batch));
            if send.blocking_send(Walked::Rows(full)).is_err() {
                return Ok(());
            }
        }
    }
    if !taken.is_empty() {
        let _ = send.blocking_send(Walked::Rows(taken));
    }
    Ok(())
}

/// A column of a row being read (for `reading`: a replay, a walk), whose failure to be
/// read names it.
struct ColumnOf<'a, 'r> {
    row: &'a rusqlite::Row<'r>,
    reading: &'static str,
    name: &'static str,
}

impl ColumnOf<'_, '_> {
    fn failed(&self, e: rusqlite::Error) -> StoreError {
        error(&format!("{}, column `{}`", self.reading, self.name), e)
    }

    fn get<T: rusqlite::types::FromSql>(&self) -> Result<T, StoreError> {
        self.row.get(self.name).map_err(|e| self.failed(e))
    }

    /// A JSON column's text, or why it is not text: a walk judges such a row (a
    /// failure of its own) and goes on.
    fn text(&self) -> Result<Result<String, String>, StoreError> {
        use rusqlite::types::ValueRef;
        let value = self.row.get_ref(self.name).map_err(|e| self.failed(e))?;
        let kind = match value {
            ValueRef::Text(bytes) => {
                return Ok(
                    String::from_utf8(bytes.to_vec()).map_err(|_| not_text(self.name, "TEXT"))
                )
            }
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "INTEGER",
            ValueRef::Real(_) => "REAL",
            ValueRef::Blob(_) => "BLOB",
        };
        Ok(Err(not_text(self.name, kind)))
    }
}

/// SQLite's error as the store's: unavailable for the codes that mean "not now" (busy,
/// I/O, full, ...), as for the driver's errors.
fn error(context: &str, e: rusqlite::Error) -> StoreError {
    let code = match &e {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.extended_code.to_string()),
        _ => None,
    };
    if is_unavailable_code(code.as_deref()) {
        StoreError::Unavailable {
            reason: format!("{context}: {e}"),
            source: Some(Box::new(e)),
        }
    } else {
        StoreError::backend(context, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A walk's count and rows are of one moment: a row committed between the two (by
    /// another connection, in write-ahead-log mode, where readers do not hold writers
    /// up) is in neither.
    #[test]
    fn a_walks_count_and_rows_are_of_one_moment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE events (aggregate_type TEXT, aggregate_id TEXT, sequence INTEGER,
                   event_type TEXT, event_version TEXT, payload TEXT, metadata TEXT,
                   position INTEGER, recorded_at TEXT);",
            )
            .unwrap();
        let append = |conn: &Connection, id: &str, position: i64| {
            conn.execute(
                "INSERT INTO events VALUES (?1, ?2, 1, 'Received', '1', '{}', '{}', ?3, '')",
                rusqlite::params![Complaint::TYPE, id, position],
            )
            .unwrap();
        };
        for (position, id) in ["ADU-1", "ADU-2", "ADU-3"].into_iter().enumerate() {
            append(&writer, id, position as i64 + 1);
        }
        let file = SqliteFile {
            path,
            immutable: false,
        };
        let (send, mut walked) = tokio::sync::mpsc::channel(1);
        let rows = std::thread::scope(|scope| {
            scope.spawn(|| {
                let elsewhere = Connection::open(&file.path).unwrap();
                walk(
                    &file,
                    "SELECT COUNT(*) AS n FROM events WHERE aggregate_type = $1",
                    "SELECT aggregate_id, sequence, position, recorded_at, event_type, \
                     event_version, payload, metadata FROM events WHERE aggregate_type = $1 \
                     ORDER BY aggregate_id, sequence",
                    2,
                    &send,
                    || append(&elsewhere, "ADU-0", 4),
                )
                .unwrap();
                drop(send);
            });
            let mut total = None;
            let mut rows = Vec::new();
            while let Some(w) = walked.blocking_recv() {
                match w {
                    Walked::Total(n) => total = Some(n),
                    Walked::Rows(batch) => rows.extend(batch.into_iter().map(|r| r.complaint_id)),
                }
            }
            assert_eq!(total, Some(3));
            rows
        });
        assert_eq!(
            rows,
            ["ADU-1", "ADU-2", "ADU-3"],
            "as counted, in two batches"
        );
        let now: i64 = writer
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(now, 4, "the row appended meanwhile was committed");
    }

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn not_now_is_unavailable_and_the_rest_a_failure() {
        // 5 busy, 13 full, 10 an I/O error: not now. 11 a corrupt file, 8202 an I/O
        // error that reports corruption: not a passing fault.
        for code in [5, 13, 10, 5 | (3 << 8)] {
            assert!(
                matches!(
                    error("reading", failure(code)),
                    StoreError::Unavailable { .. }
                ),
                "{code}"
            );
        }
        for code in [11, 8202] {
            assert!(
                matches!(error("reading", failure(code)), StoreError::Backend { .. }),
                "{code}"
            );
        }
        let e = error("reading the log for a replay", failure(11));
        assert!(
            e.to_string().contains("reading the log for a replay"),
            "{e}"
        );
    }
}
