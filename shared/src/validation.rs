//! Validation of client-supplied values at the edge, each error naming its field.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

/// RFC 5321 caps an address at 254 characters.
pub const MAX_EMAIL_LENGTH: usize = 254;

/// Invisible format characters (Unicode category Cf): bidi overrides such as U+202E let a
/// name display as something else in a listing or the audit trail. The zero-width joiner
/// and non-joiner stay allowed, because Persian and Indic names need them.
fn is_hidden_format_character(c: char) -> bool {
    c.general_category() == GeneralCategory::Format && !matches!(c, '\u{200C}' | '\u{200D}')
}

/// A one-line text (a name, a title, a role or facility name, a module title): trimmed,
/// non-empty, at most `max` characters, without any control character (no line break, no
/// tab), line or paragraph separator, or invisible format character. It is shown on one
/// line (a listing, an email greeting, a log line), where a line break could pass for a
/// line of its own.
pub fn one_line_text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let trimmed = present_and_short(field, value, max)?;
    if trimmed.chars().any(breaks_one_line) {
        return Err(ApiError::validation(
            field,
            format!("`{field}` must be one line, without control characters (line breaks, tabs)"),
        ));
    }
    no_hidden_format_characters(field, trimmed)?;
    Ok(trimmed.to_string())
}

/// A control character (LF, CR, tab, NUL, ESC, NEL, …) or a Unicode line or paragraph
/// separator.
fn breaks_one_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// An optional one-line text: `None` stays `None`, a present value follows `one_line_text`.
pub fn optional_one_line_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    value.map(|value| one_line_text(field, value, max)).transpose()
}

/// A free text (a description, notes, a reason): trimmed at both ends, non-empty, at most
/// `max` characters, and otherwise kept exactly as sent. It may span lines: line feeds,
/// CR LF pairs and tabs are kept; every other control character (a lone CR, NUL, ESC,
/// NEL, …) and every invisible format character is refused, as in a one-line text.
pub fn free_text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let trimmed = present_and_short(field, value, max)?;
    if has_control_outside_line_breaks_and_tabs(trimmed) {
        return Err(ApiError::validation(
            field,
            format!("`{field}` must not contain control characters other than line breaks (LF or CR LF) and tabs"),
        ));
    }
    no_hidden_format_characters(field, trimmed)?;
    Ok(trimmed.to_string())
}

/// An optional free text: `None` stays `None`, a present value follows `free_text`.
pub fn optional_free_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    value.map(|value| free_text(field, value, max)).transpose()
}

/// The value without the whitespace at its ends, refused when that leaves nothing or more
/// than `max` characters.
fn present_and_short<'a>(field: &str, value: &'a str, max: usize) -> ApiResult<&'a str> {
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
    Ok(trimmed)
}

/// A CR is a line break only as the first half of CR LF: alone it rewrites a terminal line
/// and starts a new row in some CSV readers.
fn has_control_outside_line_breaks_and_tabs(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => {}
            '\r' if chars.peek() == Some(&'\n') => {}
            c if c.is_control() => return true,
            _ => {}
        }
    }
    false
}

fn no_hidden_format_characters(field: &str, text: &str) -> ApiResult<()> {
    if text.chars().any(is_hidden_format_character) {
        return Err(ApiError::validation(
            field,
            format!("`{field}` must not contain invisible formatting characters such as bidi overrides"),
        ));
    }
    Ok(())
}

/// The longest display name (a person's name as others see it).
pub const MAX_DISPLAY_NAME_LENGTH: usize = 200;

/// A person's display name, on every door that sets one (a user's create and update, an
/// invitation, its accept, bootstrap's admin, SCIM): a one-line text that holds no link.
/// Others read the name in listings and in the invitation email our trusted sender sends,
/// so `IT Helpdesk: reset at https://evil.example/login` must not be a name. A link is a
/// scheme (`://`, whatever comes before it) or `www.`, in any case.
pub fn display_name(field: &str, value: &str) -> ApiResult<String> {
    let name = one_line_text(field, value, MAX_DISPLAY_NAME_LENGTH)?;
    if name.contains("://") || name.to_ascii_lowercase().contains("www.") {
        return Err(ApiError::validation(
            field,
            format!("`{field}` must not contain a link (`://` or `www.`): it is shown to other people"),
        ));
    }
    Ok(name)
}

