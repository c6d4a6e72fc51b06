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

    pub fn from_datetime(value: DateTime<Utc>) -> Self {
        Timestamp(value)
    }

    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
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
