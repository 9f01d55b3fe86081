//! A LAPOR!-SP4N export read into reports: each line on its own, a line that cannot be
//! read refused with the field at fault and the others read on.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use workflow_core::complainant::{Confidentiality, PersonalData};
use workflow_core::{LaporStatus, TimeZoneSpec};

/// The longest line (one report) read, as the API's limit of one command's body: a
/// longer one is refused, never stored.
pub const LINE_LIMIT: usize = 64 * 1024;

/// The most reports one import reads: a larger file is refused whole (split it).
pub const MAX_REPORTS: usize = 50_000;

/// The file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object a line.
    Jsonl,
    /// A header line of field names, then one report a line (RFC 4180 quoting).
    Csv,
}

impl Format {
    /// The format a file name's extension says (`.csv`; anything else JSON Lines).
    pub fn of_name(name: &str) -> Self {
        if name.to_ascii_lowercase().ends_with(".csv") {
            Format::Csv
        } else {
            Format::Jsonl
        }
    }
}

/// Why a line was not imported: its number (1 is the file's first line), the field at
/// fault when one is, and the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineRefusal {
    /// The line's number in the file, from 1 (in a CSV file the header is line 1).
    pub line: usize,
    /// The field at fault, by its name in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// The rule that refused it, when the engine did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl LineRefusal {
    pub(crate) fn field(line: usize, field: &str, reason: impl Into<String>) -> Self {
        Self {
            line,
            field: Some(field.to_owned()),
            reason: reason.into(),
            rule: None,
        }
    }
}

/// A report as LAPOR! holds it, read from one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The line it came from.
    pub line: usize,
    /// `tracking_id`: LAPOR!'s tracking number, which becomes the complaint's id.
    pub tracking_id: String,
    /// `title`.
    pub title: String,
    /// `content`: the report as the complainant wrote it.
    pub content: String,
    /// `category`.
    pub category: String,
    /// `institution`: the target institution (an agency's code or name in the registry).
    pub institution: Option<String>,
    /// `reported_at`: when the complainant filed it.
    pub reported_at: DateTime<Utc>,
    /// `channel`: web, aplikasi, SMS, …
    pub channel: Option<String>,
    /// `privacy`: public, anonymous or confidential (default confidential).
    pub confidentiality: Confidentiality,
    /// `attachments`: file names, beside the file or in the same request.
    pub attachments: Vec<String>,
    /// `status`: its LAPOR! status.
    pub status: LaporStatus,
    /// `disposed_at`: when LAPOR! disposed it (disposed and in follow-up).
    pub disposed_at: Option<DateTime<Utc>>,
    /// `liaison_officer`: the user the disposition names; by default the agency's one
    /// liaison officer among the console's people.
    pub liaison_officer: Option<String>,
    /// `reporter_name`, `reporter_phone`, `reporter_email`, `reporter_nik`,
    /// `reporter_address`: the complainant, sealed in the log like any registration's.
    pub reporter: PersonalData,
    /// `location`.
    pub location: Option<String>,
    /// `upp_review`: the unit's review (*hasil telaahan*); a default that says the report
    /// was imported when absent.
    pub upp_review: Option<String>,
}

/// Reads every line of `text` into a report or a refusal, in order. Blank lines are
/// skipped; dates without a zone are read in `zone`.
pub fn read_reports(
    text: &str,
    format: Format,
    zone: &TimeZoneSpec,
) -> Vec<Result<Report, LineRefusal>> {
    match format {
        Format::Jsonl => text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let line = i + 1;
                if l.len() > LINE_LIMIT {
                    return Err(too_long(line));
                }
                match serde_json::from_str::<Value>(l) {
                    Ok(Value::Object(map)) => {
                        let fields = map.into_iter().collect::<BTreeMap<_, _>>();
                        report(line, &fields, zone)
                    }
                    Ok(_) => Err(LineRefusal {
                        line,
                        field: None,
                        reason: "not a JSON object".into(),
                        rule: None,
                    }),
                    Err(e) => Err(LineRefusal {
                        line,
                        field: None,
                        reason: format!("not JSON: {e}"),
                        rule: None,
                    }),
                }
            })
            .collect(),
        Format::Csv => read_csv(text, zone),
    }
}

