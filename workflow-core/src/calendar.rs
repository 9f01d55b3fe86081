//! The working-day calendar: weekends, *libur nasional* and *cuti bersama*.
//!
//! The calendar works on local dates only; turning instants into local dates is the
//! job of the [`TimeZoneSpec`] in the SLA policy. The holiday table is data: a CSV file
//! shipped in this crate ([`HolidayTable::builtin`]) that operators amend with a file of
//! the same form ([`HolidayTable::amended_by`]), because decrees move cuti bersama at
//! short notice. Parsing is here; reading the file is the caller's I/O.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod zone;
pub use zone::TimeZoneSpec;

/// The holiday table shipped with the engine (2024 to 2027).
pub const BUILTIN_HOLIDAYS_CSV: &str = include_str!("../data/holidays-id.csv");

/// What kind of day an entry of the holiday table declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A national holiday.
    LiburNasional,
    /// Collective leave decreed for civil servants.
    CutiBersama,
    /// An amendment that makes the date a working day (a revoked cuti bersama, say).
    HariKerja,
}

impl DayKind {
    /// The name used in the CSV file.
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::LiburNasional => "libur_nasional",
            DayKind::CutiBersama => "cuti_bersama",
            DayKind::HariKerja => "hari_kerja",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::LiburNasional, Self::CutiBersama, Self::HariKerja]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One row of the holiday table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayEntry {
    /// The local date.
    pub date: NaiveDate,
    /// Holiday, collective leave, or a declared working day.
    pub kind: DayKind,
    /// Name in Indonesian.
    pub name_id: String,
    /// Name in English.
    pub name_en: String,
    /// The decree or document the entry comes from.
    pub source: String,
}

/// Why a holiday table or time zone could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The header line is not `date,kind,name_id,name_en,source`.
    #[error(
        "holiday table: the header must be `date,kind,name_id,name_en,source`, found `{found}`"
    )]
    BadHeader {
        /// The header found.
        found: String,
    },
    /// A data line could not be parsed.
    #[error("holiday table line {line}: {reason}")]
    BadLine {
        /// 1-based line number in the file.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The same date appears twice in one file.
    #[error("holiday table line {line}: {date} is listed twice")]
    DuplicateDate {
        /// 1-based line number of the second occurrence.
        line: usize,
        /// The date.
        date: NaiveDate,
    },
    /// A time zone that is neither a known Indonesian zone nor a `+HH:MM` offset.
    #[error("unknown time zone `{0}` (use Asia/Jakarta, Asia/Pontianak, Asia/Makassar, Asia/Jayapura, UTC or an offset such as +07:00)")]
    UnknownTimeZone(String),
}

const HEADER: &str = "date,kind,name_id,name_en,source";

/// A table of dated entries, at most one per date. There is no default: say
/// [`HolidayTable::builtin`] or, explicitly, [`HolidayTable::empty`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayTable {
    entries: BTreeMap<NaiveDate, DayEntry>,
}

