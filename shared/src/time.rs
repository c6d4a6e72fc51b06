//! Timestamps in RFC 3339 UTC (`2025-04-10T14:15:00Z`) and calendar dates (`2025-04-30`),
//! as every API object shows them.
//!
//! Both parsers accept only what they can write back and read again: a value stored is
//! always a value the API can read (a date that the parser accepted but the store could not
//! map back would make every later read of its record fail).

/// Years a compliance record can name, in UTC: from 1970-01-01T00:00:00Z (the Unix epoch)
/// to the end of 2999. The store writes an instant as its epoch milliseconds in a
/// fixed-width sort key (`store::keys::millis_sort_key`), and a negative number would be
/// written `-0…`, which sorts before every lower bound: a completion before 1970 would
/// vanish from every range, sort and job that reads those keys. CIP evidence starts long
/// after 1970 anyway. A year needs exactly four digits to sort and round-trip as text.
/// Every timestamp and date the API reads, from a query, a body or the store, goes through
/// `Timestamp::from_text` / `Date::from_text`, so every field is held to this range.
pub const MIN_YEAR: i32 = 1970;
pub const MAX_YEAR: i32 = 2999;

/// What an accepted timestamp looks like, for the error that refuses one.
const TIMESTAMP_RANGE: &str =
    "an RFC 3339 timestamp like 2025-04-10T14:15:00Z, from 1970-01-01T00:00:00Z to 2999-12-31T23:59:59Z (UTC)";
/// What an accepted date looks like.
const DATE_RANGE: &str = "a date like 2025-04-30 (YYYY-MM-DD), from 1970-01-01 to 2999-12-31";

fn invalid_timestamp(field: &str) -> ApiError {
    ApiError::validation(field, format!("`{field}` must be {TIMESTAMP_RANGE}"))
}

use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The operating system's time; the crate reads it only through `Clock` (tests may
    /// read it directly).
    pub fn now() -> Self {
        // Stored at millisecond precision so a value read back equals the value written.
        let now = Utc::now();
        Timestamp(DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now))
    }

    pub(crate) fn system_now() -> Self {
        Self::now()
    }

    /// An instant from epoch milliseconds (a fixed clock's); out-of-range values clamp to
    /// the epoch.
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(DateTime::from_timestamp_millis(millis).unwrap_or(DateTime::UNIX_EPOCH))
    }

    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn plus_days(self, days: u32) -> Timestamp {
        Timestamp(self.0 + chrono::TimeDelta::days(i64::from(days)))
    }

    pub fn minus_days(self, days: u32) -> Timestamp {
        Timestamp(self.0 - chrono::TimeDelta::days(i64::from(days)))
    }

    /// The UTC calendar day.
    pub fn date(self) -> Date {
        Date(self.0.date_naive())
    }

    pub fn parse(field: &str, text: &str) -> Result<Self, ApiError> {
        Self::from_text(text).ok_or_else(|| invalid_timestamp(field))
    }

    /// RFC 3339 with an upper-case `T` and a four-digit year in range; any offset is turned
    /// into UTC first, so `1970-01-01T00:30:00+01:00` (before the epoch) is refused. A leap
    /// second (`:60`) is refused: it would not survive a round trip.
    fn from_text(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() >= 20
            && bytes[..4].iter().all(u8::is_ascii_digit)
            && bytes[4] == b'-'
            && bytes[10] == b'T'
            && text.is_ascii();
        if !shaped {
            return None;
        }
        let parsed = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
        let in_range = (MIN_YEAR..=MAX_YEAR).contains(&parsed.year()) && parsed.nanosecond() < 1_000_000_000;
        in_range.then_some(Timestamp(parsed))
    }
}

impl Timestamp {
    /// RFC 3339 in UTC with a `Z`, the fraction as chrono's `SecondsFormat::AutoSi` writes
    /// it (none, or 3, 6 or 9 digits), into `buffer`; answers the length. By hand: chrono's
    /// general formatter was most of the time spent serialising a page of records.
    fn write_rfc3339(&self, buffer: &mut [u8; 30]) -> usize {
        fn digits(buffer: &mut [u8], mut value: u32) {
            for slot in buffer.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        let time = &self.0;
        // The parser keeps years to 1970..=2999, so four digits always hold the year.
        digits(&mut buffer[0..4], time.year().unsigned_abs());
        buffer[4] = b'-';
        digits(&mut buffer[5..7], time.month());
        buffer[7] = b'-';
        digits(&mut buffer[8..10], time.day());
        buffer[10] = b'T';
        digits(&mut buffer[11..13], time.hour());
        buffer[13] = b':';
        digits(&mut buffer[14..16], time.minute());
        buffer[16] = b':';
        digits(&mut buffer[17..19], time.second());
        let nanos = time.nanosecond();
        let mut length = 19;
        let fraction = match nanos {
            0 => None,
            n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
            n if n % 1_000 == 0 => Some((n / 1_000, 6)),
            n => Some((n, 9)),
        };
        if let Some((value, width)) = fraction {
            buffer[19] = b'.';
            digits(&mut buffer[20..20 + width], value);
            length = 20 + width;
        }
        buffer[length] = b'Z';
        length + 1
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buffer = [0u8; 30];
        let length = self.write_rfc3339(&mut buffer);
        f.write_str(std::str::from_utf8(&buffer[..length]).map_err(|_| fmt::Error)?)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            utoipa::openapi::KnownFormat::DateTime,
            "An RFC 3339 timestamp from 1970-01-01T00:00:00Z to 2999-12-31T23:59:59Z; answers are in UTC with a `Z`.",
            "2025-04-10T14:15:00Z",
        )
    }
}