fn read_csv(text: &str, zone: &TimeZoneSpec) -> Vec<Result<Report, LineRefusal>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|f| f.trim().to_owned()).collect(),
        Err(e) => {
            return vec![Err(LineRefusal {
                line: 1,
                field: None,
                reason: format!("the header line cannot be read: {e}"),
                rule: None,
            })]
        }
    };
    // A column named twice would have one of its values silently win.
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return vec![Err(LineRefusal::field(
                1,
                name,
                "named twice in the header line",
            ))];
        }
    }
    let line_of = |byte: u64| line_at(text, byte);
    let mut out = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                // The line the record starts on (a quoted field may span lines).
                let line = record.position().map_or(0, |p| line_of(p.byte()));
                if record.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                if record.as_slice().len() > LINE_LIMIT {
                    out.push(Err(too_long(line)));
                    continue;
                }
                if record.len() != header.len() {
                    out.push(Err(LineRefusal {
                        line,
                        field: None,
                        reason: format!(
                            "{} fields where the header names {}",
                            record.len(),
                            header.len()
                        ),
                        rule: None,
                    }));
                    continue;
                }
                let fields: BTreeMap<String, Value> = header
                    .iter()
                    .zip(record.iter())
                    .map(|(name, value)| {
                        let value = if name == "attachments" {
                            Value::Array(
                                value
                                    .split(';')
                                    .map(str::trim)
                                    .filter(|v| !v.is_empty())
                                    .map(|v| Value::String(v.to_owned()))
                                    .collect(),
                            )
                        } else {
                            Value::String(value.to_owned())
                        };
                        (name.clone(), value)
                    })
                    .collect();
                out.push(report(line, &fields, zone));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| line_of(p.byte()));
                out.push(Err(LineRefusal {
                    line,
                    field: None,
                    reason: format!("not a CSV record: {e}"),
                    rule: None,
                }));
            }
        }
    }
    out
}

/// The line (from 1) that byte `byte` of `text` is on: counted from the bytes, since
/// the CSV reader counts a `\r\n` line end differently from a `\n` one.
fn line_at(text: &str, byte: u64) -> usize {
    let bytes = text.as_bytes();
    let mut end = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
    // After a `\r\n` the reader may start the next record at the `\n`.
    while end < bytes.len() && matches!(bytes[end], b'\r' | b'\n') {
        end += 1;
    }
    bytes[..end].iter().filter(|b| **b == b'\n').count() + 1
}

fn too_long(line: usize) -> LineRefusal {
    LineRefusal {
        line,
        field: None,
        reason: format!(
            "longer than {} KiB: one report is at most that",
            LINE_LIMIT / 1024
        ),
        rule: None,
    }
}

/// A field's text: `None` when absent, null or blank.
fn text(
    fields: &BTreeMap<String, Value>,
    line: usize,
    name: &str,
) -> Result<Option<String>, LineRefusal> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(LineRefusal::field(line, name, "must be text")),
    }
}

fn required(
    fields: &BTreeMap<String, Value>,
    line: usize,
    name: &str,
) -> Result<String, LineRefusal> {
    text(fields, line, name)?.ok_or_else(|| LineRefusal::field(line, name, "required"))
}

