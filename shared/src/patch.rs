//! JSON field semantics for request bodies: which fields may be `null` and what it means.
//!
//! serde maps both an absent field and `null` to `None`, which would let
//! `{"email": null}` silently do nothing. So every optional field says which kind it is:
//! - `#[serde(default, deserialize_with = "patch::clearable")]` on `Option<Option<T>>`:
//!   absent = leave as is, `null` = clear, a value = set;
//! - `#[serde(default, deserialize_with = "patch::not_null")]` on `Option<T>`: absent =
//!   leave as is (or the default), `null` is refused with a 400 naming the field;
//! - a plain `Option<T>` only where `null` and absent really mean the same ("none").

use serde::{Deserialize, Deserializer};

/// For fields that may be cleared: absent = `None`, `null` = `Some(None)`.
pub fn clearable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// For optional fields that cannot be cleared: `null` is an error, not "no change".
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom(NULL_REFUSED)),
    }
}

/// What `not_null` fails with; `http::json_body` names the field in front of it.
pub const NULL_REFUSED: &str = "must not be null; leave the field out to keep its value";
