//! Read views: the complaint list and detail, per-agency workload, the SLA board, the
//! audit timeline, the complaints citing a blob of evidence and what the public may read
//! of them (`public`), all read from tables the projections maintain.

use crate::position::Position;
use std::collections::BTreeMap;
use workflow_core::{ComplaintId, Sequence};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use workflow_core::complainant::Confidentiality;
use workflow_core::{AgencyCode, Complaint, LaporStatus, Role, Status, UserId};

use crate::codec::{instant, named};
use crate::error::StoreError;
use crate::timestamp;

mod board;
mod citations;
mod public;
mod statistics;

pub(crate) use board::board_status;
pub use board::{BoardEntry, BoardStatus};
pub(crate) use citations::cited_by;
pub use citations::{Citation, CitationKind};
pub use public::{PublicFilter, PUBLIC_LIMIT};
pub use statistics::{AgencyCounts, OpenBreach, SpanFigures, StepDays, MEASURED_STEPS};

/// Filters of the complaint list. Every filter is optional; results are newest first.
#[derive(Clone, Debug, Default)]
pub struct ComplaintFilter {
    /// Only complaints in this state.
    pub status: Option<Status>,
    /// Only complaints held by this agency.
    pub agency: Option<String>,
    /// Only complaints disposed to this liaison officer.
    pub liaison_officer: Option<String>,
    /// Only complaints with a duty past its deadline at this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Registered at or after.
    pub from: Option<DateTime<Utc>>,
    /// Registered before.
    pub to: Option<DateTime<Utc>>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size (1 to 500; default 50).
    pub limit: Option<u32>,
}

/// One complaint in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintSummary {
    /// The complaint id.
    pub complaint_id: ComplaintId,
    /// LAPOR!-SP4N tracking number.
    pub lapor_id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Current state.
    pub status: Status,
    /// The status LAPOR!-SP4N shows for it.
    pub lapor_status: LaporStatus,
    /// Agency holding it.
    pub agency: Option<AgencyCode>,
    /// Its liaison officer.
    pub liaison_officer: Option<UserId>,
    /// Confidentiality level.
    pub confidentiality: Confidentiality,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The last sequence included.
    pub sequence: Sequence,
}

/// A page of results and the cursor of the next one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// A complaint's detail: its summary and full state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComplaintDetail {
    /// The list fields.
    pub summary: ComplaintSummary,
    /// The state rebuilt from the log, as of `summary.sequence`.
    pub state: Complaint,
}

/// One agency's open work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyWorkload {
    /// The agency.
    pub agency: AgencyCode,
    /// Open complaints by state.
    pub by_status: BTreeMap<Status, i64>,
    /// Open complaints in all.
    pub open: i64,
    /// Running duties past their deadline.
    pub overdue: i64,
    /// Running duties within the at-risk margin.
    pub at_risk: i64,
}

/// One event on the audit timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Its place in the whole log.
    pub position: Position,
    /// The complaint.
    pub complaint_id: ComplaintId,
    /// Its number in the complaint.
    pub sequence: Sequence,
    /// When it happened (the command's clock).
    pub at: DateTime<Utc>,
    /// When the database recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Who.
    pub actor: UserId,
    /// In which role.
    pub role: Role,
    /// Of which agency.
    pub agency: Option<AgencyCode>,
    /// What.
    pub event_type: String,
    /// Under which command id.
    pub command_id: String,
}

/// Queries over the read views.
#[derive(Clone, Debug)]
pub struct Views {
    pool: AnyPool,
}

#[derive(Clone, Debug)]
enum Arg {
    Text(String),
    Int(i64),
}

