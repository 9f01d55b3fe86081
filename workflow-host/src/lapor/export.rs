//! Follow-ups written in the shape an operator uploads to LAPOR!-SP4N: one row each,
//! with the report's tracking number, what it is, the status LAPOR! should show after
//! it, when (local time) and the text.

use std::io::Write;

use serde::Serialize;
use workflow_core::TimeZoneSpec;
use workflow_store::lapor::FollowUp;

/// How the follow-ups are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// A header line, then a row each (RFC 4180 quoting), UTF-8.
    Csv,
    /// One JSON object a line.
    Jsonl,
}

/// One row, as written.
#[derive(Serialize)]
struct Row<'a> {
    tracking_id: &'a str,
    complaint_id: &'a str,
    kind: &'a str,
    lapor_status: &'a str,
    at: String,
    agency: &'a str,
    by: &'a str,
    text: &'a str,
}

/// Writes `follow_ups` to `out`, dates in `zone` (`2026-11-30 14:05`).
pub fn write_follow_ups(
    follow_ups: &[FollowUp],
    format: ExportFormat,
    zone: &TimeZoneSpec,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let rows = follow_ups.iter().map(|f| Row {
        tracking_id: &f.lapor_id,
        complaint_id: f.complaint_id.as_str(),
        kind: f.kind.as_str(),
        lapor_status: f.kind.lapor_status().as_str(),
        at: f
            .at
            .with_timezone(&zone.offset())
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        agency: f.agency.as_deref().unwrap_or(""),
        by: &f.by,
        text: &f.text,
    });
    match format {
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            // The header even when there is nothing, so that an empty batch is a
            // well-formed file.
            writer.write_record([
                "tracking_id",
                "complaint_id",
                "kind",
                "lapor_status",
                "at",
                "agency",
                "by",
                "text",
            ])?;
            for row in rows {
                writer.write_record([
                    row.tracking_id,
                    row.complaint_id,
                    row.kind,
                    row.lapor_status,
                    &row.at,
                    row.agency,
                    row.by,
                    row.text,
                ])?;
            }
            writer.flush()
        }
        ExportFormat::Jsonl => {
            for row in rows {
                serde_json::to_writer(&mut *out, &row)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        }
    }
}