impl HolidayTable {
    /// A table with no entries: only weekends are days off. For tests and for
    /// deployments that keep every holiday in their own amendment file.
    pub fn empty() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }

    /// The table shipped with the engine.
    pub fn builtin() -> Self {
        // The shipped file is checked by a unit test; failing here would be a build defect.
        Self::parse(BUILTIN_HOLIDAYS_CSV).expect("the shipped holiday table parses")
    }

    /// Parses a table in the shipped CSV form. Lines starting with `#` and blank lines
    /// are ignored; the first other line must be the header. A file saved from a
    /// spreadsheet is read too: a leading byte-order mark is skipped, lines may end in
    /// CR LF, and the separator may be `;` (as spreadsheets in an Indonesian locale
    /// save it) when the header uses it.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut entries = BTreeMap::new();
        let mut header_seen = false;
        let mut separator = ',';
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if !header_seen {
                let header = line.trim();
                if header == HEADER.replace(',', ";") {
                    separator = ';';
                } else if header != HEADER {
                    return Err(CalendarError::BadHeader {
                        found: line.to_owned(),
                    });
                }
                header_seen = true;
                continue;
            }
            if line.contains('\r') {
                return Err(CalendarError::BadLine {
                    line: line_no,
                    reason: "a carriage return inside the line".into(),
                });
            }
            let fields =
                split_separated(line, separator).map_err(|reason| CalendarError::BadLine {
                    line: line_no,
                    reason,
                })?;
            let [date, kind, name_id, name_en, source]: [String; 5] =
                fields
                    .try_into()
                    .map_err(|f: Vec<String>| CalendarError::BadLine {
                        line: line_no,
                        reason: format!("expected 5 fields, found {}", f.len()),
                    })?;
            let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
                CalendarError::BadLine {
                    line: line_no,
                    reason: format!("`{date}` is not a date of the form YYYY-MM-DD"),
                }
            })?;
            let kind = DayKind::parse(kind.trim()).ok_or_else(|| CalendarError::BadLine {
                line: line_no,
                reason: format!(
                    "unknown kind `{kind}` (expected libur_nasional, cuti_bersama or hari_kerja)"
                ),
            })?;
            let entry = DayEntry {
                date,
                kind,
                name_id: name_id.trim().to_owned(),
                name_en: name_en.trim().to_owned(),
                source: source.trim().to_owned(),
            };
            if entries.insert(date, entry).is_some() {
                return Err(CalendarError::DuplicateDate {
                    line: line_no,
                    date,
                });
            }
        }
        if !header_seen {
            return Err(CalendarError::BadHeader {
                found: String::new(),
            });
        }
        Ok(Self { entries })
    }

    /// This table with `amendment` laid over it: an amendment's row replaces the row of
    /// the same date, and a `hari_kerja` row makes its date a working day.
    pub fn amended_by(mut self, amendment: &HolidayTable) -> Self {
        for (date, entry) in &amendment.entries {
            self.entries.insert(*date, entry.clone());
        }
        self
    }

    /// The entry for a date, if any.
    pub fn get(&self, date: NaiveDate) -> Option<&DayEntry> {
        self.entries.get(&date)
    }

    /// All entries in date order.
    pub fn entries(&self) -> impl Iterator<Item = &DayEntry> {
        self.entries.values()
    }

    /// The first and last year the table has entries for.
    pub fn years(&self) -> Option<(i32, i32)> {
        let first = self.entries.keys().next()?.year();
        let last = self.entries.keys().next_back()?.year();
        Some((first, last))
    }

    /// A short fingerprint of the table's content: two tables with the same entries
    /// have the same version, and any change of a date, kind or name changes it.
    pub fn version(&self) -> String {
        let mut hasher = Sha256::new();
        for e in self.entries.values() {
            hasher.update(format!(
                "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\n",
                e.date,
                e.kind.as_str(),
                e.name_id,
                e.name_en,
                e.source
            ));
        }
        let digest = hasher.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Splits one line of RFC 4180 CSV into fields (`"` quotes, `""` inside quotes).
pub fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    split_separated(line, ',')
}

/// [`split_csv_line`] with another separator (`;` from spreadsheets).
fn split_separated(line: &str, separator: char) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, c) if c == separator => fields.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".to_owned());
    }
    fields.push(field);
    Ok(fields)
}

/// Working days: Monday to Friday, less the table's holidays and collective leave, plus
/// any date the table declares a working day. The default is the shipped table;
/// a calendar without holidays must be asked for ([`WorkingCalendar::weekdays_only`]).
///
/// ```
/// use chrono::NaiveDate;
/// use workflow_core::{HolidayTable, WorkingCalendar};
///
/// let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
/// // Three working days from Wednesday 23 December 2026: the 24th is cuti bersama, the
/// // 25th Christmas, then a weekend.
/// let calendar = WorkingCalendar::builtin();
/// assert_eq!(calendar.add_working_days(d("2026-12-23"), 3), d("2026-12-30"));
///
/// // A decree adds a day of collective leave: the operator amends the shipped table.
/// let decree = HolidayTable::parse(
///     "date,kind,name_id,name_en,source\n2026-12-28,cuti_bersama,Cuti Bersama,Joint Holiday,SKB 2026\n",
/// ).unwrap();
/// let amended = WorkingCalendar::new(HolidayTable::builtin().amended_by(&decree));
/// assert_eq!(amended.add_working_days(d("2026-12-23"), 3), d("2026-12-31"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingCalendar {
    table: HolidayTable,
}

