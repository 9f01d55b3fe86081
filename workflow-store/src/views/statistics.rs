//! What the console's boards of the head of an agency and the coordinator read: the BAs
//! waiting for a head, the returns escalated to the coordinator, one agency's open
//! work, the breaches on record and not annulled, and the figures of a month (received,
//! settled on time, breached, working days per step). Each is a range of an index: of
//! the complaint views by agency and state, of the running deadlines by agency, or of
//! the clock runs (`step_runs`) by end, agency or breach.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use workflow_core::{AgencyCode, ComplaintId, Status, Step};

use super::board::after_key;
use super::{summary, Arg, Clauses, ComplaintSummary, Page, Views, SUMMARY_COLUMNS};
use crate::codec::{instant, named};
use crate::error::StoreError;
use crate::timestamp;

/// One agency's open work at an instant: complaints not yet at an end, and those with a
/// running duty within the at-risk margin or past its deadline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyCounts {
    /// Complaints held by the agency whose workflow has not ended.
    pub open: i64,
    /// Of those, complaints with a running duty within the at-risk margin (and none
    /// past its deadline).
    pub at_risk: i64,
    /// Complaints with a running duty past its deadline.
    pub breached: i64,
}

/// The ended runs of one step in a span of time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDays {
    /// The step.
    pub step: Step,
    /// Runs of it that ended in the span.
    pub runs: i64,
    /// The working days they took, together.
    pub working_days: i64,
}

impl StepDays {
    /// The average working days a run took (`None` without runs).
    pub fn average(&self) -> Option<f64> {
        (self.runs > 0).then(|| self.working_days as f64 / self.runs as f64)
    }
}

/// The figures of one agency (or all) over a span of time, usually a month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanFigures {
    /// Complaints registered in the span (held by the agency now).
    pub received: i64,
    /// Complaints closed in the span with no run of any duty late (but for breaches the
    /// coordinator annulled).
    pub settled_on_time: i64,
    /// Breaches recorded in the span and not annulled.
    pub breached: i64,
    /// The SOP's steps and the response, with the runs that ended in the span.
    pub steps: Vec<StepDays>,
}

/// A breach on record that the coordinator has not annulled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBreach {
    /// The complaint.
    pub complaint_id: ComplaintId,
    /// The step whose run was late.
    pub step: Step,
    /// Which run of it.
    pub occurrence: i64,
    /// The agency holding the complaint.
    pub agency: Option<AgencyCode>,
    /// When the breach was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// The steps whose working days the statistics show: the SOP's three and the response.
pub const MEASURED_STEPS: [Step; 4] = [
    Step::Disposition,
    Step::Review,
    Step::FieldVerification,
    Step::Response,
];

