//! The SLA board: running duties by deadline, read by range scans on the index of
//! deadlines the complaints projection keeps, paged with a cursor.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use workflow_core::{AgencyCode, ComplaintId, Step};

use super::{Arg, Clauses, Page, Views};
use crate::codec::{instant, instant_opt, named};
use crate::error::StoreError;
use crate::timestamp;

/// The SLA board's statuses (snake_case like every other name; the kebab-case
/// spellings `at-risk` and `on-track` are accepted when parsing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardStatus {
    /// Past the deadline.
    Breached,
    /// Within the at-risk margin.
    AtRisk,
    /// More time left.
    OnTrack,
    /// Waiting for the complainant.
    Paused,
}

impl std::str::FromStr for BoardStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "breached" => Ok(Self::Breached),
            "at-risk" | "at_risk" => Ok(Self::AtRisk),
            "on-track" | "on_track" => Ok(Self::OnTrack),
            "paused" => Ok(Self::Paused),
            other => Err(format!(
                "unknown SLA status `{other}` (breached, at_risk, on_track, paused)"
            )),
        }
    }
}

impl BoardStatus {
    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breached => "breached",
            Self::AtRisk => "at_risk",
            Self::OnTrack => "on_track",
            Self::Paused => "paused",
        }
    }
}

/// One running duty on the SLA board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardEntry {
    /// The complaint.
    pub complaint_id: ComplaintId,
    /// The step.
    pub step: Step,
    /// Which run of it.
    pub occurrence: i64,
    /// The agency holding the complaint.
    pub agency: Option<AgencyCode>,
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// The deadline (none while paused).
    pub due_at: Option<DateTime<Utc>>,
    /// Status at the instant asked about.
    pub status: BoardStatus,
    /// Whether the breach is on record.
    pub breach_recorded: bool,
}