/// An optional display name: `None` stays `None`, a present value follows `display_name`.
pub fn optional_display_name(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value.map(|value| display_name(field, value)).transpose()
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

/// An email address parsed once at the edge (`Email::parse`, the rules of `email`):
/// commands and records hold an `Email`, never a raw string. Stored as its text; read back
/// as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> ApiResult<Email> {
        email(field, value).map(Email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What uniqueness compares: addresses differ only in case are one mailbox to us.
    pub fn lowercase(&self) -> String {
        self.0.to_lowercase()
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name parsed once at the edge (`DisplayName::parse`, the rules of
/// `display_name`: one line, no link).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &str, value: &str) -> ApiResult<DisplayName> {
        display_name(field, value).map(DisplayName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DisplayName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
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
        for validate in [one_line_text, free_text] {
            assert_eq!(validate("name", "  Jane  ", 10).unwrap(), "Jane");
            assert!(validate("name", "   ", 10).is_err());
            assert!(validate("name", " \n\t ", 10).is_err());
            assert!(validate("name", "abcdefghijk", 10).is_err());
            assert!(validate("name", "a\u{0}b", 10).is_err());
        }
    }

    #[test]
    fn a_one_line_text_refuses_line_breaks_and_tabs() {
        for bad in [
            "two\nlines",
            "two\r\nlines",
            "tab\there",
            "cr\ronly",
            "nel\u{85}x",
            "line\u{2028}sep",
            "para\u{2029}sep",
        ] {
            let error = one_line_text("displayName", bad, 100).unwrap_err();
            assert_eq!(error.body().error.field.as_deref(), Some("displayName"), "{bad:?}");
        }
    }

    #[test]
    fn a_free_text_keeps_line_breaks_and_tabs_and_refuses_other_control_characters() {
        let note = "Line one:\tsee ticket 42\nLine two\r\n\r\n\tindented line three";
        assert_eq!(free_text("notes", note, 500).unwrap(), note);
        // Only the ends are trimmed; blank lines and indentation inside are kept.
        assert_eq!(
            free_text("notes", "\n  first\n\n  second\t\r\n", 500).unwrap(),
            "first\n\n  second"
        );
        for bad in [
            "a\rb",
            "a\r\rb",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "nul\u{0}",
            "nel\u{85}x",
            "del\u{7f}",
        ] {
            let error = free_text("notes", bad, 500).unwrap_err();
            assert_eq!(error.body().error.field.as_deref(), Some("notes"), "{bad:?}");
        }
    }

    #[test]
    fn bidi_overrides_and_other_invisible_format_characters_are_refused() {
        for bad in [
            "a\u{202e}b",
            "\u{2066}x",
            "zero\u{200b}width",
            "soft\u{ad}hyphen",
            "\u{feff}bom",
            "line one\n\u{202e}line two",
        ] {
            assert!(one_line_text("displayName", bad, 100).is_err(), "{bad:?}");
            assert!(free_text("notes", bad, 100).is_err(), "{bad:?}");
        }
        // Joiners that real scripts need are kept.
        for validate in [one_line_text, free_text] {
            assert_eq!(validate("name", "می\u{200c}خواهم", 100).unwrap(), "می\u{200c}خواهم");
        }
    }

    #[test]
    fn a_display_name_holds_no_link() {
        for link in [
            "IT Helpdesk: reset at https://evil.example/login",
            "HTTPS://EVIL.EXAMPLE",
            "Ada hxxp://evil.example",
            "ftp://files.example",
            "javascript://x",
            "www.evil.example",
            "Visit WWW.Evil.Example",
            "Ada (Www.evil.example)",
        ] {
            let error = display_name("displayName", link).unwrap_err();
            let body = error.body().error;
            assert_eq!(body.field.as_deref(), Some("displayName"), "{link:?}");
            assert!(
                body.message.contains("must not contain a link"),
                "{link:?}: {}",
                body.message
            );
        }
        for name in [
            "Dr. Ada Lovelace",
            "O'Brien",
            "José García-Núñez",
            "Grace Hopper, Jr.",
            "Jean-Luc Picard (Ops)",
            "Ng Wei: control room",
            "李小龍",
            "می\u{200c}خواهم",
        ] {
            assert_eq!(display_name("displayName", name).unwrap(), name);
        }
        // The one-line rules hold too.
        assert!(display_name("displayName", "Ada\nLovelace").is_err());
        assert!(display_name("displayName", &"n".repeat(201)).is_err());
        assert_eq!(display_name("displayName", &"n".repeat(200)).unwrap().len(), 200);
        assert_eq!(optional_display_name("displayName", None).unwrap(), None);
        assert!(optional_display_name("displayName", Some("www.x.example")).is_err());
    }

    use proptest::prelude::*;

    /// Text with the characters the validators decide about: line breaks, tabs, other
    /// controls, separators, bidi and zero-width characters, and spaces at the ends.
    const TRICKY_TEXT: &str =
        "\\PC{0,40}|[ \t\r\n\u{0}\u{7}\u{1b}\u{7f}\u{85}\u{2028}\u{202e}\u{200b}\u{200c}a-zé]{0,20}";

    proptest! {
        /// What a validator accepts is already in its final form: validating it again
        /// gives the same text, so a stored value reads back exactly as it was accepted.
        #[test]
        fn accepted_text_is_stable(text in TRICKY_TEXT) {
            for validate in [one_line_text, free_text] {
                if let Ok(accepted) = validate("name", &text, 30) {
                    prop_assert_eq!(validate("name", &accepted, 30).unwrap(), accepted.clone());
                    prop_assert!(accepted.chars().count() <= 30);
                    prop_assert!(!accepted.chars().any(is_hidden_format_character));
                }
            }
        }

        /// A free text comes back as sent apart from the whitespace at its ends, and holds
        /// no control character but LF, tab and the CR of a CR LF.
        #[test]
        fn accepted_free_text_is_the_text_sent_without_its_ends(text in TRICKY_TEXT) {
            if let Ok(accepted) = free_text("notes", &text, 60) {
                prop_assert_eq!(accepted.as_str(), text.trim());
                let chars: Vec<char> = accepted.chars().collect();
                for (index, c) in chars.iter().enumerate() {
                    let allowed = match c {
                        '\n' | '\t' => true,
                        '\r' => chars.get(index + 1) == Some(&'\n'),
                        c => !c.is_control(),
                    };
                    prop_assert!(allowed, "{:?} at {} in {:?}", c, index, accepted);
                }
            }
        }

        /// A multi-line text of ordinary lines is always accepted whole.
        #[test]
        fn lines_joined_by_line_breaks_are_accepted_whole(
            lines in proptest::collection::vec("[a-zA-Z0-9 ,.;:'\"()=+@-]{0,20}", 1..5),
            crlf in proptest::bool::ANY,
        ) {
            let text = lines.join(if crlf { "\r\n" } else { "\n" });
            match free_text("notes", &text, 200) {
                Ok(accepted) => prop_assert_eq!(accepted.as_str(), text.trim()),
                Err(_) => prop_assert!(text.trim().is_empty()),
            }
        }

        /// A one-line text never holds a control character, whatever was sent.
        #[test]
        fn one_line_text_never_accepts_a_control_character(text in TRICKY_TEXT) {
            if let Ok(accepted) = one_line_text("name", &text, 60) {
                prop_assert_eq!(accepted.as_str(), text.trim());
                prop_assert!(!accepted.chars().any(breaks_one_line));
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