/// The statuses at which a complaint's workflow has ended, as SQL text.
fn terminal_list() -> String {
    Status::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex_cursor(parts: &[&str]) -> String {
    crate::chain::hex(parts.join("\u{1f}").as_bytes())
}

fn unhex_cursor(cursor: &str, parts: usize) -> Result<Vec<String>, StoreError> {
    let bad = || StoreError::BadCursor(cursor.to_owned());
    if !cursor.len().is_multiple_of(2) || cursor.len() > 2048 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
        .collect::<Result<Vec<u8>, _>>()?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let split: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
    if split.len() == parts {
        Ok(split)
    } else {
        Err(bad())
    }
}

impl Views {
    /// Complaints of `agency` (every agency with `None`) in `status`, oldest first,
    /// paged, narrowed by `extra` (a condition on the view row without holes).
    async fn oldest_first(
        &self,
        agency: Option<&str>,
        status: Status,
        extra: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<ComplaintSummary>, StoreError> {
        let limit = i64::from(limit.clamp(1, 500));
        let mut c = Clauses::default();
        if let Some(agency) = agency {
            c.add("agency = ?", vec![Arg::Text(agency.to_owned())]);
        }
        c.add("status = ?", vec![Arg::Text(status.as_str().to_owned())]);
        c.add(extra, vec![]);
        if let Some(cursor) = after {
            let key = unhex_cursor(cursor, 2)?;
            let (sql, args) = after_key(&[
                ("registered_at", Arg::Text(key[0].clone())),
                ("complaint_id", Arg::Text(key[1].clone())),
            ]);
            c.add(&sql, args);
        }
        let where_sql = c.where_sql();
        let limit_arg = c.next_placeholder(Arg::Int(limit + 1));
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM complaint_views {where_sql} \
             ORDER BY registered_at, complaint_id LIMIT {limit_arg}"
        );
        let rows = c.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        let mut items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items
                .last()
                .map(|s| hex_cursor(&[&timestamp(s.registered_at), s.complaint_id.as_str()]))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The BAs issued to `agency` that its head has not acknowledged yet, oldest
    /// complaint first.
    pub async fn bas_waiting(
        &self,
        agency: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<ComplaintSummary>, StoreError> {
        // The view's state is the complaint's serialized as it is (every field, no
        // spaces): an acknowledged BA reads `"ba_acknowledged":true` there.
        self.oldest_first(
            Some(agency),
            Status::BaIssued,
            "state NOT LIKE '%\"ba_acknowledged\":true%'",
            after,
            limit,
        )
        .await
    }

    /// Complaints returned a third time, waiting for the coordinator to dispose them,
    /// oldest first.
    pub async fn escalated_returns(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<ComplaintSummary>, StoreError> {
        self.oldest_first(
            None,
            Status::Returned,
            "state LIKE '%\"escalated\":true%'",
            after,
            limit,
        )
        .await
    }

    /// One agency's open work at `now`.
    pub async fn agency_counts(
        &self,
        agency: &str,
        now: DateTime<Utc>,
    ) -> Result<AgencyCounts, StoreError> {
        let open: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM complaint_views WHERE agency = $1 AND status NOT IN ({})",
            terminal_list()
        ))
        .bind(agency)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let now = timestamp(now);
        let breached: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT complaint_id) AS n FROM sla_deadlines \
             WHERE agency = $1 AND due_at < $2 AND breachable = 1 AND ended_at IS NULL",
        )
        .bind(agency)
        .bind(&now)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let at_risk: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT complaint_id) AS n FROM sla_deadlines r \
             WHERE agency = $1 AND due_at >= $2 AND at_risk_from <= $2 AND breachable = 1 AND ended_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM sla_deadlines b WHERE b.complaint_id = r.complaint_id \
               AND b.due_at < $2 AND b.breachable = 1 AND b.ended_at IS NULL)",
        )
        .bind(agency)
        .bind(&now)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(AgencyCounts {
            open,
            at_risk,
            breached,
        })
    }

    /// The breaches on record and not annulled (of one agency with `Some`), oldest
    /// first, paged.
    pub async fn open_breaches(
        &self,
        agency: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<OpenBreach>, StoreError> {
        let limit = i64::from(limit.clamp(1, 500));
        let mut c = Clauses::default();
        c.add(
            "breach_recorded_at IS NOT NULL AND breach_annulled_at IS NULL",
            vec![],
        );
        if let Some(agency) = agency {
            c.add("agency = ?", vec![Arg::Text(agency.to_owned())]);
        }
        if let Some(cursor) = after {
            let key = unhex_cursor(cursor, 4)?;
            let occurrence = key[3]
                .parse::<i64>()
                .map_err(|_| StoreError::BadCursor(cursor.to_owned()))?;
            let (sql, args) = after_key(&[
                ("breach_recorded_at", Arg::Text(key[0].clone())),
                ("complaint_id", Arg::Text(key[1].clone())),
                ("step", Arg::Text(key[2].clone())),
                ("occurrence", Arg::Int(occurrence)),
            ]);
            c.add(&sql, args);
        }
        let where_sql = c.where_sql();
        let limit_arg = c.next_placeholder(Arg::Int(limit + 1));
        let sql = format!(
            "SELECT complaint_id, step, occurrence, agency, breach_recorded_at FROM step_runs {where_sql} \
             ORDER BY breach_recorded_at, complaint_id, step, occurrence LIMIT {limit_arg}"
        );
        let rows = c.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(|row| {
                let id: String = row.try_get("complaint_id")?;
                Ok(OpenBreach {
                    step: named(&id, "step", &row.try_get::<String, _>("step")?)?,
                    occurrence: row.try_get("occurrence")?,
                    agency: row.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
                    recorded_at: instant(
                        &id,
                        "breach_recorded_at",
                        &row.try_get::<String, _>("breach_recorded_at")?,
                    )?,
                    complaint_id: named(&id, "complaint_id", &id)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|b| {
                hex_cursor(&[
                    &timestamp(b.recorded_at),
                    b.complaint_id.as_str(),
                    b.step.as_str(),
                    &b.occurrence.to_string(),
                ])
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The working days of the runs of [`MEASURED_STEPS`] that ended in `[from, to)`, of
    /// one agency with `Some`.
    pub async fn step_days(
        &self,
        agency: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StepDays>, StoreError> {
        let mut c = Clauses::default();
        if let Some(agency) = agency {
            c.add("agency = ?", vec![Arg::Text(agency.to_owned())]);
        }
        let steps = MEASURED_STEPS
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        // The step before the range: one index range per step (agency, step, end).
        c.add(&format!("step IN ({steps})"), vec![]);
        c.add(
            "ended_at >= ? AND ended_at < ? AND working_days IS NOT NULL",
            vec![Arg::Text(timestamp(from)), Arg::Text(timestamp(to))],
        );
        let where_sql = c.where_sql();
        // CAST: PostgreSQL sums a bigint as numeric, which the `Any` driver cannot read.
        let sql = format!(
            "SELECT step, COUNT(*) AS runs, CAST(SUM(working_days) AS BIGINT) AS days \
             FROM step_runs {where_sql} GROUP BY step"
        );
        let rows = c.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        let mut out: Vec<StepDays> = MEASURED_STEPS
            .into_iter()
            .map(|step| StepDays {
                step,
                runs: 0,
                working_days: 0,
            })
            .collect();
        for row in rows {
            let name: String = row.try_get("step")?;
            if let Some(entry) = out.iter_mut().find(|s| s.step.as_str() == name) {
                entry.runs = row.try_get("runs")?;
                entry.working_days = row.try_get::<Option<i64>, _>("days")?.unwrap_or(0);
            }
        }
        Ok(out)
    }

    /// The figures of `[from, to)`, of one agency with `Some`.
    pub async fn span_figures(
        &self,
        agency: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<SpanFigures, StoreError> {
        let (from_text, to_text) = (timestamp(from), timestamp(to));
        let count = |sql: String, agency_column: &'static str| {
            let (from_text, to_text) = (from_text.clone(), to_text.clone());
            async move {
                let mut c = Clauses::default();
                c.add(&sql, vec![Arg::Text(from_text), Arg::Text(to_text)]);
                if let Some(agency) = agency {
                    c.add(
                        &format!("{agency_column} = ?"),
                        vec![Arg::Text(agency.to_owned())],
                    );
                }
                let sql = format!(
                    "SELECT COUNT(*) AS n FROM {} {}",
                    if agency_column == "agency" {
                        "complaint_views"
                    } else {
                        "step_runs r"
                    },
                    c.where_sql()
                );
                let row = c.bind(sqlx::query(&sql)).fetch_one(&self.pool).await?;
                Ok::<i64, StoreError>(row.try_get("n")?)
            }
        };
        let received = count("registered_at >= ? AND registered_at < ?".into(), "agency").await?;
        // Closed in the span: the 60-day clock ends when the complaint is closed; the
        // projection marks that run when nothing ran late.
        let settled_on_time = count(
            "r.step = 'overall' AND r.ended_at >= ? AND r.ended_at < ? AND r.settled_on_time = 1"
                .into(),
            "r.agency",
        )
        .await?;
        let breached = count(
            "r.breach_recorded_at >= ? AND r.breach_recorded_at < ? AND r.breach_annulled_at IS NULL"
                .into(),
            "r.agency",
        )
        .await?;
        Ok(SpanFigures {
            received,
            settled_on_time,
            breached,
            steps: self.step_days(agency, from, to).await?,
        })
    }
}
