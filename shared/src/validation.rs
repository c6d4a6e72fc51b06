//! Validation of client-supplied values at the edge, each error naming its field.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::{ApiError, ApiResult};

/// RFC 5321 caps an address at 254 characters.
pub const MAX_EMAIL_LENGTH: usize = 254;

/// Invisible format characters (Unicode category Cf): bidi overrides such as U+202E let a
/// name display as something else in a listing or the audit trail. The zero-width joiner
/// and non-joiner stay allowed, because Persian and Indic names need them.
fn is_hidden_format_character(c: char) -> bool {
    c.general_category() == GeneralCategory::Format && !matches!(c, '\u{200C}' | '\u{200D}')
}

/// A required, trimmed, non-empty string of at most `max` characters without control or
/// invisible format characters.
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
    if trimmed.chars().any(is_hidden_format_character) {
        return Err(ApiError::validation(
            field,
            format!("`{field}` must not contain invisible formatting characters such as bidi overrides"),
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

    #[test]
    fn bidi_overrides_and_other_invisible_format_characters_are_refused() {
        for bad in [
            "a\u{202e}b",
            "\u{2066}x",
            "zero\u{200b}width",
            "soft\u{ad}hyphen",
            "\u{feff}bom",
        ] {
            assert!(required_text("displayName", bad, 100).is_err(), "{bad:?}");
        }
        // Joiners that real scripts need are kept.
        assert_eq!(
            required_text("displayName", "می\u{200c}خواهم", 100).unwrap(),
            "می\u{200c}خواهم"
        );
    }

    use proptest::prelude::*;

    proptest! {
        /// What the text validator accepts is already in its final form: validating it again
        /// gives the same text, so a stored name reads back exactly as it was accepted.
        #[test]
        fn accepted_text_is_stable(text in "\\PC{0,40}|[ \\t\u{202e}\u{200b}a-z]{0,10}") {
            if let Ok(accepted) = required_text("name", &text, 30) {
                prop_assert_eq!(required_text("name", &accepted, 30).unwrap(), accepted.clone());
                prop_assert!(accepted.chars().count() <= 30);
                prop_assert!(!accepted.chars().any(|c| c.is_control() || is_hidden_format_character(c)));
            }
        }

        #[test]
        fn accepted_emails_are_stable(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}", pad in " {0,2}") {
            let text = format!("{pad}{local}@{domain}{pad}");
            if let Ok(accepted) = email("email", &text) {
                prop_assert_eq!(email("email", &accepted).unwrap(), accepted);
            }
        }
    }
}
