//! One schema in two dialects. The migrations are written twice
//! (`migrations/sqlite`, `migrations/postgres`) and every view table has a `_rebuild` twin
//! that a replay fills before switching over. This test reads the schema each backend
//! ends up with after all migrations, from the database's own catalogue, and proves the
//! copies agree: the same tables, columns in the same order with compatible types and the
//! same nullability, the same primary keys and the same indexes; and every twin is its
//! view's table again. The differences that are meant are listed in [`INTENDED`], each
//! with its reason; the test fails on any other and on an entry that no longer applies.
//!
//! Three migration pairs (`…04_access`, `…05_projector_reads`, `…06_board_order`) are
//! byte-identical files: their SQL means the same on both databases. They stay two files
//! because each dialect's migrator reads one folder, and applied migrations are never
//! edited (their checksums are recorded in every database).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sqlx::{Connection, Row};
use workflow_store::both;
use workflow_store::testing::{Backend, TestDb};

/// A column's type, up to what the two databases mean by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Type {
    /// SQLite `TEXT`; PostgreSQL `text`.
    Text,
    /// SQLite `INTEGER` (always 64-bit); PostgreSQL `bigint` or `integer`.
    Integer,
    /// SQLite `BLOB`; PostgreSQL `bytea`.
    Blob,
    /// PostgreSQL `json`/`jsonb` (SQLite has no JSON type: see [`INTENDED`]).
    Json,
}

impl Type {
    fn sqlite(declared: &str) -> Type {
        match declared.to_ascii_lowercase().as_str() {
            "text" => Type::Text,
            "integer" | "bigint" => Type::Integer,
            "blob" => Type::Blob,
            other => panic!("SQLite column type `{other}` has no mapping in this test"),
        }
    }

