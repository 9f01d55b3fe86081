//! A replay fills its twins without their secondary indexes and makes them afterwards
//! (decision 46): one sort per index over the filled table instead of an index entry
//! placed at each row's spot in the B-tree as the rows come, which on a log of
//! 200,000 events is most of what SQLite spends writing the twins.
//!
//! The indexes to make are read from the database: those of each **live** table, made
//! again on its twin under the twin's name. A replay stopped half-way (a crash, an
//! error) leaves its twins without indexes, and the next replay makes them from the
//! live tables' all the same; the live tables are never touched. Unique indexes and
//! primary keys stay where they are: they are constraints, and the replay's own
//! upserts lean on them. A projection whose tables the store makes from its `schema`
//! at each open (an embedding service's) is left out: see
//! `Projector::defer_twin_indexes`.

use sqlx::{AnyConnection, Row};

use super::Target;
use crate::backend::{BackendKind, Db};
use crate::error::StoreError;

/// The longest name PostgreSQL keeps whole (it cuts longer ones short, which could make
/// two of them one).
const LONGEST_NAME: usize = 63;

/// Drops the secondary indexes of `tables`' twins, in `conn`'s transaction, and returns
/// the statements that make them again from the live tables' definitions, one `CREATE
/// INDEX` each. A table whose live indexes cannot all be read back as a definition
/// keeps its twin's indexes as they are.
pub(super) async fn defer(
    db: &Db,
    conn: &mut AnyConnection,
    tables: &[&str],
) -> Result<Vec<String>, StoreError> {
    let mut deferred = Vec::new();
    for table in tables {
        let twin = Target::Rebuild.table(table);
        let keep = |why: &str| {
            tracing::warn!(
                table = *table,
                "{why}; the twin keeps its indexes through the replay"
            );
        };
        // Each live index as its name on the twin and what follows the table's name in
        // its definition; one the table has twice (the same definition) is made once.
        let mut made: Vec<(String, String)> = Vec::new();
        let mut understood = true;
        for (name, sql) in secondary_indexes(db.kind, conn, table).await? {
            match columns_of(db.kind, &sql) {
                Some(columns) if made.iter().all(|(_, c)| *c != columns) => {
                    made.push((twin_name(&name, table), columns));
                }
                Some(_) => {}
                None => understood = false,
            }
        }
        if !understood {
            keep("an index of the table was not understood");
            continue;
        }
        if made.iter().any(|(name, _)| name.len() > LONGEST_NAME) {
            keep("an index's name on the twin would be too long");
            continue;
        }
        for (name, _) in secondary_indexes(db.kind, conn, &twin).await? {
            sqlx::query(&format!("DROP INDEX {}", quoted(&name)))
                .execute(&mut *conn)
                .await?;
        }
        for (name, columns) in made {
            deferred.push(format!(
                "CREATE INDEX {} ON {twin} {columns}",
                quoted(&name)
            ));
        }
    }
    Ok(deferred)
}

/// A name quoted as an SQL identifier (both databases).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The secondary (neither unique nor primary) indexes of `table`: each one's name and
/// definition.
async fn secondary_indexes(
    kind: BackendKind,
    conn: &mut AnyConnection,
    table: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let sql = match kind {
        // `sql` is NULL for the indexes SQLite makes itself (primary keys, UNIQUE).
        BackendKind::Sqlite => {
            "SELECT name, sql, CAST(sql LIKE 'CREATE UNIQUE%' AS bigint) AS keep \
             FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL \
             ORDER BY name"
        }
        BackendKind::Postgres => {
            "SELECT c.relname::text AS name, pg_get_indexdef(i.indexrelid) AS sql, \
                    CAST(CASE WHEN i.indisunique OR i.indisprimary OR i.indisexclusion \
                         THEN 1 ELSE 0 END AS bigint) AS keep \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = to_regclass($1) ORDER BY c.relname"
        }
    };
    let mut out = Vec::new();
    for row in sqlx::query(sql).bind(table).fetch_all(&mut *conn).await? {
        if row.try_get::<i64, _>("keep")? == 0 {
            out.push((row.try_get("name")?, row.try_get("sql")?));
        }
    }
    Ok(out)
}

