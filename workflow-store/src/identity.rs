//! Whose database this is. The engine migrates only a database that is its own, and
//! looks before it changes anything:
//!
//! - **marked**: a SQLite file whose `PRAGMA application_id` is
//!   [`SQLITE_APPLICATION_ID`], or a PostgreSQL schema holding the table
//!   [`POSTGRES_MARKER_TABLE`] with its one row `aduan`: ours, migrate it;
//! - **empty** (no tables, views or sequences of anyone's): ours; mark it, then migrate;
//! - **made by an earlier version** (no marker yet, but `_sqlx_migrations` records our
//!   first migration with our checksum): ours; mark it, then migrate;
//! - anything else (another program's tables, another program's application id, a
//!   plain sqlite-es or postgres-es store): refused with
//!   [`StoreError::ForeignDatabase`], nothing changed. A plain cqrs-es store of
//!   complaints can be brought under the engine on purpose with [`Store::adopt`].
//!
//! On PostgreSQL "the database" is the schema the engine's tables go into
//! (`current_schema()`, the first schema of the session's `search_path` that exists).
//!
//! [`Store::adopt`]: crate::Store::adopt

use sqlx::any::AnyRow;
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, Executor, Row};

use crate::backend::BackendKind;
use crate::error::StoreError;

/// The `PRAGMA application_id` of an aduan SQLite file: the ASCII bytes `adua`
/// (`0x61647561`, 1633973601). It sits at offset 68 of the file's header, so `file(1)`
/// and any SQLite tool can tell the file is aduan's.
pub const SQLITE_APPLICATION_ID: i32 = 0x6164_7561;

/// The table that marks a PostgreSQL schema as aduan's: one row, `application = 'aduan'`.
/// A table (rather than a comment) because `pg_dump` and `pg_restore` carry it with the
/// data and any role that may read the data may read it.
pub const POSTGRES_MARKER_TABLE: &str = "aduan_identity";

#[cfg(feature = "sqlite")]
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
#[cfg(feature = "postgres")]
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The migrations of a backend. Only a backend compiled in is ever connected to, so a
/// `kind` whose feature is off never gets here.
pub(crate) fn migrator(kind: BackendKind) -> &'static Migrator {
    match kind {
        #[cfg(feature = "sqlite")]
        BackendKind::Sqlite => &SQLITE_MIGRATOR,
        #[cfg(feature = "postgres")]
        BackendKind::Postgres => &POSTGRES_MIGRATOR,
        #[allow(unreachable_patterns)]
        other => unreachable!("no database of a backend not compiled in ({other:?}) is opened"),
    }
}

/// The columns of the `events` table as sqlite-es and postgres-es create it.
const CQRS_ES_COLUMNS: [&str; 7] = [
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "event_type",
    "event_version",
    "payload",
    "metadata",
];

/// What a database turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Identity {
    /// Marked as ours.
    Ours,
    /// Holds nothing at all.
    Empty,
    /// Ours by its migration history, from before the marker existed.
    Earlier,
    /// A plain sqlite-es or postgres-es store: the crates' `events` table without ours.
    PlainCqrsEs {
        /// Every table found.
        tables: Vec<String>,
    },
    /// Someone else's.
    Foreign {
        /// What was found, in words.
        found: String,
    },
}

/// What a probe reads; [`classify`] decides.
#[derive(Clone, Debug, Default)]
struct Facts {
    marked: bool,
    other_application_id: Option<i64>,
    tables: Vec<String>,
    our_history: bool,
    events_columns: Vec<String>,
}

fn classify(facts: Facts) -> Identity {
    if facts.marked {
        return Identity::Ours;
    }
    if let Some(id) = facts.other_application_id {
        return Identity::Foreign {
            found: format!("the SQLite application id {id} of another program"),
        };
    }
    if facts.tables.is_empty() {
        return Identity::Empty;
    }
    if facts.our_history {
        return Identity::Earlier;
    }
    let mut columns: Vec<&str> = facts.events_columns.iter().map(String::as_str).collect();
    columns.sort_unstable();
    let mut cqrs_es = CQRS_ES_COLUMNS.to_vec();
    cqrs_es.sort_unstable();
    if columns == cqrs_es {
        return Identity::PlainCqrsEs {
            tables: facts.tables,
        };
    }
    Identity::Foreign {
        found: describe_tables(&facts.tables),
    }
}

/// "the tables `a`, `b` and 3 more".
pub(crate) fn describe_tables(tables: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut names: Vec<String> = tables
        .iter()
        .take(SHOWN)
        .map(|t| format!("`{t}`"))
        .collect();
    if tables.len() > SHOWN {
        names.push(format!("{} more", tables.len() - SHOWN));
    }
    let noun = if tables.len() == 1 { "table" } else { "tables" };
    format!("the {noun} {} and no aduan marker", names.join(", "))
}

impl Identity {
    /// The error for a database that is not ours (`None` for one that is).
    pub(crate) fn refusal(&self, database: &str) -> Option<StoreError> {
        let (found, hint) = match self {
            Identity::Ours | Identity::Empty | Identity::Earlier => return None,
            Identity::PlainCqrsEs { tables } => (
                format!(
                    "a plain sqlite-es/postgres-es event store ({})",
                    describe_tables(tables)
                ),
                "If its events are complaints, `aduan adopt` (Store::adopt) brings it under \
                 aduan; otherwise give aduan a database of its own."
                    .to_owned(),
            ),
            Identity::Foreign { found } => (
                found.clone(),
                "Give aduan a database of its own: a new SQLite file, or an empty PostgreSQL \
                 database or schema."
                    .to_owned(),
            ),
        };
        Some(StoreError::ForeignDatabase {
            database: database.to_owned(),
            found,
            hint,
        })
    }
}

