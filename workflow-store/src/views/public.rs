//! What the public may read: complaints whose report is public (not *rahasia*), for the
//! Open311 GeoReport v2 endpoint and the tracking page by LAPOR! tracking number. A
//! confidential complaint is never among the rows these queries return, so no caller
//! of them can show one by mistake.

use chrono::{DateTime, Utc};
use sqlx::Row;
use workflow_core::complainant::Confidentiality;
use workflow_core::Status;

use super::{summary, Arg, Clauses, ComplaintDetail, ComplaintSummary, Views, SUMMARY_COLUMNS};
use crate::error::StoreError;
use crate::timestamp;

/// The most complaints one public listing returns (GeoReport v2's own bound).
pub const PUBLIC_LIMIT: u32 = 1000;

/// Filters of the public listing; every one optional. Results are newest first.
#[derive(Clone, Debug, Default)]
pub struct PublicFilter {
    /// `Some(true)`: only complaints whose workflow has ended ([`Status::is_terminal`]);
    /// `Some(false)`: only those still open.
    pub closed: Option<bool>,
    /// Only complaints of these categories (of any when empty).
    pub categories: Vec<String>,
    /// Registered at or after.
    pub from: Option<DateTime<Utc>>,
    /// Registered at or before.
    pub to: Option<DateTime<Utc>>,
    /// At most this many (1 to [`PUBLIC_LIMIT`]; more is cut to it).
    pub limit: Option<u32>,
}

const CONFIDENTIAL: &str = "v.confidentiality <> 'confidential'";

fn terminal_names() -> Vec<Arg> {
    Status::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(|s| Arg::Text(s.as_str().into()))
        .collect()
}

impl Views {
    /// Complaints whose report is public, filtered, newest first, at most
    /// [`PUBLIC_LIMIT`].
    pub async fn public_list(
        &self,
        filter: &PublicFilter,
    ) -> Result<Vec<ComplaintSummary>, StoreError> {
        let limit = i64::from(filter.limit.unwrap_or(PUBLIC_LIMIT).clamp(1, PUBLIC_LIMIT));
        let mut c = Clauses::default();
        c.add(CONFIDENTIAL, vec![]);
        if let Some(closed) = filter.closed {
            let names = terminal_names();
            let holes = vec!["?"; names.len()].join(", ");
            let not = if closed { "" } else { "NOT " };
            c.add(&format!("v.status {not}IN ({holes})"), names);
        }
        if !filter.categories.is_empty() {
            let holes = vec!["?"; filter.categories.len()].join(", ");
            let names = filter.categories.iter().cloned().map(Arg::Text).collect();
            c.add(&format!("v.category IN ({holes})"), names);
        }
        if let Some(from) = filter.from {
            c.add("v.registered_at >= ?", vec![Arg::Text(timestamp(from))]);
        }
        if let Some(to) = filter.to {
            c.add("v.registered_at <= ?", vec![Arg::Text(timestamp(to))]);
        }
        let where_sql = c.where_sql();
        let limit_arg = c.next_placeholder(Arg::Int(limit));
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM complaint_views v {where_sql} \
             ORDER BY v.registered_at DESC, v.complaint_id DESC LIMIT {limit_arg}"
        );
        let rows = c.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        rows.iter().map(summary).collect()
    }

    /// One complaint with its state if its report is public; `None` for an unknown id
    /// and for a confidential complaint alike.
    pub async fn public_detail(
        &self,
        complaint_id: &workflow_core::ComplaintId,
    ) -> Result<Option<ComplaintDetail>, StoreError> {
        Ok(self
            .detail(complaint_id)
            .await?
            .filter(|d| d.summary.confidentiality != Confidentiality::Confidential))
    }

    /// The complaint registered under a LAPOR!-SP4N tracking number, if its report is
    /// public (the newest such, should the number have been registered twice); `None`
    /// for an unknown number and for a confidential complaint alike.
    pub async fn public_by_lapor_id(
        &self,
        lapor_id: &str,
    ) -> Result<Option<ComplaintDetail>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT complaint_id FROM complaint_views v WHERE v.lapor_id = $1 AND {CONFIDENTIAL} \
             ORDER BY v.registered_at DESC, v.complaint_id DESC LIMIT 1"
        ))
        .bind(lapor_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("complaint_id")?;
        let id = crate::codec::named(&id, "complaint_id", &id)?;
        self.public_detail(&id).await
    }

    /// The categories of complaints whose report is public, in name order.
    pub async fn public_categories(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT v.category FROM complaint_views v WHERE {CONFIDENTIAL} \
             ORDER BY v.category"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("category")?))
            .collect()
    }
}