/// What follows the table's name in an index's definition.
fn columns_of(kind: BackendKind, sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let on = keyword_end(&upper, "ON")?;
    let from = match kind {
        // PostgreSQL's own rendering: `CREATE INDEX n ON schema.t USING method (…)`. An
        // index `ON ONLY` a partitioned table is not one a replay's twin can have.
        BackendKind::Postgres => {
            if upper[on..].trim_start().starts_with("ONLY ") {
                return None;
            }
            on + keyword_end(&upper[on..], "USING")? - "USING".len()
        }
        // As written in the migration: `CREATE INDEX n ON t (…)`, `ON "t"(…)`.
        BackendKind::Sqlite => on + upper[on..].find('(')?,
    };
    Some(sql[from..].trim().to_owned())
}

/// Where the first `keyword` standing alone (whitespace before and after it) in `upper`
/// ends.
fn keyword_end(upper: &str, keyword: &str) -> Option<usize> {
    let bytes = upper.as_bytes();
    upper.match_indices(keyword).find_map(|(at, _)| {
        let end = at + keyword.len();
        let before = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let after = bytes.get(end).is_some_and(u8::is_ascii_whitespace);
        (before && after).then_some(end)
    })
}

/// The name the twin of `table` gives the index named `live` on the table itself. A
/// replay's switch-over exchanges the tables with their indexes, so the live table's
/// indexes carry the twin's names every other replay: the two are each other's.
fn twin_name(live: &str, table: &str) -> String {
    let rebuilt = format!("{table}_rebuild_");
    let plain = format!("{table}_");
    if let Some(rest) = live.strip_prefix(&rebuilt) {
        format!("{plain}{rest}")
    } else if let Some(rest) = live.strip_prefix(&plain) {
        format!("{rebuilt}{rest}")
    } else if let Some(stem) = live.strip_suffix("_rebuild") {
        stem.to_owned()
    } else {
        format!("{live}_rebuild")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_twin_names_its_index_after_the_live_one_and_back() {
        for (live, twin) in [
            (
                "complaint_views_by_status",
                "complaint_views_rebuild_by_status",
            ),
            (
                "complaint_views_rebuild_by_status",
                "complaint_views_by_status",
            ),
            ("idx_mine", "idx_mine_rebuild"),
            ("idx_mine_rebuild", "idx_mine"),
        ] {
            assert_eq!(twin_name(live, "complaint_views"), twin);
            assert_eq!(twin_name(twin, "complaint_views"), live);
        }
    }

    #[test]
    fn an_index_definition_is_read_from_after_its_table() {
        assert_eq!(
            columns_of(
                BackendKind::Sqlite,
                "CREATE INDEX complaint_views_by_status ON \"complaint_views\" (status, registered_at)"
            )
            .as_deref(),
            Some("(status, registered_at)")
        );
        assert_eq!(
            columns_of(
                BackendKind::Sqlite,
                "create index x on t(a) where a is not null"
            )
            .as_deref(),
            Some("(a) where a is not null")
        );
        assert_eq!(
            columns_of(
                BackendKind::Postgres,
                "CREATE INDEX sla_deadlines_by_due ON public.sla_deadlines USING btree (due_at)"
            )
            .as_deref(),
            Some("USING btree (due_at)")
        );
        assert_eq!(
            columns_of(BackendKind::Postgres, "CREATE INDEX x ON t (a)"),
            None
        );
        assert_eq!(
            columns_of(BackendKind::Sqlite, "CREATE INDEX on_time\n  ON\tt (a)").as_deref(),
            Some("(a)")
        );
        assert_eq!(
            columns_of(
                BackendKind::Postgres,
                "CREATE INDEX x ON ONLY public.t USING btree (a)"
            ),
            None
        );
        assert_eq!(quoted("Mixed\"Case"), "\"Mixed\"\"Case\"");
    }
}
