//! Local time: the fixed-offset zone a calendar's dates are read in.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::CalendarError;

/// A fixed-offset time zone with its name.
///
/// Indonesia's three zones (WIB, WITA, WIT) have had no daylight saving time since
/// 1964, so a fixed offset is exact and spares the domain a time-zone database.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneSpec {
    name: String,
    offset_seconds: i32,
}

impl TimeZoneSpec {
    /// WIB, the zone of Kabupaten Kapuas and of Jakarta.
    pub fn jakarta() -> Self {
        Self {
            name: "Asia/Jakarta".to_owned(),
            offset_seconds: 7 * 3600,
        }
    }

    /// Parses `Asia/Jakarta`, `Asia/Pontianak` (WIB), `Asia/Makassar` (WITA),
    /// `Asia/Jayapura` (WIT), `UTC`, or an offset such as `+07:00`.
    pub fn parse(s: &str) -> Result<Self, CalendarError> {
        let known = [
            ("Asia/Jakarta", 7),
            ("Asia/Pontianak", 7),
            ("Asia/Makassar", 8),
            ("Asia/Jayapura", 9),
            ("UTC", 0),
        ];
        if let Some((name, hours)) = known.iter().find(|(n, _)| *n == s) {
            return Ok(Self {
                name: (*name).to_owned(),
                offset_seconds: hours * 3600,
            });
        }
        let bad = || CalendarError::UnknownTimeZone(s.to_owned());
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 14 || m > 59 || h < 0 || m < 0 {
            return Err(bad());
        }
        Ok(Self {
            name: s.to_owned(),
            offset_seconds: sign * (h * 3600 + m * 60),
        })
    }

    /// The zone's name as configured.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's offset from UTC.
    pub fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.offset_seconds)
            .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"))
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset()).date_naive()
    }

    /// The last second of a local date, as an instant (23:59:59 local time).
    pub fn end_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("valid time"));
        self.offset()
            .from_local_datetime(&local)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

impl Default for TimeZoneSpec {
    fn default() -> Self {
        Self::jakarta()
    }
}

impl fmt::Display for TimeZoneSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl TryFrom<String> for TimeZoneSpec {
    type Error = CalendarError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TimeZoneSpec> for String {
    fn from(tz: TimeZoneSpec) -> Self {
        tz.name
    }
}
