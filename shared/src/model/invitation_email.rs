//! The invitation email, in plain text and HTML. askama escapes every value in the HTML
//! template, so a name like `<script>` or `"quoted"` is text, never markup.
//!
//! The subject names the organization only, whose name the operator set at bootstrap. It
//! never carries a name a member chose: the subject is the line a recipient trusts most,
//! and coming from our sender, `IT Helpdesk: reset at … invited you` would read as ours.
//! The inviter is named in the body, as the sentence of a person, and a display name holds
//! no link (`validation::display_name`). Names cannot hold CR or LF, and SES's structured
//! `SendEmail` takes the subject as a field, not as raw header text.

use askama::Template;

use crate::time::Timestamp;

pub struct InvitationEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(
    ext = "txt",
    source = "Hello{% if let Some(name) = invitee %} {{ name }}{% endif %},

{{ inviter }} has invited you to join {{ organization }} on Raptor Comply, the NERC CIP
personnel-compliance platform.

Accept the invitation: {{ link }}

The link works until {{ expires_at }} and only once. If you did not expect this email, you
can ignore it.
"
)]
struct TextBody<'a> {
    invitee: Option<&'a str>,
    inviter: &'a str,
    organization: &'a str,
    link: &'a str,
    expires_at: String,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<p>Hello{% if let Some(name) = invitee %} {{ name }}{% endif %},</p>
<p><strong>{{ inviter }}</strong> has invited you to join <strong>{{ organization }}</strong> on Raptor Comply, the NERC CIP personnel-compliance platform.</p>
<p><a href="{{ link }}">Accept the invitation</a></p>
<p>The link works until {{ expires_at }} and only once. If you did not expect this email, you can ignore it.</p>
</body></html>
"#
)]
struct HtmlBody<'a> {
    invitee: Option<&'a str>,
    inviter: &'a str,
    organization: &'a str,
    link: &'a str,
    expires_at: String,
}

/// `You're invited to join <organization> on Raptor Comply`: no inviter's text.
fn subject(organization: &str) -> String {
    format!("You're invited to join {organization} on Raptor Comply")
}

/// The message for one invitation; `accept_url` is the configured page that takes the
/// token as its `token` query parameter.
pub fn render(
    invitee: Option<&str>,
    inviter: &str,
    organization: &str,
    accept_url: &str,
    token: &str,
    expires_at: Timestamp,
) -> Result<InvitationEmail, askama::Error> {
    let separator = if accept_url.contains('?') { '&' } else { '?' };
    // Tokens are base64url and `_`: nothing to percent-encode.
    let link = format!("{accept_url}{separator}token={token}");
    let expires_at = expires_at.to_string();
    let text = TextBody {
        invitee,
        inviter,
        organization,
        link: &link,
        expires_at: expires_at.clone(),
    }
    .render()?;
    let html = HtmlBody {
        invitee,
        inviter,
        organization,
        link: &link,
        expires_at,
    }
    .render()?;
    Ok(InvitationEmail {
        subject: subject(organization),
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html_and_the_link_carries_the_token() {
        let email = render(
            Some("<script>alert(1)</script>"),
            "Ada \"the admin\" & co",
            "Utility <Ops>",
            "https://app.raptorcomply.example/accept",
            "rci_abc_def",
            Timestamp::parse("t", "2025-04-17T12:00:00Z").unwrap(),
        )
        .unwrap();
        assert!(!email.html.contains("<script>"));
        assert!(
            email.html.contains("Hello &#60;script&#62;alert(1)&#60;/script&#62;,"),
            "{}",
            email.html
        );
        assert!(email.html.contains("Utility &#60;Ops&#62;"));
        assert!(email.html.contains("Ada &#34;the admin&#34; &#38; co"));
        assert!(!email.html.contains("\"the admin\""), "{}", email.html);
        assert!(
            email
                .html
                .contains("https://app.raptorcomply.example/accept?token=rci_abc_def")
        );
        assert!(
            email
                .text
                .contains("https://app.raptorcomply.example/accept?token=rci_abc_def")
        );
        // The text part is not HTML: no entities there.
        assert!(email.text.contains("Hello <script>alert(1)</script>,"));
        assert!(!email.subject.contains('\n'));
    }

    #[test]
    fn the_subject_names_the_organization_and_never_the_inviter() {
        let email = render(
            Some("Grace Hopper"),
            "IT Helpdesk: reset your password now",
            "Northwind Utility",
            "https://app.raptorcomply.example/accept",
            "rci_abc_def",
            Timestamp::parse("t", "2025-04-17T12:00:00Z").unwrap(),
        )
        .unwrap();
        assert_eq!(
            email.subject,
            "You're invited to join Northwind Utility on Raptor Comply"
        );
        assert!(!email.subject.contains("Helpdesk"));
        assert!(!email.subject.contains("Grace"));
        // The inviter is still named in the body, as who sent the invitation.
        assert!(
            email
                .text
                .contains("IT Helpdesk: reset your password now has invited you to join Northwind Utility")
        );
        assert!(
            email
                .html
                .contains("<strong>IT Helpdesk: reset your password now</strong> has invited you")
        );
    }
}
