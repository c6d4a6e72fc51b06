//! JSON field semantics for request bodies: which fields may be `null` and what it means.

use serde::{Deserialize, Deserializer};

/// For fields that may be cleared: absent = `None`, `null` = `Some(None)`.
pub fn clearable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