impl Default for WorkingCalendar {
    fn default() -> Self {
        Self::builtin()
    }
}

impl WorkingCalendar {
    /// A calendar over the given table.
    pub fn new(table: HolidayTable) -> Self {
        Self { table }
    }

    /// A calendar over the shipped table.
    pub fn builtin() -> Self {
        Self::new(HolidayTable::builtin())
    }

    /// Monday to Friday with no holidays at all, said explicitly.
    pub fn weekdays_only() -> Self {
        Self::new(HolidayTable::empty())
    }

    /// The table behind this calendar.
    pub fn table(&self) -> &HolidayTable {
        &self.table
    }

    /// Whether the table has entries for the date's year (beyond it only weekends count).
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.table
            .years()
            .is_some_and(|(first, last)| (first..=last).contains(&date.year()))
    }

    /// Whether civil servants work on this date.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.table.get(date).map(|e| e.kind) {
            Some(DayKind::HariKerja) => true,
            Some(DayKind::LiburNasional | DayKind::CutiBersama) => false,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The `n`-th working day after `date` (not counting `date` itself). With `n == 0`,
    /// the first working day on or after `date`.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = date;
        if n == 0 {
            while !self.is_working_day(day) {
                day = next_day(day);
            }
            return day;
        }
        let mut left = n;
        while left > 0 {
            day = next_day(day);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// How many working days lie in `(from, to]`; zero when `to <= from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = next_day(day);
            if self.is_working_day(day) {
                count += 1;
            }
        }
        count
    }
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn shipped_table_parses_and_covers_2024_to_2027() {
        let table = HolidayTable::parse(BUILTIN_HOLIDAYS_CSV).unwrap();
        assert_eq!(table.years(), Some((2024, 2027)));
        assert!(table
            .entries()
            .all(|e| !e.source.is_empty() && !e.name_id.is_empty()));
        let eid = table.get(d("2025-03-31")).unwrap();
        assert_eq!(eid.kind, DayKind::LiburNasional);
        // No carriage return anywhere, and each row cites where it comes from: the 2024
        // election day a Keppres, the 2027 rows a projection until their decree.
        assert!(!BUILTIN_HOLIDAYS_CSV.contains('\r'));
        assert_eq!(
            table.get(d("2024-02-14")).unwrap().source,
            "Keppres 10/2024"
        );
        assert!(table
            .entries()
            .filter(|e| e.date.year() == 2027)
            .all(|e| e.source.starts_with("proyeksi")));
    }

    #[test]
    fn an_amendment_saved_from_a_spreadsheet_is_read_or_refused_clearly() {
        // Byte-order mark, `;` separators, CR LF line ends: read.
        let spreadsheet = "\u{feff}date;kind;name_id;name_en;source\r\n\
                           2026-12-22;cuti_bersama;Cuti Bersama Tambahan;Extra joint leave;SKB perubahan\r\n";
        let table = HolidayTable::parse(spreadsheet).unwrap();
        let entry = table.get(d("2026-12-22")).unwrap();
        assert_eq!(
            (entry.kind, entry.source.as_str()),
            (DayKind::CutiBersama, "SKB perubahan")
        );
        // A carriage return inside a line is refused, naming the line.
        let stray = "date,kind,name_id,name_en,source\n2026-12-22,cuti_bersama,A\r,B,C\n";
        match HolidayTable::parse(stray) {
            Err(CalendarError::BadLine { line: 2, reason }) => {
                assert!(reason.contains("carriage return"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        // Mixed separators: the header decides, and a row of the other kind is refused.
        let mixed = "date;kind;name_id;name_en;source\n2026-12-22,cuti_bersama,A,B,C\n";
        assert!(matches!(
            HolidayTable::parse(mixed),
            Err(CalendarError::BadLine { line: 2, .. })
        ));
    }

    #[test]
    fn weekends_holidays_and_cuti_bersama_are_not_working_days() {
        let cal = WorkingCalendar::builtin();
        assert!(!cal.is_working_day(d("2026-11-28")), "a Saturday");
        assert!(!cal.is_working_day(d("2026-11-29")), "a Sunday");
        assert!(cal.is_working_day(d("2026-11-30")), "a plain Monday");
        assert!(!cal.is_working_day(d("2025-12-25")), "Christmas");
        assert!(
            !cal.is_working_day(d("2025-12-26")),
            "cuti bersama after Christmas"
        );
    }

    #[test]
    fn working_days_skip_the_idul_fitri_break() {
        // Idul Fitri 2025: 31 March and 1 April, cuti bersama 28 March and 2 to 7 April.
        let cal = WorkingCalendar::builtin();
        assert_eq!(cal.add_working_days(d("2025-03-27"), 1), d("2025-04-08"));
        assert_eq!(
            cal.working_days_between(d("2025-03-27"), d("2025-04-08")),
            1
        );
    }

    #[test]
    fn an_amendment_adds_holidays_and_restores_working_days() {
        let amendment = HolidayTable::parse(
            "date,kind,name_id,name_en,source\n\
             2026-12-01,cuti_bersama,Cuti Bersama Tambahan,Extra Joint Holiday,SKB perubahan\n\
             2025-12-26,hari_kerja,Batal,\"Revoked, back to work\",SKB perubahan\n",
        )
        .unwrap();
        let base = HolidayTable::builtin();
        let before = base.version();
        let cal = WorkingCalendar::new(base.amended_by(&amendment));
        assert!(!cal.is_working_day(d("2026-12-01")));
        assert!(cal.is_working_day(d("2025-12-26")));
        assert_eq!(
            cal.table().get(d("2025-12-26")).unwrap().name_en,
            "Revoked, back to work"
        );
        assert_ne!(cal.table().version(), before);
    }

    #[test]
    fn malformed_tables_are_refused_with_the_line() {
        let err = HolidayTable::parse(
            "date,kind,name_id,name_en,source\n2026-13-01,libur_nasional,a,b,c\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, CalendarError::BadLine { line: 2, .. }),
            "{err}"
        );
        let err = HolidayTable::parse("date,kind\n").unwrap_err();
        assert!(matches!(err, CalendarError::BadHeader { .. }));
        let err = HolidayTable::parse("date,kind,name_id,name_en,source\n2026-01-01,libur,a,b,c\n")
            .unwrap_err();
        assert!(matches!(err, CalendarError::BadLine { line: 2, .. }));
        let err = HolidayTable::parse(
            "date,kind,name_id,name_en,source\n2026-01-01,libur_nasional,a,b,c\n2026-01-01,cuti_bersama,a,b,c\n",
        )
        .unwrap_err();
        assert!(matches!(err, CalendarError::DuplicateDate { line: 3, .. }));
    }

    #[test]
    fn time_zones_are_fixed_offsets() {
        let wib = TimeZoneSpec::jakarta();
        let at = DateTime::parse_from_rfc3339("2026-11-27T18:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(wib.local_date(at), d("2026-11-28"));
        assert_eq!(
            wib.end_of_day(d("2026-11-28")).to_rfc3339(),
            "2026-11-28T16:59:59+00:00"
        );
        assert_eq!(
            TimeZoneSpec::parse("Asia/Makassar")
                .unwrap()
                .offset()
                .local_minus_utc(),
            8 * 3600
        );
        assert_eq!(
            TimeZoneSpec::parse("+05:30")
                .unwrap()
                .offset()
                .local_minus_utc(),
            19800
        );
        assert!(TimeZoneSpec::parse("Europe/Nowhere").is_err());
        assert!(TimeZoneSpec::parse("+25:00").is_err());
    }
}