    fn postgres(data_type: &str) -> Type {
        match data_type {
            "text" => Type::Text,
            "bigint" | "integer" => Type::Integer,
            "bytea" => Type::Blob,
            "json" | "jsonb" => Type::Json,
            other => panic!("PostgreSQL column type `{other}` has no mapping in this test"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    name: String,
    ty: Type,
    not_null: bool,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let null = if self.not_null { " NOT NULL" } else { "" };
        write!(f, "{} {:?}{null}", self.name, self.ty)
    }
}

/// An index other than the primary key's, by what it indexes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    name: String,
    columns: Vec<String>,
    unique: bool,
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unique = if self.unique { "UNIQUE " } else { "" };
        write!(f, "{unique}{} ({})", self.name, self.columns.join(", "))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Table {
    columns: Vec<Column>,
    primary_key: Vec<String>,
    indexes: BTreeSet<Index>,
}

type Schema = BTreeMap<String, Table>;

/// Tables that are not the engine's schema: sqlx's record of applied migrations, whose
/// shape sqlx defines per backend.
const NOT_OURS: [&str; 1] = ["_sqlx_migrations"];

/// A difference between the backends that is meant, and why.
#[cfg(all(feature = "sqlite", feature = "postgres"))]
struct Intended {
    /// The difference, as [`differences`] words it.
    difference: &'static str,
    why: &'static str,
}

/// Every difference between the SQLite and the PostgreSQL schema that is meant.
#[cfg(all(feature = "sqlite", feature = "postgres"))]
const INTENDED: &[Intended] = &[
    Intended {
        difference: "table aduan_identity: only on postgres",
        why: "the marker of an aduan database: a SQLite file is marked by its \
              `PRAGMA application_id` in the file header instead (see the `identity` module)",
    },
    Intended {
        difference: "events column 6: sqlite `payload Text NOT NULL`, postgres `payload Json NOT NULL`",
        why: "the `events` table is the one sqlite-es and postgres-es read and write, in \
              their own documented shapes (and `adopt` takes over stores made by them)",
    },
    Intended {
        difference: "events column 7: sqlite `metadata Text NOT NULL`, postgres `metadata Json NOT NULL`",
        why: "as for payload: the cqrs-es crates' own column types",
    },
    Intended {
        difference: "events index only on postgres: events_audit_order (aggregate_type, aggregate_id, sequence)",
        why: "the audit walk reads ids in byte order; the PostgreSQL index carries \
              `COLLATE \"C\"` for that, while SQLite compares text bytewise already and \
              the primary key serves the walk",
    },
    // SQLite lets the primary key of an ordinary (not STRICT) table hold NULL unless it
    // says NOT NULL, a quirk it keeps for compatibility; PostgreSQL implies NOT NULL.
    // Every writer of these tables binds a key. Adding NOT NULL on SQLite means
    // rebuilding the table (it cannot add a constraint to a column in place), so a copy
    // of every row of live tables inside a migration, for a value nothing writes.
    Intended {
        difference: "api_tokens column 1: sqlite `token_hash Text`, postgres `token_hash Text NOT NULL`",
        why: "SQLite's nullable primary key (see above); tokens are always stored by hash",
    },
    Intended {
        difference: "complaint_views column 1: sqlite `complaint_id Text`, postgres `complaint_id Text NOT NULL`",
        why: "SQLite's nullable primary key (see above); the projection writes the event's id",
    },
    Intended {
        difference: "complaint_views_rebuild column 1: sqlite `complaint_id Text`, postgres `complaint_id Text NOT NULL`",
        why: "the twin of complaint_views, the same",
    },
    Intended {
        difference: "projection_checkpoints column 1: sqlite `name Text`, postgres `name Text NOT NULL`",
        why: "SQLite's nullable primary key (see above); names are the projections' constants",
    },
    // An `integer PRIMARY KEY` is SQLite's rowid: a NULL written there becomes the next
    // rowid, so no NULL is ever stored, although the catalogue calls it nullable.
    Intended {
        difference: "audit_timeline column 1: sqlite `position Integer`, postgres `position Integer NOT NULL`",
        why: "the rowid alias (see above); the projection writes the event's position",
    },
    Intended {
        difference: "audit_timeline_rebuild column 1: sqlite `position Integer`, postgres `position Integer NOT NULL`",
        why: "the twin of audit_timeline, the same",
    },
];

fn pk_order(pk: &BTreeMap<i64, String>) -> Vec<String> {
    pk.values().cloned().collect()
}

/// The schema as SQLite's catalogue describes it.
async fn sqlite_schema(conn: &mut sqlx::AnyConnection) -> Schema {
    let names: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("name"))
    .collect();
    let mut schema = Schema::new();
    for name in names
        .into_iter()
        .filter(|n| !NOT_OURS.contains(&n.as_str()))
    {
        let mut table = Table::default();
        let mut pk = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT name, type, \"notnull\" AS not_null, pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for row in rows {
            let column: String = row.get("name");
            let position: i64 = row.get("pk");
            if position > 0 {
                pk.insert(position, column.clone());
            }
            table.columns.push(Column {
                ty: Type::sqlite(&row.get::<String, _>("type")),
                not_null: row.get::<i64, _>("not_null") != 0,
                name: column,
            });
        }
        table.primary_key = pk_order(&pk);
        let indexes = sqlx::query(
            "SELECT name, \"unique\" AS is_unique, origin FROM pragma_index_list($1) ORDER BY name",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for index in indexes {
            // The primary key's own index is the primary key, compared above.
            if index.get::<String, _>("origin") == "pk" {
                continue;
            }
            let index_name: String = index.get("name");
            let columns = sqlx::query("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                .bind(&index_name)
                .fetch_all(&mut *conn)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>("name"))
                .collect();
            table.indexes.insert(Index {
                name: index_name,
                columns,
                unique: index.get::<i64, _>("is_unique") != 0,
            });
        }
        schema.insert(name, table);
    }
    schema
}

/// The schema as PostgreSQL's catalogue describes it (the engine's schema only).
async fn postgres_schema(conn: &mut sqlx::AnyConnection) -> Schema {
    let mut schema = Schema::new();
    let columns = sqlx::query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                data_type::text AS data_type, is_nullable::text AS is_nullable \
           FROM information_schema.columns c \
           JOIN information_schema.tables t USING (table_schema, table_name) \
          WHERE table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
          ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for row in columns {
        let table: String = row.get("table_name");
        if NOT_OURS.contains(&table.as_str()) {
            continue;
        }
        schema.entry(table).or_default().columns.push(Column {
            name: row.get("column_name"),
            ty: Type::postgres(&row.get::<String, _>("data_type")),
            not_null: row.get::<String, _>("is_nullable") == "NO",
        });
    }
    // Index columns in index order, from the catalogue (`pg_indexes` gives only the
    // definition's text).
    let indexes = sqlx::query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
                ix.indisunique AS is_unique, ix.indisprimary AS is_primary, \
                array_to_string(ARRAY(SELECT a.attname::text \
                    FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                    ORDER BY k.ord), ',') AS columns \
           FROM pg_index ix \
           JOIN pg_class i ON i.oid = ix.indexrelid \
           JOIN pg_class t ON t.oid = ix.indrelid \
           JOIN pg_namespace n ON n.oid = t.relnamespace \
          WHERE n.nspname = current_schema() \
          ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for row in indexes {
        let Some(table) = schema.get_mut(&row.get::<String, _>("table_name")) else {
            continue;
        };
        let columns: Vec<String> = row
            .get::<String, _>("columns")
            .split(',')
            .map(str::to_owned)
            .collect();
        if row.get::<bool, _>("is_primary") {
            table.primary_key = columns;
        } else {
            table.indexes.insert(Index {
                name: row.get("index_name"),
                columns,
                unique: row.get("is_unique"),
            });
        }
    }
    schema
}

async fn schema_of(db: &TestDb) -> Schema {
    // Opening the store runs every migration.
    drop(db.open().await);
    let mut conn = db.raw().await;
    let schema = match db.backend {
        Backend::Sqlite => sqlite_schema(&mut conn).await,
        Backend::Postgres => postgres_schema(&mut conn).await,
    };
    conn.close().await.unwrap();
    assert!(
        schema.contains_key("events") && schema.contains_key("complaint_views"),
        "{:?}: the catalogue was read: {:?}",
        db.backend,
        schema.keys()
    );
    schema
}

/// Every difference between two schemas, one line each, `a` and `b` named as given.
fn differences(a_name: &str, a: &Schema, b_name: &str, b: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for name in a.keys().filter(|n| !b.contains_key(*n)) {
        out.push(format!("table {name}: only on {a_name}"));
    }
    for name in b.keys().filter(|n| !a.contains_key(*n)) {
        out.push(format!("table {name}: only on {b_name}"));
    }
    for (name, ta) in a {
        let Some(tb) = b.get(name) else { continue };
        let width = ta.columns.len().max(tb.columns.len());
        for i in 0..width {
            let (ca, cb) = (ta.columns.get(i), tb.columns.get(i));
            if ca != cb {
                let show = |c: Option<&Column>| c.map_or("nothing".to_owned(), |c| c.to_string());
                out.push(format!(
                    "{name} column {}: {a_name} `{}`, {b_name} `{}`",
                    i + 1,
                    show(ca),
                    show(cb)
                ));
            }
        }
        if ta.primary_key != tb.primary_key {
            out.push(format!(
                "{name} primary key: {a_name} ({}), {b_name} ({})",
                ta.primary_key.join(", "),
                tb.primary_key.join(", ")
            ));
        }
        for index in ta.indexes.difference(&tb.indexes) {
            out.push(format!("{name} index only on {a_name}: {index}"));
        }
        for index in tb.indexes.difference(&ta.indexes) {
            out.push(format!("{name} index only on {b_name}: {index}"));
        }
    }
    out
}

#[cfg(all(feature = "sqlite", feature = "postgres"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_agree_but_for_the_intended_differences() {
    let sqlite_db = TestDb::new(Backend::Sqlite, "schema_parity_sqlite").await;
    let postgres_db = TestDb::new(Backend::Postgres, "schema_parity").await;
    let sqlite = schema_of(&sqlite_db).await;
    let postgres = schema_of(&postgres_db).await;