impl utoipa::ToSchema for Timestamp {}

fn string_schema(
    format: utoipa::openapi::KnownFormat,
    description: &str,
    example: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(format)))
        .description(Some(description))
        .examples([example])
        .into()
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::from_text(&text).ok_or_else(|| serde::de::Error::custom(format!("expected {TIMESTAMP_RANGE}")))
    }
}

/// A calendar date, `YYYY-MM-DD` (effective dates, due dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(chrono::NaiveDate);

impl Date {
    pub fn today() -> Self {
        Date(Utc::now().date_naive())
    }

    pub fn parse(field: &str, text: &str) -> Result<Self, ApiError> {
        Self::from_text(text).ok_or_else(|| ApiError::validation(field, format!("`{field}` must be {DATE_RANGE}")))
    }

    /// Exactly `YYYY-MM-DD` in ASCII digits, so `2025-4-1`, `+025-01-01`, `-001-01-01` or
    /// a timestamp is refused, not guessed.
    fn from_text(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10
            && bytes.iter().enumerate().all(|(index, byte)| match index {
                4 | 7 => *byte == b'-',
                _ => byte.is_ascii_digit(),
            });
        if !shaped {
            return None;
        }
        // The shape is checked: read the digits directly (chrono's format-string parser
        // was a visible share of reading a page of assignments).
        let number = |range: std::ops::Range<usize>| {
            bytes[range]
                .iter()
                .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'))
        };
        let year = i32::try_from(number(0..4)).ok()?;
        let date = chrono::NaiveDate::from_ymd_opt(year, number(5..7), number(8..10))?;
        (MIN_YEAR..=MAX_YEAR).contains(&date.year()).then_some(Date(date))
    }

    /// The day's first millisecond, UTC.
    pub fn first_instant(self) -> Timestamp {
        Timestamp::from_millis(self.0.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis())
    }

    /// The day's last millisecond, UTC.
    pub fn last_instant(self) -> Timestamp {
        Timestamp::from_millis(self.first_instant().millis() + 86_400_000 - 1)
    }

    pub fn previous_day(self) -> Option<Self> {
        self.0.pred_opt().map(Date)
    }

    /// `days` later; `None` past the last year a date can have.
    pub fn plus_days(self, days: u32) -> Option<Self> {
        self.0
            .checked_add_days(chrono::Days::new(u64::from(days)))
            .filter(|date| date.year() <= MAX_YEAR)
            .map(Date)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Years are 1970..=2999 (the parser's range), so always four digits.
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month(), self.0.day())
    }
}

impl utoipa::PartialSchema for Date {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            utoipa::openapi::KnownFormat::Date,
            "A calendar date, exactly `YYYY-MM-DD`, from 1970-01-01 to 2999-12-31.",
            "2025-04-30",
        )
    }
}

