//! Exports of the log for auditors: JSON Lines or CSV, one stored event per line, in
//! complaint order, with the hashes, reproducible byte for byte, streamed.

use std::io::{BufRead, Write};

use serde_json::{json, Value};

use super::{walk, RawEvent, StoredRow, WalkProgress};
use crate::backend::Db;
use crate::chain::{canonical_json, is_canonical, HASH, PREV_HASH};
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

/// One export line of a stored row.
///
/// The payload and metadata are written as the canonical JSON of the stored values.
/// Texts that are canonical already (as the engine stores them) are written as they
/// are without being parsed; any others are parsed and rendered again, or marked
/// unreadable.
fn line(format: ExportFormat, row: &StoredRow) -> String {
    if let Some((payload, metadata)) = copyable(row) {
        let hashes = match format {
            // The JSON Lines line carries the hashes inside the metadata.
            ExportFormat::Jsonl => (String::new(), String::new()),
            ExportFormat::Csv => hashes(&serde_json::from_str(metadata).unwrap_or_default()),
        };
        return render(format, row, &hashes, payload, metadata);
    }
    let (payload, metadata) = row.parsed_json();
    let metadata = stored(&metadata);
    render(
        format,
        row,
        &hashes(&metadata),
        &canonical_json(&stored(&payload)),
        &canonical_json(&metadata),
    )
}

/// The payload's and metadata's stored texts, when both are canonical.
fn copyable(row: &StoredRow) -> Option<(&str, &str)> {
    let (Ok(payload), Ok(metadata)) = (&row.payload, &row.metadata) else {
        return None;
    };
    (is_canonical(payload) && is_canonical(metadata)).then_some((payload, metadata))
}

/// The metadata's `prev_hash` and `hash`, empty where absent.
fn hashes(metadata: &Value) -> (String, String) {
    let text = |key: &str| {
        metadata
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    (text(PREV_HASH), text(HASH))
}

/// A line from its parts, `payload` and `metadata` being canonical JSON text. A JSON
/// Lines line is the canonical JSON of the object of all columns: its keys in byte
/// order, written here in that order.
fn render(
    format: ExportFormat,
    row: &StoredRow,
    (prev_hash, hash): &(String, String),
    payload: &str,
    metadata: &str,
) -> String {
    match format {
        ExportFormat::Jsonl => {
            let string = |s: &str| Value::String(s.to_owned()).to_string();
            let mut out = String::with_capacity(payload.len() + metadata.len() + 200);
            for (key, value) in [
                ("complaint_id", string(&row.complaint_id)),
                ("event_type", string(&row.event_type)),
                ("event_version", string(&row.event_version)),
                ("metadata", metadata.to_owned()),
                ("payload", payload.to_owned()),
                ("position", row.position.to_string()),
                ("recorded_at", string(&row.recorded_at)),
                ("sequence", row.sequence.to_string()),
            ] {
                out.push(if out.is_empty() { '{' } else { ',' });
                out.push('"');
                out.push_str(key);
                out.push_str("\":");
                out.push_str(&value);
            }
            out.push('}');
            out
        }
        ExportFormat::Csv => [
            &row.complaint_id,
            &row.sequence.to_string(),
            &row.position.to_string(),
            &row.recorded_at,
            &row.event_type,
            &row.event_version,
            prev_hash,
            hash,
            payload,
            metadata,
        ]
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(","),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{ChainInput, GENESIS};

    /// A line as the export wrote it before stored text was copied: the canonical JSON
    /// of the parsed row.
    fn parsed_line(format: ExportFormat, e: &RawEvent) -> String {
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
                let text = |k: &str| {
                    metadata
                        .get(k)
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

    fn row(payload: &str, metadata: &str) -> StoredRow {
        crate::audit::test_rows::received("ADU-\"1\"", 7, payload, metadata)
    }

    fn hashed(payload: &Value) -> (String, String) {
        let metadata = json!({"actor": "sari, \"UPP\"", "prev_hash": GENESIS});
        crate::audit::test_rows::hashed("ADU-\"1\"", payload, metadata)
    }

    /// Metadata whose hash is that of `raw` taken as it is, as someone who can write to
    /// the database could compute it for a text that is not canonical.
    fn forged_over(raw: &str) -> String {
        let without = json!({"actor": "sari, \"UPP\"", "prev_hash": GENESIS});
        let hash = crate::chain::event_hash_of_text(
            &ChainInput {
                aggregate_type: "complaint",
                aggregate_id: "ADU-\"1\"",
                sequence: 1,
                event_type: "Received",
                event_version: "1",
                payload: &Value::Null,
                metadata: &Value::Null,
            },
            raw,
            &canonical_json(&without),
        );
        let mut metadata = without;
        metadata["hash"] = json!(hash);
        canonical_json(&metadata)
    }

    #[test]
    fn a_hash_forged_over_text_that_is_not_canonical_does_not_verify() {
        for raw in [
            serde_json::to_string_pretty(&json!({"title": "x"})).unwrap(),
            "{\"title\":\"x\"}\n{\"injected\":true}".to_owned(),
            "not json at all".to_owned(),
        ] {
            let mut verifier = crate::audit::ChainVerifier::new();
            verifier.push_stored(row(&raw, &forged_over(&raw)));
            let report = verifier.finish().0;
            assert_eq!(report.failures_total, 1, "{raw}: {report:?}");
            assert!(
                matches!(
                    report.failures[0].kind,
                    crate::audit::FailureKind::HashMismatch { .. }
                        | crate::audit::FailureKind::Unreadable { .. }
                ),
                "{raw}: {report:?}"
            );
            // And the export does not copy it: one line, parsed or marked unreadable.
            let line = line(ExportFormat::Jsonl, &row(&raw, &forged_over(&raw)));
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn a_line_is_the_canonical_json_of_the_parsed_row_whichever_path_wrote_it() {
        let payload = json!({"title": "Jalan rusak,\n berlubang", "n": -15, "z": [null, true]});
        let (text, metadata) = hashed(&payload);
        let spaced = serde_json::to_string_pretty(&payload).unwrap();
        let changed = text.replace("rusak", "bagus");
        let forged = forged_over(&spaced);
        let cases: [(&str, &str); 6] = [
            // the stored canonical text (copied as it is)
            (&text, &metadata),
            // re-rendered (parsed and rendered again)
            (&spaced, &metadata),
            // changed, still canonical (copied; its hash fails)
            (&changed, &metadata),
            // re-rendered, with a hash forged over the raw text (parsed, and it fails)
            (&spaced, &forged),
            // an unreadable payload; metadata without hashes
            ("{not json", &metadata),
            (&text, r#"{"actor": "x"}"#),
        ];
        for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
            for (payload, metadata) in cases {
                let expected = parsed_line(format, &row(payload, metadata).parse());
                assert_eq!(
                    line(format, &row(payload, metadata)),
                    expected,
                    "{format:?} {payload}"
                );
            }
        }
        // The canonical texts (untouched, and changed) took the copying path; no other.
        for (n, (payload, metadata)) in cases.iter().enumerate() {
            let copied = copyable(&row(payload, metadata)).is_some();
            assert_eq!(copied, n == 0 || n == 2, "{payload} {metadata}");
        }
    }
}
