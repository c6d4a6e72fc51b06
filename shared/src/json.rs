//! JSON request bodies into typed inputs, every error a 400 naming the offending field.

use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::patch;

/// Parses a whole body; content after the JSON value is refused.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        to_validation_error(&path, &error.inner().to_string())
    })?;
    deserializer
        .end()
        .map_err(|_| ApiError::validation("body", "unexpected content after the JSON value"))?;
    Ok(value)
}

/// Parses part of a body (a batch item) that is already JSON.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        to_validation_error(&path, &error.inner().to_string())
    })
}

fn to_validation_error(path: &str, message: &str) -> ApiError {
    let message = clean_message(message);
    let field = field_of(path, &message);
    if message == patch::NULL_REFUSED {
        return ApiError::validation(&field, format!("`{field}` {message}"));
    }
    ApiError::validation(field, message)
}

/// serde_path_to_error's path ends at an unknown field, but at the parent of a missing
/// one; the missing field's name is in the message.
fn field_of(path: &str, message: &str) -> String {
    if let Some(name) = message
        .split("missing field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
    {
        return if path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
    }
    if path == "." {
        "body".to_string()
    } else {
        path.to_string()
    }
}

/// Drops serde_json's " at line 1 column 9" suffix, which means nothing to an API client.
fn clean_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_fields_come_from_the_path_or_the_message() {
        assert_eq!(
            field_of("emial", "unknown field `emial`, expected one of `email`"),
            "emial"
        );
        assert_eq!(field_of(".", "missing field `email`"), "email");
        assert_eq!(field_of("roles[0]", "invalid value"), "roles[0]");
        assert_eq!(field_of(".", "invalid type: string, expected a map"), "body");
        assert_eq!(
            clean_message("missing field `email` at line 1 column 2"),
            "missing field `email`"
        );
    }
}