impl utoipa::ToSchema for Date {}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::from_text(&text).ok_or_else(|| serde::de::Error::custom(format!("expected {DATE_RANGE}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    #[test]
    fn dates_are_strict_yyyy_mm_dd() {
        assert_eq!(Date::parse("d", "2025-04-30").unwrap().to_string(), "2025-04-30");
        for bad in [
            "2025-4-30",
            "2025-02-30",
            "30/04/2025",
            "2025-04-30T00:00:00Z",
            "",
            "-001-01-01",
            "+025-01-01",
            " 025-01-01",
            "0025-01-01",
            "1899-12-31",
            "1969-12-31",
            "3000-01-01",
            "２０２５-01-01",
        ] {
            assert!(Date::parse("d", bad).is_err(), "{bad}");
        }
        assert_eq!(
            Date::parse("d", "2025-03-01")
                .unwrap()
                .previous_day()
                .unwrap()
                .to_string(),
            "2025-02-28"
        );
    }

    #[test]
    fn a_date_with_a_signed_year_is_refused() {
        for bad in ["-001-01-01", "+025-01-01", "-0001-01-01", "+2025-01-01"] {
            assert!(Date::parse("effectiveDate", bad).is_err(), "{bad}");
            assert!(serde_json::from_value::<Date>(serde_json::json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_strict_rfc_3339_in_range() {
        let parsed = Timestamp::parse("t", "2025-04-10T09:15:00-05:00").unwrap();
        assert_eq!(parsed.to_string(), "2025-04-10T14:15:00Z");
        for bad in [
            "2025-04-10 14:15:00Z",
            "2025-04-10t14:15:00Z",
            "2025-06-30T23:59:60Z",
            "+2025-04-10T14:15:00Z",
            "0025-04-10T14:15:00Z",
            "1900-01-01T00:00:00Z",
            "3000-01-01T00:00:00Z",
            "2025-04-10",
            "2025-04-10T14:15:00",
        ] {
            assert!(Timestamp::parse("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_last_second_before_1970_is_refused_and_the_epoch_is_accepted_and_round_trips() {
        let refused = Timestamp::parse("completedAt", "1969-12-31T23:59:59Z").unwrap_err();
        assert!(
            matches!(&refused, ApiError::Validation { field, message } if field == "completedAt" && message.contains("1970-01-01T00:00:00Z")),
            "{refused:?}"
        );
        // The same instant written with an offset is refused as well: the bound is on the instant.
        for before_the_epoch in ["1969-12-31T23:59:59.999Z", "1970-01-01T00:30:00+01:00"] {
            assert!(Timestamp::parse("t", before_the_epoch).is_err(), "{before_the_epoch}");
            assert!(serde_json::from_value::<Timestamp>(serde_json::json!(before_the_epoch)).is_err());
        }

        let epoch = Timestamp::parse("completedAt", "1970-01-01T00:00:00Z").unwrap();
        assert_eq!(epoch.millis(), 0);
        assert_eq!(epoch.to_string(), "1970-01-01T00:00:00Z");
        let stored = serde_json::to_value(epoch).unwrap();
        assert_eq!(serde_json::from_value::<Timestamp>(stored).unwrap(), epoch);
        assert_eq!(Timestamp::parse("t", "1969-12-31T19:00:00-05:00").unwrap(), epoch);

        let last = Timestamp::parse("t", "2999-12-31T23:59:59.999Z").unwrap();
        assert_eq!(
            serde_json::from_value::<Timestamp>(serde_json::to_value(last).unwrap()).unwrap(),
            last
        );
    }

    #[test]
    fn the_day_before_1970_is_refused_and_the_first_day_of_1970_is_accepted_and_round_trips() {
        let refused = Date::parse("dueDate", "1969-12-31").unwrap_err();
        assert!(
            matches!(&refused, ApiError::Validation { field, message } if field == "dueDate" && message.contains("1970-01-01")),
            "{refused:?}"
        );
        assert!(serde_json::from_value::<Date>(serde_json::json!("1969-12-31")).is_err());
        let first = Date::parse("dueDate", "1970-01-01").unwrap();
        assert_eq!(first.to_string(), "1970-01-01");
        assert_eq!(
            serde_json::from_value::<Date>(serde_json::to_value(first).unwrap()).unwrap(),
            first
        );
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever the date parser accepts, it writes back as the same text and reads again.
        #[test]
        fn every_accepted_date_round_trips(text in "\\PC{0,12}|[-+ 0-9]{0,3}[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}") {
            if let Ok(date) = Date::parse("d", &text) {
                prop_assert_eq!(date.to_string(), text.clone());
                let stored = serde_json::to_value(date).unwrap();
                prop_assert_eq!(serde_json::from_value::<Date>(stored).unwrap(), date);
            }
        }

        /// The digit reader accepts exactly what chrono's `%Y-%m-%d` accepts in range.
        #[test]
        fn dates_are_read_as_chrono_reads_them(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}") {
            let chrono = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .ok()
                .filter(|date| (MIN_YEAR..=MAX_YEAR).contains(&date.year()));
            prop_assert_eq!(Date::parse("d", &text).ok().map(|date| date.0), chrono);
        }

        #[test]
        fn every_valid_calendar_date_in_range_is_accepted(year in MIN_YEAR..=MAX_YEAR, ordinal in 1u32..=366) {
            if let Some(naive) = chrono::NaiveDate::from_yo_opt(year, ordinal) {
                let text = naive.format("%Y-%m-%d").to_string();
                prop_assert_eq!(Date::parse("d", &text).unwrap().to_string(), text);
            }
        }

        /// The hand-written format is chrono's RFC 3339 (`AutoSi`, `Z`) for every instant
        /// the parser can hold, whatever its fraction.
        #[test]
        fn timestamps_format_as_chrono_does(
            seconds in 0i64..32_503_680_000i64,
            nanos in prop_oneof![Just(0u32), (0u32..1000).prop_map(|m| m * 1_000_000), (0u32..1_000_000).prop_map(|u| u * 1000), 0u32..1_000_000_000],
        ) {
            let instant = DateTime::from_timestamp(seconds, nanos).unwrap();
            let expected = instant.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            prop_assert_eq!(Timestamp(instant).to_string(), expected);
        }

        /// Whatever the timestamp parser accepts reads back equal after a trip through its
        /// stored text.
        #[test]
        fn every_accepted_timestamp_round_trips(
            text in "\\PC{0,30}|[-+0-9]{0,2}[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|z|[-+][0-9]{2}:[0-9]{2})"
        ) {
            if let Ok(timestamp) = Timestamp::parse("t", &text) {
                let stored = serde_json::to_value(timestamp).unwrap();
                let read_back: Timestamp = serde_json::from_value(stored).unwrap();
                prop_assert_eq!(read_back, timestamp);
            }
        }
    }
}
