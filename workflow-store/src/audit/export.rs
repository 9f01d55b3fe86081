//! Exports of the log for auditors: JSON Lines or CSV, one stored event per line, in
//! complaint order, with the hashes, reproducible byte for byte, streamed.

use std::io::{BufRead, Write};

use serde_json::{json, Value};

use super::{walk, RawEvent, WalkProgress};
use crate::backend::Db;
use crate::chain::{canonical_json, HASH, PREV_HASH};
use crate::error::StoreError;

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One canonical JSON object per line.
    Jsonl,
    /// RFC 4180 CSV with a header; payload and metadata as canonical JSON text.
    Csv,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            other => Err(format!("unknown export format `{other}` (jsonl or csv)")),
        }
    }
}

const CSV_HEADER: &str = "complaint_id,sequence,position,recorded_at,event_type,event_version,prev_hash,hash,payload,metadata";

fn stored(v: &Result<Value, String>) -> Value {
    match v {
        Ok(v) => v.clone(),
        Err(reason) => json!({ "unreadable": reason }),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn line(format: ExportFormat, e: &RawEvent) -> String {
    let payload = stored(&e.payload);
    let metadata = stored(&e.metadata);
    match format {
        ExportFormat::Jsonl => canonical_json(&json!({
            "complaint_id": e.complaint_id,
            "sequence": e.sequence,
            "position": e.position,
            "recorded_at": e.recorded_at,
            "event_type": e.event_type,
            "event_version": e.event_version,
            "payload": payload,
            "metadata": metadata,
        })),
        ExportFormat::Csv => {
            let text = |key: &str| {
                metadata
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            [
                e.complaint_id.clone(),
                e.sequence.to_string(),
                e.position.to_string(),
                e.recorded_at.clone(),
                e.event_type.clone(),
                e.event_version.clone(),
                text(PREV_HASH),
                text(HASH),
                canonical_json(&payload),
                canonical_json(&metadata),
            ]
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(",")
        }
    }
}

/// Streams the log (or one complaint) to `out`; returns the number of events.
pub(crate) async fn export(
    db: &Db,
    complaint: Option<&str>,
    format: ExportFormat,
    out: &mut (dyn Write + Send),
    progress: impl FnMut(WalkProgress),
) -> Result<u64, StoreError> {
    let io = StoreError::Write;
    if format == ExportFormat::Csv {
        writeln!(out, "{CSV_HEADER}").map_err(io)?;
    }
    let n = walk(
        db,
        complaint,
        |e| {
            writeln!(out, "{}", line(format, &e)).map_err(io)?;
            Ok(())
        },
        progress,
    )
    .await?;
    out.flush().map_err(io)?;
    Ok(n)
}

fn parse_line(format: ExportFormat, text: &str) -> Result<RawEvent, String> {
    match format {
        ExportFormat::Jsonl => {
            let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let s = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or(format!("no `{k}`"))
            };
            let i = |k: &str| v.get(k).and_then(Value::as_i64).ok_or(format!("no `{k}`"));
            Ok(RawEvent {
                complaint_id: s("complaint_id")?,
                sequence: i("sequence")?,
                position: i("position")?,
                recorded_at: s("recorded_at")?,
                event_type: s("event_type")?,
                event_version: s("event_version")?,
                payload: v.get("payload").cloned().ok_or("no `payload`".to_owned()),
                metadata: v.get("metadata").cloned().ok_or("no `metadata`".to_owned()),
            })
        }
        ExportFormat::Csv => {
            let f = workflow_core::calendar::split_csv_line(text)?;
            if f.len() != 10 {
                return Err(format!("expected 10 fields, found {}", f.len()));
            }
            let num = |s: &str| s.parse::<i64>().map_err(|e| e.to_string());
            let parse = |s: &str| serde_json::from_str::<Value>(s).map_err(|e| e.to_string());
            Ok(RawEvent {
                complaint_id: f[0].clone(),
                sequence: num(&f[1])?,
                position: num(&f[2])?,
                recorded_at: f[3].clone(),
                event_type: f[4].clone(),
                event_version: f[5].clone(),
                payload: parse(&f[8]),
                metadata: parse(&f[9]),
            })
        }
    }
}

/// Reads an export back as stored events, for offline verification: each item is an
/// event, or the 1-based line number and why it could not be read.
pub fn read_export(
    reader: impl BufRead,
    format: ExportFormat,
) -> impl Iterator<Item = Result<RawEvent, (usize, String)>> {
    reader
        .lines()
        .enumerate()
        .filter(move |(i, l)| {
            !(format == ExportFormat::Csv && *i == 0 && l.as_deref().is_ok_and(|l| l == CSV_HEADER))
        })
        .map(move |(i, l)| {
            let l = l.map_err(|e| (i + 1, e.to_string()))?;
            parse_line(format, &l).map_err(|e| (i + 1, e))
        })
}
