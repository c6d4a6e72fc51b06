//! Validation of client-supplied values at the edge, each error naming its field.

use crate::error::{ApiError, ApiResult};

/// RFC 5321 caps an address at 254 characters.
pub const MAX_EMAIL_LENGTH: usize = 254;

/// A required, trimmed, non-empty string of at most `max` characters without control
/// characters.
pub fn required_text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::validation(field, format!("`{field}` must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            format!("`{field}` must not contain control characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// An optional text field: `None` stays `None`, a present value follows `required_text`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    value.map(|value| required_text(field, value, max)).transpose()
}

/// A syntactically valid email address, trimmed; uniqueness compares it lowercased.
pub fn email(field: &str, value: &str) -> ApiResult<String> {
    let trimmed = value.trim();
    let invalid = || ApiError::validation(field, format!("`{field}` must be a valid email address"));
    if trimmed.len() > MAX_EMAIL_LENGTH {
        return Err(ApiError::validation(
            field,
            format!("`{field}` must be at most {MAX_EMAIL_LENGTH} characters"),
        ));
    }
    let parsed: email_address::EmailAddress = trimmed.parse().map_err(|_| invalid())?;
    // Quoted local parts and IP-literal domains are legal but never a utility's staff mail.
    if trimmed.contains(['"', '[', ' ']) || !parsed.domain().contains('.') {
        return Err(invalid());
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_checked() {
        assert_eq!(
            email("email", "  Jane.Doe@Utility.example ").unwrap(),
            "Jane.Doe@Utility.example"
        );
        for bad in [
            "",
            "jane",
            "jane@",
            "@utility.example",
            "jane@localhost",
            "ja ne@utility.example",
            "\"j\"@utility.example",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
        let long = format!("{}@utility.example", "a".repeat(250));
        assert!(email("email", &long).is_err());
    }

    #[test]
    fn text_must_be_present_short_and_printable() {
        assert_eq!(required_text("displayName", "  Jane  ", 10).unwrap(), "Jane");
        assert!(required_text("displayName", "   ", 10).is_err());
        assert!(required_text("displayName", "abcdefghijk", 10).is_err());
        assert!(required_text("displayName", "a\u{0}b", 10).is_err());
    }
}