/// WHERE clauses with `?` holes, numbered `$1`, `$2`, … in the order they are added (the
/// form both backends accept through the `Any` driver).
#[derive(Default)]
struct Clauses {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Clauses {
    fn add(&mut self, clause: &str, values: Vec<Arg>) {
        let mut c = clause.to_owned();
        for v in values {
            self.args.push(v);
            c = c.replacen('?', &format!("${}", self.args.len()), 1);
        }
        self.clauses.push(c);
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    fn next_placeholder(&mut self, value: Arg) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    fn bind<'q>(
        self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for a in self.args {
            query = match a {
                Arg::Text(s) => query.bind(s),
                Arg::Int(i) => query.bind(i),
            };
        }
        query
    }
}

const SUMMARY_COLUMNS: &str =
    "complaint_id, lapor_id, title, category, status, agency, liaison_officer, \
    confidentiality, registered_at, updated_at, sequence";

fn summary(row: &AnyRow) -> Result<ComplaintSummary, StoreError> {
    let id: String = row.try_get("complaint_id")?;
    let status: Status = named(&id, "status", &row.try_get::<String, _>("status")?)?;
    Ok(ComplaintSummary {
        lapor_id: row.try_get("lapor_id")?,
        title: row.try_get("title")?,
        category: row.try_get("category")?,
        lapor_status: status.lapor_status(),
        status,
        agency: row.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
        liaison_officer: row
            .try_get::<Option<String>, _>("liaison_officer")?
            .map(UserId),
        confidentiality: named(
            &id,
            "confidentiality",
            &row.try_get::<String, _>("confidentiality")?,
        )?,
        registered_at: instant(
            &id,
            "registered_at",
            &row.try_get::<String, _>("registered_at")?,
        )?,
        updated_at: instant(&id, "updated_at", &row.try_get::<String, _>("updated_at")?)?,
        sequence: crate::codec::sequence(row.try_get("sequence")?),
        complaint_id: named(&id, "complaint_id", &id)?,
    })
}

impl Views {
    pub(crate) fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The complaint list, filtered, newest first, with keyset pagination.
    pub async fn list(
        &self,
        filter: &ComplaintFilter,
    ) -> Result<Page<ComplaintSummary>, StoreError> {
        let limit = i64::from(filter.limit.unwrap_or(50).clamp(1, 500));
        let mut c = Clauses::default();
        if let Some(status) = filter.status {
            c.add("v.status = ?", vec![Arg::Text(status.as_str().into())]);
        }
        if let Some(agency) = &filter.agency {
            c.add("v.agency = ?", vec![Arg::Text(agency.clone())]);
        }
        if let Some(officer) = &filter.liaison_officer {
            c.add("v.liaison_officer = ?", vec![Arg::Text(officer.clone())]);
        }
        if let Some(from) = filter.from {
            c.add("v.registered_at >= ?", vec![Arg::Text(timestamp(from))]);
        }
        if let Some(to) = filter.to {
            c.add("v.registered_at < ?", vec![Arg::Text(timestamp(to))]);
        }
        if let Some(now) = filter.overdue_at {
            c.add(
                "EXISTS (SELECT 1 FROM sla_deadlines d WHERE d.complaint_id = v.complaint_id \
                 AND d.breachable = 1 AND d.ended_at IS NULL AND d.due_at < ?)",
                vec![Arg::Text(timestamp(now))],
            );
        }
        if let Some(cursor) = &filter.after {
            let (at, id) = cursor
                .split_once('~')
                .ok_or_else(|| StoreError::BadCursor(cursor.clone()))?;
            c.add(
                "(v.registered_at < ? OR (v.registered_at = ? AND v.complaint_id < ?))",
                vec![
                    Arg::Text(at.into()),
                    Arg::Text(at.into()),
                    Arg::Text(id.into()),
                ],
            );
        }
        let where_sql = c.where_sql();
        let limit_arg = c.next_placeholder(Arg::Int(limit + 1));
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM complaint_views v {where_sql} \
             ORDER BY v.registered_at DESC, v.complaint_id DESC LIMIT {limit_arg}"
        );
        let query = c.bind(sqlx::query(&sql));
        let rows = query.fetch_all(&self.pool).await?;
        let mut items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items
                .last()
                .map(|s| format!("{}~{}", timestamp(s.registered_at), s.complaint_id))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// One complaint with its state, if the views know it.
    pub async fn detail(
        &self,
        complaint_id: &ComplaintId,
    ) -> Result<Option<ComplaintDetail>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, state FROM complaint_views WHERE complaint_id = $1"
        ))
        .bind(complaint_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("state")?;
        let state = serde_json::from_str(&state).map_err(|e| {
            StoreError::integrity(
                complaint_id.as_str(),
                format!("its view row cannot be read: {e}"),
                Some(Box::new(e)),
            )
        })?;
        Ok(Some(ComplaintDetail {
            summary: summary(&row)?,
            state,
        }))
    }

    /// Open complaints per agency, by state, with overdue and at-risk duties at `now`.
    pub async fn workload(&self, now: DateTime<Utc>) -> Result<Vec<AgencyWorkload>, StoreError> {
        let rows = sqlx::query(
            "SELECT agency, status, COUNT(*) AS n FROM complaint_views \
             WHERE agency IS NOT NULL AND status NOT IN ('closed', 'rejected') GROUP BY agency, status",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: BTreeMap<String, AgencyWorkload> = BTreeMap::new();
        for row in rows {
            let agency: String = row.try_get("agency")?;
            let status: Status = named(&agency, "status", &row.try_get::<String, _>("status")?)?;
            let entry = out.entry(agency.clone()).or_insert_with(|| AgencyWorkload {
                agency: AgencyCode(agency),
                by_status: BTreeMap::new(),
                open: 0,
                overdue: 0,
                at_risk: 0,
            });
            let n: i64 = row.try_get("n")?;
            entry.by_status.insert(status, n);
            entry.open += n;
        }
        let now = timestamp(now);
        let rows = sqlx::query(
            "SELECT agency, \
               SUM(CASE WHEN due_at < $1 THEN 1 ELSE 0 END) AS overdue, \
               SUM(CASE WHEN due_at >= $1 AND at_risk_from <= $1 THEN 1 ELSE 0 END) AS at_risk \
             FROM sla_deadlines WHERE agency IS NOT NULL AND breachable = 1 AND ended_at IS NULL AND due_at IS NOT NULL \
             GROUP BY agency",
        )
        .bind(&now)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let agency: String = row.try_get("agency")?;
            if let Some(entry) = out.get_mut(&agency) {
                entry.overdue = row.try_get::<Option<i64>, _>("overdue")?.unwrap_or(0);
                entry.at_risk = row.try_get::<Option<i64>, _>("at_risk")?.unwrap_or(0);
            }
        }
        Ok(out.into_values().collect())
    }

    /// A complaint's events as the audit timeline shows them.
    pub async fn timeline(
        &self,
        complaint_id: &ComplaintId,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT position, complaint_id, sequence, at, recorded_at, actor, role, agency, event_type, command_id \
             FROM audit_timeline WHERE complaint_id = $1 ORDER BY sequence",
        )
        .bind(complaint_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("complaint_id")?;
                Ok(TimelineEntry {
                    position: row.try_get("position")?,
                    sequence: crate::codec::sequence(row.try_get("sequence")?),
                    at: instant(&id, "at", &row.try_get::<String, _>("at")?)?,
                    recorded_at: instant(
                        &id,
                        "recorded_at",
                        &row.try_get::<String, _>("recorded_at")?,
                    )?,
                    actor: UserId(row.try_get("actor")?),
                    role: named(&id, "role", &row.try_get::<String, _>("role")?)?,
                    agency: row.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
                    event_type: row.try_get("event_type")?,
                    command_id: row.try_get("command_id")?,
                    complaint_id: named(&id, "complaint_id", &id)?,
                })
            })
            .collect()
    }

    /// Ids of complaints with a duty whose breach is due to be recorded, or whose
    /// feedback window has run out, at `now`: what the SLA monitor acts on.
    pub async fn due_for_enforcement(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<ComplaintId>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT complaint_id FROM sla_deadlines WHERE due_at < $1 \
             AND ((breachable = 1 AND breach_recorded = 0) OR (step IN ('feedback', 'information_wait') AND ended_at IS NULL)) \
             ORDER BY complaint_id",
        )
        .bind(timestamp(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("complaint_id")?;
                named(&id, "complaint_id", &id)
            })
            .collect()
    }
}