pub(crate) fn board_status(
    step: Step,
    due_at: Option<DateTime<Utc>>,
    at_risk_from: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> BoardStatus {
    match (due_at, at_risk_from) {
        // The complainant's window to answer: the complaint waits, its own clock shown.
        _ if step == Step::InformationWait => BoardStatus::Paused,
        (None, _) => BoardStatus::Paused,
        (Some(due), _) if now > due => BoardStatus::Breached,
        (Some(_), Some(risk)) if now >= risk => BoardStatus::AtRisk,
        _ => BoardStatus::OnTrack,
    }
}

const BOARD_COLUMNS: &str =
    "complaint_id, step, occurrence, agency, started_at, due_at, at_risk_from, breach_recorded";

/// The duties of the board in one status (all running ones with `None`), of one agency.
fn board_clauses(
    now: &str,
    status: Option<BoardStatus>,
    agency: Option<&str>,
    paged: bool,
) -> Clauses {
    board_clauses_of(now, status, agency, None, paged)
}

/// The same, of one step with `Some`.
fn board_clauses_of(
    now: &str,
    status: Option<BoardStatus>,
    agency: Option<&str>,
    step: Option<Step>,
    paged: bool,
) -> Clauses {
    let now = now.to_owned();
    let mut c = Clauses::default();
    // Running duties, and the complainant's window while a complaint waits for an
    // answer (shown as paused, with the window's end as its deadline).
    match status {
        None => c.add(
            "ended_at IS NULL AND (breachable = 1 OR step = 'information_wait')",
            vec![],
        ),
        Some(BoardStatus::Breached) => c.add(
            "ended_at IS NULL AND breachable = 1 AND due_at < ?",
            vec![Arg::Text(now.clone())],
        ),
        // A page of it reads the deadlines in the board's order from now on and stops
        // after the page (the duties at risk are the ones due soonest). `|| ''` keeps
        // the `at_risk_from` index out of a page's plan, on both databases, so that only
        // the order index can serve it: among a million open complaints on SQLite a
        // page took 46 ms without it and 1.7 ms with it (docs/BENCHMARKS.md).
        Some(BoardStatus::AtRisk) if paged => c.add(
            "ended_at IS NULL AND breachable = 1 AND due_at >= ? AND at_risk_from || '' <= ?",
            vec![Arg::Text(now.clone()), Arg::Text(now.clone())],
        ),
        Some(BoardStatus::AtRisk) => c.add(
            "ended_at IS NULL AND breachable = 1 AND due_at >= ? AND at_risk_from <= ?",
            vec![Arg::Text(now.clone()), Arg::Text(now.clone())],
        ),
        Some(BoardStatus::OnTrack) => c.add(
            "ended_at IS NULL AND breachable = 1 AND due_at >= ? AND at_risk_from > ?",
            vec![Arg::Text(now.clone()), Arg::Text(now.clone())],
        ),
        Some(BoardStatus::Paused) => c.add(
            "ended_at IS NULL AND ((breachable = 1 AND due_at IS NULL) OR step = 'information_wait')",
            vec![],
        ),
    }
    if let Some(agency) = agency {
        c.add("agency = ?", vec![Arg::Text(agency.to_owned())]);
    }
    if let Some(step) = step {
        c.add("step = ?", vec![Arg::Text(step.as_str().to_owned())]);
    }
    c
}

fn board_entry(row: &AnyRow, now: DateTime<Utc>) -> Result<BoardEntry, StoreError> {
    let id: String = row.try_get("complaint_id")?;
    let due_at = instant_opt(
        &id,
        "due_at",
        row.try_get::<Option<String>, _>("due_at")?.as_deref(),
    )?;
    let at_risk_from = instant_opt(
        &id,
        "at_risk_from",
        row.try_get::<Option<String>, _>("at_risk_from")?.as_deref(),
    )?;
    let step: Step = named(&id, "step", &row.try_get::<String, _>("step")?)?;
    Ok(BoardEntry {
        status: board_status(step, due_at, at_risk_from, now),
        step,
        occurrence: row.try_get("occurrence")?,
        agency: row.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
        started_at: instant(&id, "started_at", &row.try_get::<String, _>("started_at")?)?,
        due_at,
        breach_recorded: row.try_get::<i64, _>("breach_recorded")? != 0,
        complaint_id: named(&id, "complaint_id", &id)?,
    })
}

/// Where a page of the board ended: the last duty's place in the board's order. Sent
/// as lower-case hex, so it needs no escaping in a query string.
#[derive(Debug, PartialEq, Eq)]
enum BoardCursor {
    /// Among the duties with a deadline.
    Dated {
        due_at: String,
        complaint_id: String,
        step: String,
        occurrence: i64,
    },
    /// Among the paused duties, after every dated one.
    Undated {
        complaint_id: String,
        step: String,
        occurrence: i64,
    },
}

impl BoardCursor {
    const SEPARATOR: char = '\u{1f}';

    fn after(e: &BoardEntry) -> Self {
        match e.due_at {
            Some(due_at) => Self::Dated {
                due_at: timestamp(due_at),
                complaint_id: e.complaint_id.to_string(),
                step: e.step.as_str().to_owned(),
                occurrence: e.occurrence,
            },
            None => Self::Undated {
                complaint_id: e.complaint_id.to_string(),
                step: e.step.as_str().to_owned(),
                occurrence: e.occurrence,
            },
        }
    }

    fn encode(&self) -> String {
        let sep = Self::SEPARATOR.to_string();
        let text = match self {
            Self::Dated {
                due_at,
                complaint_id,
                step,
                occurrence,
            } => ["d", due_at, complaint_id, step, &occurrence.to_string()].join(&sep),
            Self::Undated {
                complaint_id,
                step,
                occurrence,
            } => ["u", complaint_id, step, &occurrence.to_string()].join(&sep),
        };
        crate::chain::hex(text.as_bytes())
    }

    fn parse(cursor: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::BadCursor(cursor.to_owned());
        if !cursor.len().is_multiple_of(2) || cursor.len() > 2048 {
            return Err(bad());
        }
        let bytes = (0..cursor.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(cursor.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())
            })
            .collect::<Result<Vec<u8>, _>>()?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let parts: Vec<&str> = text.split(Self::SEPARATOR).collect();
        let occurrence = |s: &str| s.parse::<i64>().map_err(|_| bad());
        match parts.as_slice() {
            ["d", due_at, complaint_id, step, n] => Ok(Self::Dated {
                due_at: (*due_at).to_owned(),
                complaint_id: (*complaint_id).to_owned(),
                step: (*step).to_owned(),
                occurrence: occurrence(n)?,
            }),
            ["u", complaint_id, step, n] => Ok(Self::Undated {
                complaint_id: (*complaint_id).to_owned(),
                step: (*step).to_owned(),
                occurrence: occurrence(n)?,
            }),
            _ => Err(bad()),
        }
    }
}

impl Views {
    /// The SLA board at `now`: running duties, optionally of one status, most urgent
    /// first. Each status is a range scan on an index of deadlines.
    pub async fn sla_board(
        &self,
        now: DateTime<Utc>,
        status: Option<BoardStatus>,
        agency: Option<&str>,
    ) -> Result<Vec<BoardEntry>, StoreError> {
        self.sla_board_first(now, status, agency, None).await
    }