/// An instant: RFC 3339, or a local date and time (`2026-11-23 08:00`, seconds
/// optional) or a date alone (midnight) in `zone`.
fn instant(
    fields: &BTreeMap<String, Value>,
    line: usize,
    name: &str,
    zone: &TimeZoneSpec,
) -> Result<Option<DateTime<Utc>>, LineRefusal> {
    let Some(t) = text(fields, line, name)? else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(&t) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(&t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(&t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    match local.and_then(|l| zone.offset().from_local_datetime(&l).single()) {
        Some(at) => Ok(Some(at.with_timezone(&Utc))),
        None => Err(LineRefusal::field(
            line,
            name,
            "not a date and time (2026-11-23 08:00, or RFC 3339)",
        )),
    }
}

/// A LAPOR! status by our name or LAPOR!'s own words.
fn status(t: &str) -> Option<LaporStatus> {
    let t = t.trim().to_lowercase().replace(['-', ' '], "_");
    Some(match t.as_str() {
        "verification" | "belum_terverifikasi" | "terverifikasi" | "verifikasi" => {
            LaporStatus::Verification
        }
        "disposed" | "disposisi" | "didisposisikan" | "belum_ditindaklanjuti" => {
            LaporStatus::Disposed
        }
        "in_follow_up" | "proses" | "diproses" | "sedang_diproses" | "ditindaklanjuti"
        | "tindak_lanjut" => LaporStatus::InFollowUp,
        "awaiting_feedback" | "menunggu_tanggapan" | "menunggu_tanggapan_pelapor" => {
            LaporStatus::AwaitingFeedback
        }
        "finished" | "selesai" => LaporStatus::Finished,
        "archived" | "arsip" | "diarsipkan" => LaporStatus::Archived,
        _ => return None,
    })
}

fn privacy(t: &str) -> Option<Confidentiality> {
    Some(match t.trim().to_lowercase().as_str() {
        "public" | "publik" => Confidentiality::Public,
        "anonymous" | "anonim" => Confidentiality::Anonymous,
        "confidential" | "rahasia" => Confidentiality::Confidential,
        _ => return None,
    })
}

fn report(
    line: usize,
    fields: &BTreeMap<String, Value>,
    zone: &TimeZoneSpec,
) -> Result<Report, LineRefusal> {
    let status_text = required(fields, line, "status")?;
    let status = status(&status_text).ok_or_else(|| {
        LineRefusal::field(
            line,
            "status",
            "not a LAPOR! status (verification, disposed, in_follow_up, awaiting_feedback, finished, archived, or LAPOR!'s words for them)",
        )
    })?;
    let confidentiality = match text(fields, line, "privacy")? {
        None => Confidentiality::default(),
        Some(t) => privacy(&t).ok_or_else(|| {
            LineRefusal::field(
                line,
                "privacy",
                "not public, anonymous or confidential (publik, anonim, rahasia)",
            )
        })?,
    };
    let attachments = match fields.get("attachments") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                _ => Err(LineRefusal::field(
                    line,
                    "attachments",
                    "each attachment is a file name",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(LineRefusal::field(
                line,
                "attachments",
                "a list of file names",
            ))
        }
    };
    let reported_at = instant(fields, line, "reported_at", zone)?
        .ok_or_else(|| LineRefusal::field(line, "reported_at", "required"))?;
    Ok(Report {
        line,
        tracking_id: required(fields, line, "tracking_id")?,
        title: required(fields, line, "title")?,
        content: required(fields, line, "content")?,
        category: required(fields, line, "category")?,
        institution: text(fields, line, "institution")?,
        reported_at,
        channel: text(fields, line, "channel")?,
        confidentiality,
        attachments,
        status,
        disposed_at: instant(fields, line, "disposed_at", zone)?,
        liaison_officer: text(fields, line, "liaison_officer")?,
        reporter: PersonalData {
            name: required(fields, line, "reporter_name")?,
            phone: text(fields, line, "reporter_phone")?,
            email: text(fields, line, "reporter_email")?,
            nik: text(fields, line, "reporter_nik")?,
            address: text(fields, line, "reporter_address")?,
            personal_note: None,
        },
        location: text(fields, line, "location")?,
        upp_review: text(fields, line, "upp_review")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wib() -> TimeZoneSpec {
        TimeZoneSpec::jakarta()
    }

    const LINE: &str = r#"{"tracking_id":"LAP-1","title":"Jalan rusak","content":"Lubang besar","category":"infrastruktur","reported_at":"2026-11-23 08:00","status":"Proses","institution":"PUPR","disposed_at":"2026-11-24T10:00:00+07:00","privacy":"anonim","reporter_name":"Budi","attachments":["foto.jpg"]}"#;

    #[test]
    fn a_line_is_read_with_lapor_words_and_local_dates() {
        let reports = read_reports(LINE, Format::Jsonl, &wib());
        let r = reports[0].as_ref().unwrap();
        assert_eq!(r.status, LaporStatus::InFollowUp);
        assert_eq!(r.confidentiality, Confidentiality::Anonymous);
        assert_eq!(r.reported_at.to_rfc3339(), "2026-11-23T01:00:00+00:00");
        assert_eq!(
            r.disposed_at.unwrap().to_rfc3339(),
            "2026-11-24T03:00:00+00:00"
        );
        assert_eq!(r.attachments, ["foto.jpg"]);
    }

    #[test]
    fn each_bad_line_names_its_line_and_field_and_the_rest_are_read() {
        let text = format!(
            "{LINE}\nnot json\n\n{}\n{}\n{LINE}\n",
            LINE.replace("\"Proses\"", "\"Hilang\""),
            LINE.replace("2026-11-23 08:00", "kemarin"),
        );
        let reports = read_reports(&text, Format::Jsonl, &wib());
        assert_eq!(reports.len(), 5);
        assert!(reports[0].is_ok() && reports[4].is_ok());
        let refused: Vec<(usize, Option<&str>)> = reports
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| (e.line, e.field.as_deref()))
            .collect();
        assert_eq!(
            refused,
            [(2, None), (4, Some("status")), (5, Some("reported_at"))]
        );
    }

    #[test]
    fn csv_with_quoted_commas_and_newlines_and_a_short_record() {
        let text = "tracking_id,title,content,category,reported_at,status,reporter_name,attachments\n\
                    LAP-1,\"Jalan, rusak\",\"Baris satu\nbaris dua\",infrastruktur,2026-11-23 08:00,verification,Budi,a.jpg; b.pdf\n\
                    LAP-2,pendek\n\
                    LAP-3,Lampu,Mati,infrastruktur,2026-11-23,Belum Terverifikasi,Sari,\n";
        let reports = read_reports(text, Format::Csv, &wib());
        assert_eq!(reports.len(), 3);
        let first = reports[0].as_ref().unwrap();
        assert_eq!(first.title, "Jalan, rusak");
        assert_eq!(first.content, "Baris satu\nbaris dua");
        assert_eq!(first.attachments, ["a.jpg", "b.pdf"]);
        assert_eq!(first.line, 2);
        let short = reports[1].as_ref().unwrap_err();
        assert_eq!(
            short.line, 4,
            "the record after a two-line one starts on line 4"
        );
        let third = reports[2].as_ref().unwrap();
        assert!(third.attachments.is_empty());
        assert_eq!(third.line, 5);
    }

    #[test]
    fn csv_with_crlf_line_ends_names_the_same_lines() {
        let text = "tracking_id,title,content,category,reported_at,status,reporter_name\r\n\
                    LAP-1,A,\"Baris\r\ndua\",x,2026-11-23,verification,Budi\r\n\
                    LAP-2,pendek\r\n";
        let reports = read_reports(text, Format::Csv, &wib());
        assert_eq!(reports[0].as_ref().unwrap().line, 2);
        assert_eq!(reports[1].as_ref().unwrap_err().line, 4);
    }

    #[test]
    fn a_column_named_twice_refuses_the_file() {
        let text = "tracking_id,status,status\nLAP-1,verification,selesai\n";
        let reports = read_reports(text, Format::Csv, &wib());
        assert_eq!(reports.len(), 1);
        let e = reports[0].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (1, Some("status")));
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_and_a_bom_is_skipped() {
        let long = LINE.replace("Lubang besar", &"x".repeat(LINE_LIMIT));
        let text = format!("\u{feff}{LINE}\n{long}\n{LINE}\n");
        let reports = read_reports(&text, Format::Jsonl, &wib());
        assert!(reports[0].is_ok(), "{:?}", reports[0]);
        let e = reports[1].as_ref().unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.starts_with("longer than 64 KiB"), "{}", e.reason);
        assert!(reports[2].is_ok());
    }

    #[test]
    fn a_refusal_does_not_repeat_what_was_in_the_field() {
        let text = LINE.replace("\"Proses\"", "\"3201234567890123\"");
        let e = read_reports(&text, Format::Jsonl, &wib())
            .remove(0)
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("status"));
        assert!(!e.reason.contains("3201234567890123"), "{}", e.reason);
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let text = LINE.replace("\"reporter_name\":\"Budi\",", "");
        let e = read_reports(&text, Format::Jsonl, &wib())
            .remove(0)
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("reporter_name"));
    }
}
