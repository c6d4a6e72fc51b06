//! Timestamps in RFC 3339 UTC (`2025-04-10T14:15:00Z`), as every API object shows them.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        // Stored at millisecond precision so a value read back equals the value written.
        let now = Utc::now();
        Timestamp(DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now))
    }

    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn parse(field: &str, text: &str) -> Result<Self, ApiError> {
        DateTime::parse_from_rfc3339(text)
            .map(|value| Timestamp(value.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::validation(
                    field,
                    format!("`{field}` must be an RFC 3339 timestamp like 2025-04-10T14:15:00Z"),
                )
            })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|value| Timestamp(value.with_timezone(&Utc)))
            .map_err(|_| serde::de::Error::custom("expected an RFC 3339 timestamp like 2025-04-10T14:15:00Z"))
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
        Self::from_text(text)
            .ok_or_else(|| ApiError::validation(field, format!("`{field}` must be a date like 2025-04-30")))
    }

    fn from_text(text: &str) -> Option<Self> {
        // Strict: exactly YYYY-MM-DD, so `2025-4-1` or a timestamp is refused, not guessed.
        if text.len() != 10 {
            return None;
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Date)
    }

    pub fn previous_day(self) -> Option<Self> {
        self.0.pred_opt().map(Date)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::from_text(&text).ok_or_else(|| serde::de::Error::custom("expected a date like 2025-04-30"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_yyyy_mm_dd() {
        assert_eq!(Date::parse("d", "2025-04-30").unwrap().to_string(), "2025-04-30");
        for bad in ["2025-4-30", "2025-02-30", "30/04/2025", "2025-04-30T00:00:00Z", ""] {
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
}