    let found = differences("sqlite", &sqlite, "postgres", &postgres);
    let intended: BTreeSet<&str> = INTENDED.iter().map(|i| i.difference).collect();
    let unexplained: Vec<&String> = found
        .iter()
        .filter(|d| !intended.contains(d.as_str()))
        .collect();
    let stale: Vec<&&str> = intended
        .iter()
        .filter(|i| !found.iter().any(|d| d == **i))
        .collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "the two dialects' schemas differ where nothing says why:\n  {}\n\
         listed as intended but no longer found:\n  {}",
        unexplained
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        stale.iter().map(|s| **s).collect::<Vec<_>>().join("\n  ")
    );
    for reason in INTENDED {
        assert!(
            !reason.why.is_empty(),
            "{} needs a reason",
            reason.difference
        );
    }
}

both!(
    every_rebuild_table_is_its_view_table_again,
    rebuild_twins_match
);
async fn rebuild_twins_match(db: TestDb) {
    assert_twins_match(&db).await;
}

/// Every view table and its `_rebuild` twin have the same columns in the same order, the
/// same primary key and the same indexes. A rebuild switches over by exchanging the two
/// tables, each with its indexes, so an index's name says which pair it belongs to, not
/// which of the two it is on: `X_by_…` and `X_rebuild_by_…` are compared as `…`.
pub(crate) async fn assert_twins_match(db: &TestDb) {
    let schema = schema_of(db).await;
    let twins: Vec<&String> = schema
        .keys()
        .filter(|name| name.ends_with("_rebuild"))
        .collect();
    // The replay's views: if one is added, it has a twin here too.
    assert_eq!(
        twins,
        [
            "audit_timeline_rebuild",
            "complaint_views_rebuild",
            "evidence_citations_rebuild",
            "outbox_assignments_rebuild",
            "sla_deadlines_rebuild",
            "step_runs_rebuild"
        ],
        "{:?}",
        db.backend
    );
    for twin in twins {
        let view = twin.strip_suffix("_rebuild").unwrap();
        let (v, t) = (&schema[view], &schema[twin]);
        assert_eq!(v.columns, t.columns, "{:?}: columns of {twin}", db.backend);
        assert_eq!(
            v.primary_key, t.primary_key,
            "{:?}: primary key of {twin}",
            db.backend
        );
        let of_pair = |table: &Table| -> BTreeSet<Index> {
            table
                .indexes
                .iter()
                .map(|i| {
                    let suffix = i
                        .name
                        .strip_prefix(twin)
                        .or_else(|| i.name.strip_prefix(view))
                        .unwrap_or_else(|| {
                            panic!(
                                "{:?}: index {} is named after neither table",
                                db.backend, i.name
                            )
                        });
                    Index {
                        name: suffix.to_owned(),
                        ..i.clone()
                    }
                })
                .collect()
        };
        assert_eq!(
            of_pair(v),
            of_pair(t),
            "{:?}: indexes of {view} and {twin}",
            db.backend
        );
        // Each name of the pair is on one table only.
        let names = |table: &Table| -> BTreeSet<String> {
            table.indexes.iter().map(|i| i.name.clone()).collect()
        };
        assert!(
            names(v).is_disjoint(&names(t)),
            "{:?}: {view} and {twin} share an index name",
            db.backend
        );
    }
}

/// The comparison itself can fail: a changed column, a missing index and a table on one
/// side only are all reported.
#[test]
fn a_difference_is_reported() {
    let table = Table {
        columns: vec![Column {
            name: "id".into(),
            ty: Type::Text,
            not_null: true,
        }],
        primary_key: vec!["id".into()],
        indexes: BTreeSet::from([Index {
            name: "t_by_id".into(),
            columns: vec!["id".into()],
            unique: false,
        }]),
    };
    let a = Schema::from([("t".to_owned(), table.clone())]);
    let mut changed = table.clone();
    changed.columns[0].not_null = false;
    changed.indexes.clear();
    let b = Schema::from([("t".to_owned(), changed), ("u".to_owned(), table)]);
    assert_eq!(
        differences("a", &a, "b", &b),
        [
            "table u: only on b",
            "t column 1: a `id Text NOT NULL`, b `id Text`",
            "t index only on a: t_by_id (id)",
        ]
    );
}