    /// The most urgent `limit` entries of the SLA board (all with `None`): the index
    /// range scan stops after `limit` rows, whatever the number of open complaints.
    pub async fn sla_board_first(
        &self,
        now: DateTime<Utc>,
        status: Option<BoardStatus>,
        agency: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<BoardEntry>, StoreError> {
        let now_text = timestamp(now);
        let mut c = board_clauses(&now_text, status, agency, limit.is_some());
        let where_sql = c.where_sql();
        let limit_sql = match limit {
            Some(n) => format!(
                " LIMIT {}",
                c.next_placeholder(Arg::Int(i64::from(n.clamp(1, 10_000))))
            ),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {BOARD_COLUMNS} FROM sla_deadlines {where_sql} ORDER BY due_at, complaint_id, step{limit_sql}"
        );
        let rows = c.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        rows.iter().map(|row| board_entry(row, now)).collect()
    }

    /// One page of the SLA board at `now`, most urgent first: duties with a deadline by
    /// deadline, then those without one (paused); each in a fixed order on both
    /// backends (deadline, complaint, step, run). `after` is the `next` cursor of the
    /// previous page; `limit` is 1 to 500.
    pub async fn sla_board_page(
        &self,
        now: DateTime<Utc>,
        status: Option<BoardStatus>,
        agency: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<BoardEntry>, StoreError> {
        self.sla_board_page_of(now, status, agency, None, after, limit)
            .await
    }

    /// [`Views::sla_board_page`] of one step's duties with `Some`.
    pub async fn sla_board_page_of(
        &self,
        now: DateTime<Utc>,
        status: Option<BoardStatus>,
        agency: Option<&str>,
        step: Option<Step>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<BoardEntry>, StoreError> {
        let limit = i64::from(limit.clamp(1, 500));
        let now_text = timestamp(now);
        let cursor = after.map(BoardCursor::parse).transpose()?;
        let mut items = Vec::new();
        if !matches!(cursor, Some(BoardCursor::Undated { .. })) {
            let mut c = board_clauses_of(&now_text, status, agency, step, true);
            c.add("due_at IS NOT NULL", vec![]);
            if let Some(BoardCursor::Dated {
                due_at,
                complaint_id,
                step,
                occurrence,
            }) = &cursor
            {
                let (sql, args) = after_key(&[
                    ("due_at", Arg::Text(due_at.clone())),
                    ("complaint_id", Arg::Text(complaint_id.clone())),
                    ("step", Arg::Text(step.clone())),
                    ("occurrence", Arg::Int(*occurrence)),
                ]);
                c.add(&sql, args);
            }
            let where_sql = c.where_sql();
            let limit_arg = c.next_placeholder(Arg::Int(limit + 1));
            let sql = format!(
                "SELECT {BOARD_COLUMNS} FROM sla_deadlines {where_sql} \
                 ORDER BY due_at, complaint_id, step, occurrence LIMIT {limit_arg}"
            );
            let rows = c.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
            for row in &rows {
                items.push(board_entry(row, now)?);
            }
        }
        let undated = matches!(status, None | Some(BoardStatus::Paused));
        if undated && (items.len() as i64) <= limit {
            let mut c = board_clauses_of(&now_text, status, agency, step, true);
            c.add("due_at IS NULL", vec![]);
            if let Some(BoardCursor::Undated {
                complaint_id,
                step,
                occurrence,
            }) = &cursor
            {
                let (sql, args) = after_key(&[
                    ("complaint_id", Arg::Text(complaint_id.clone())),
                    ("step", Arg::Text(step.clone())),
                    ("occurrence", Arg::Int(*occurrence)),
                ]);
                c.add(&sql, args);
            }
            let where_sql = c.where_sql();
            let limit_arg = c.next_placeholder(Arg::Int(limit + 1 - items.len() as i64));
            let sql = format!(
                "SELECT {BOARD_COLUMNS} FROM sla_deadlines {where_sql} \
                 ORDER BY complaint_id, step, occurrence LIMIT {limit_arg}"
            );
            let rows = c.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
            for row in &rows {
                items.push(board_entry(row, now)?);
            }
        }
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|e| BoardCursor::after(e).encode())
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

/// The condition "after this key" of a keyset page, over the columns of the page's
/// order: `(a > ? OR (a = ? AND (b > ? OR (b = ? AND c > ?))))`, with the values in the
/// order of the holes.
pub(super) fn after_key(key: &[(&str, Arg)]) -> (String, Vec<Arg>) {
    match key {
        [] => (String::new(), Vec::new()),
        [(column, value)] => (format!("{column} > ?"), vec![value.clone()]),
        [(column, value), rest @ ..] => {
            let (inner, mut args) = after_key(rest);
            args.splice(0..0, [value.clone(), value.clone()]);
            (
                format!("({column} > ? OR ({column} = ? AND {inner}))"),
                args,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_condition_after_a_key_nests_column_by_column() {
        let (sql, args) = after_key(&[
            ("a", Arg::Text("x".into())),
            ("b", Arg::Int(2)),
            ("c", Arg::Int(3)),
        ]);
        assert_eq!(sql, "(a > ? OR (a = ? AND (b > ? OR (b = ? AND c > ?))))");
        let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        assert_eq!(
            args,
            ["Text(\"x\")", "Text(\"x\")", "Int(2)", "Int(2)", "Int(3)"]
        );
    }
}