/// Whether a `_sqlx_migrations` checksum read for `migrator`'s first version is ours.
fn is_our_first(migrator: &Migrator, checksum: Option<Vec<u8>>) -> bool {
    match (migrator.iter().next(), checksum) {
        (Some(first), Some(checksum)) => checksum == first.checksum.as_ref(),
        _ => false,
    }
}

fn first_version(migrator: &Migrator) -> i64 {
    migrator.iter().next().map(|m| m.version).unwrap_or(0)
}

/// Reads what the database holds (on PostgreSQL: the schema the engine would use).
/// Reads only: safe on a read-only connection, and changes no byte of a SQLite file.
pub(crate) async fn probe(
    conn: &mut AnyConnection,
    kind: BackendKind,
) -> Result<Identity, StoreError> {
    let migrator = migrator(kind);
    let (relations_sql, columns_sql) = match kind {
        BackendKind::Sqlite => (
            "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            "SELECT name FROM pragma_table_info('events')",
        ),
        BackendKind::Postgres => (
            "SELECT c.relname::text AS name FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') \
             ORDER BY 1",
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'events'",
        ),
    };
    let names = |rows: Vec<AnyRow>| -> Result<Vec<String>, StoreError> {
        rows.iter()
            .map(|r| r.try_get::<String, _>("name").map_err(StoreError::from))
            .collect()
    };
    let relations = names(sqlx::query(relations_sql).fetch_all(&mut *conn).await?)?;
    let mut facts = Facts::default();
    match kind {
        BackendKind::Sqlite => {
            let id: i64 = sqlx::query("PRAGMA application_id")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            facts.marked = id == i64::from(SQLITE_APPLICATION_ID);
            facts.other_application_id = (id != 0 && !facts.marked).then_some(id);
        }
        BackendKind::Postgres => {
            if relations.iter().any(|t| t == POSTGRES_MARKER_TABLE) {
                facts.marked = sqlx::query(&format!(
                    "SELECT application FROM {POSTGRES_MARKER_TABLE} WHERE application = 'aduan'"
                ))
                .fetch_optional(&mut *conn)
                .await?
                .is_some();
            }
        }
    }
    facts.tables = relations
        .into_iter()
        .filter(|t| !(kind == BackendKind::Postgres && t == POSTGRES_MARKER_TABLE))
        .collect();
    if facts.tables.iter().any(|t| t == "_sqlx_migrations") {
        // Another program's table of that name may have other columns: then not ours.
        // (Read on its own, outside any transaction the caller might hold open.)
        let checksum = sqlx::query("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
            .bind(first_version(migrator))
            .fetch_optional(&mut *conn)
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get::<Vec<u8>, _>("checksum").ok());
        facts.our_history = is_our_first(migrator, checksum);
    }
    facts.events_columns = names(sqlx::query(columns_sql).fetch_all(&mut *conn).await?)?;
    Ok(classify(facts))
}

/// Marks the database as ours.
pub(crate) async fn mark(conn: &mut AnyConnection, kind: BackendKind) -> Result<(), StoreError> {
    let sql = match kind {
        BackendKind::Sqlite => format!("PRAGMA application_id = {SQLITE_APPLICATION_ID}"),
        BackendKind::Postgres => format!(
            "CREATE TABLE IF NOT EXISTS {POSTGRES_MARKER_TABLE} \
             (application text PRIMARY KEY CHECK (application = 'aduan'), marked_at text NOT NULL); \
             INSERT INTO {POSTGRES_MARKER_TABLE} (application, marked_at) \
             VALUES ('aduan', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) \
             ON CONFLICT (application) DO NOTHING"
        ),
    };
    conn.execute(sql.as_str()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(tables: &[&str]) -> Facts {
        Facts {
            tables: tables.iter().map(|t| (*t).to_owned()).collect(),
            ..Facts::default()
        }
    }

    #[test]
    fn only_a_marked_empty_or_earlier_database_is_ours() {
        assert_eq!(
            classify(Facts {
                marked: true,
                ..facts(&["events"])
            }),
            Identity::Ours
        );
        assert_eq!(classify(facts(&[])), Identity::Empty);
        assert_eq!(
            classify(Facts {
                our_history: true,
                ..facts(&["_sqlx_migrations", "events"])
            }),
            Identity::Earlier
        );
        assert!(matches!(
            classify(Facts {
                other_application_id: Some(7),
                ..facts(&[])
            }),
            Identity::Foreign { .. }
        ));
        assert!(matches!(
            classify(Facts {
                events_columns: CQRS_ES_COLUMNS
                    .iter()
                    .rev()
                    .map(|c| (*c).to_owned())
                    .collect(),
                ..facts(&["events", "snapshots"])
            }),
            Identity::PlainCqrsEs { .. }
        ));
        // Our columns added to theirs is not a plain store: someone half-migrated it.
        let mut more: Vec<String> = CQRS_ES_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        more.push("position".into());
        assert!(matches!(
            classify(Facts {
                events_columns: more,
                ..facts(&["events"])
            }),
            Identity::Foreign { .. }
        ));
    }

    #[test]
    fn the_message_names_what_was_found() {
        let many: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
        assert_eq!(
            describe_tables(&many),
            "the tables `t0`, `t1`, `t2`, `t3`, `t4`, `t5`, `t6`, `t7`, 2 more and no aduan marker"
        );
        assert_eq!(
            describe_tables(&["events".to_owned()]),
            "the table `events` and no aduan marker"
        );
    }
}
