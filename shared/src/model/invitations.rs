//! Invitations: an email, the roles the person will get, and a link whose token lets them
//! create their membership. The token (`rci_<invitation ulid>_<secret>`) is stored only
//! as a hash; resending rotates it.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{InvitationId, OrgId, UserId};
use crate::model::roles::RoleRef;
use crate::model::secret_tokens::{self, IssuedToken, SecretString};
use crate::time::Timestamp;
use crate::validation::{DisplayName, Email};

const TOKEN_PREFIX: &str = "rci_";
pub const DEFAULT_EXPIRES_IN_DAYS: u32 = 7;
pub const MAX_EXPIRES_IN_DAYS: u32 = 30;
/// Seed 002's bulk invite; also what one request may send through SES.
pub const MAX_BATCH: usize = 100;
/// Invitation emails an organization may send per UTC day (OWASP API4/API6), unless
/// configured otherwise.
pub const DEFAULT_DAILY_EMAIL_CAP: u64 = 500;
/// How fast a batch sends, unless configured otherwise: SES's sending rate on a new
/// production account. Sending faster than the account's rate is refused by SES.
pub const DEFAULT_EMAILS_PER_SECOND: u32 = 14;

/// When the `position`-th email of a batch (from 0) may go out, from the batch's start,
/// so that a batch never sends faster than `emails_per_second`.
pub fn send_offset(position: u32, emails_per_second: u32) -> std::time::Duration {
    std::time::Duration::from_millis(u64::from(position) * 1000 / u64::from(emails_per_second.max(1)))
}

/// As stored: `pending`, `accepted` or `cancelled`. `expired` is never stored: a pending
/// invitation past `expiresAt` reads as expired, with no job having run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Cancelled,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Cancelled => "cancelled",
            InvitationStatus::Expired => "expired",
        }
    }

    pub fn parse(field: &str, text: &str) -> ApiResult<InvitationStatus> {
        [
            InvitationStatus::Pending,
            InvitationStatus::Accepted,
            InvitationStatus::Cancelled,
            InvitationStatus::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| {
            ApiError::validation(
                field,
                format!("`{field}` must be pending, accepted, cancelled or expired"),
            )
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub id: InvitationId,
    pub organization_id: OrgId,
    pub organization_name: String,
    pub email: Email,
    pub display_name: Option<DisplayName>,
    pub roles: Vec<RoleRef>,
    /// Where an onboarding screen sends the person to sign in (`okta`, `entra`, …).
    pub identity_provider: Option<String>,
    /// `pending`, `accepted` or `cancelled` (see `InvitationStatus`).
    pub status: InvitationStatus,
    pub token_hash: String,
    pub expires_in_days: u32,
    pub expires_at: Timestamp,
    pub invited_by: UserId,
    pub invited_by_name: String,
    /// False when the client asked for the token instead of an email.
    pub email_sent: bool,
    pub send_count: u32,
    pub last_sent_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub accepted_user_id: Option<UserId>,
    pub cancelled_at: Option<Timestamp>,
    pub cancelled_by: Option<UserId>,
    pub version: u64,
}

impl Invitation {
    /// The status a reader sees at `now`: a pending invitation past its expiry is expired.
    pub fn status_at(&self, now: Timestamp) -> InvitationStatus {
        match self.status {
            InvitationStatus::Pending if now >= self.expires_at => InvitationStatus::Expired,
            status => status,
        }
    }

    /// The token's secret matches and the invitation can still be accepted.
    pub fn admits(&self, secret: &str, now: Timestamp) -> bool {
        // Hash first, whatever the status, so timing says nothing about the invitation.
        let matches = secret_tokens::matches(secret, &self.token_hash);
        matches && self.status_at(now) == InvitationStatus::Pending
    }

    /// Whether the current token went only to the invitee's mailbox, so that presenting it
    /// proves control of the mailbox. A token is returned in a response only on creation
    /// with `"sendEmail": false` (then no email is sent); a resend always mails a new token
    /// and returns none.
    pub fn token_reached_only_the_mailbox(&self) -> bool {
        self.email_sent
    }

    /// A new token and expiry (create and resend); the old token stops working.
    pub fn rotate_token(&mut self, now: Timestamp) -> ApiResult<SecretString> {
        let issued = issue_token(&self.id)?;
        self.token_hash = issued.hash;
        self.expires_at = now.plus_days(self.expires_in_days);
        Ok(issued.token)
    }
}

fn issue_token(id: &InvitationId) -> ApiResult<IssuedToken> {
    secret_tokens::issue(TOKEN_PREFIX, id.as_str().trim_start_matches(InvitationId::PREFIX))
}

/// The invitation a token names, and its secret; `None` for anything not shaped like one
/// of our tokens (checked before any lookup).
pub fn parse_token(token: &str) -> Option<(InvitationId, &str)> {
    let (ulid, secret) = secret_tokens::split(TOKEN_PREFIX, token)?;
    let id = InvitationId::parse("token", &format!("{}{ulid}", InvitationId::PREFIX)).ok()?;
    Some((id, secret))
}

/// The one answer for every token that cannot be used (unknown, expired, cancelled, used,
/// replaced by a resend): nothing tells them apart.
pub fn invalid_token() -> ApiError {
    ApiError::NotFound {
        resource: "valid invitation for this token (it may have expired, been used, cancelled or resent)",
    }
}

/// What to invite: the input of the commands that create invitations, parsed once at the
/// door.
#[derive(Debug, Clone)]
pub struct InvitationTerms {
    pub email: Email,
    pub display_name: Option<DisplayName>,
    pub roles: Vec<RoleRef>,
    pub expires_in_days: u32,
    pub identity_provider: Option<String>,
    pub send_email: bool,
}

/// How many days an invitation's link works: `DEFAULT_EXPIRES_IN_DAYS` unless given, from
/// 1 to `MAX_EXPIRES_IN_DAYS`.
pub fn expires_in_days(field: &str, days: Option<u32>) -> ApiResult<u32> {
    let days = days.unwrap_or(DEFAULT_EXPIRES_IN_DAYS);
    if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(ApiError::validation(
            field,
            format!("`{field}` must be from 1 to {MAX_EXPIRES_IN_DAYS}"),
        ))
    }
}

/// A short slug (`okta`, `entra`, `azure-ad`): it is shown to an onboarding screen, and
/// never used to build a URL here.
pub fn identity_provider(field: &str, text: &str) -> ApiResult<String> {
    let valid = !text.is_empty()
        && text.len() <= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(text.to_string())
    } else {
        Err(ApiError::validation(
            field,
            format!("`{field}` must be a short lowercase name like okta or entra (a-z, 0-9, - _ .)"),
        ))
    }
}

/// An invitation as a create command made it. The token is here only when no email
/// carried it (`sendEmail: false`, for a custom onboarding flow); an emailed token is
/// never returned, so that presenting it proves control of the mailbox.
#[derive(Debug)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    pub token: Option<SecretString>,
}

/// An item of a batch as its door parsed it: what to invite, and into which
/// organizations (each once, in order).
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub terms: InvitationTerms,
    pub organizations: Vec<OrgId>,
}

/// The answer for one item and organization of a batch, in item order. An item its door
/// could not parse has no organization or email, and its parse error as the result.
#[derive(Debug)]
pub struct BatchOutcome {
    pub index: usize,
    pub organization_id: Option<OrgId>,
    pub email: Option<Email>,
    pub result: ApiResult<CreatedInvitation>,
}

/// What accepting an invitation takes: the token (the credential), and the invitee's name
/// (required unless the invitation names one) and title.
#[derive(Debug)]
pub struct Acceptance {
    pub token: SecretString,
    pub display_name: Option<DisplayName>,
    pub title: Option<String>,
}

/// A new pending invitation and its token (not yet saved or sent).
pub fn new_invitation(
    terms: &InvitationTerms,
    organization: (&OrgId, &str),
    inviter: (&UserId, &str),
    now: Timestamp,
) -> ApiResult<(Invitation, SecretString)> {
    let mut invitation = Invitation {
        id: InvitationId::new(),
        organization_id: organization.0.clone(),
        organization_name: organization.1.to_string(),
        email: terms.email.clone(),
        display_name: terms.display_name.clone(),
        roles: terms.roles.clone(),
        identity_provider: terms.identity_provider.clone(),
        status: InvitationStatus::Pending,
        token_hash: String::new(),
        expires_in_days: terms.expires_in_days,
        expires_at: now,
        invited_by: inviter.0.clone(),
        invited_by_name: inviter.1.to_string(),
        email_sent: terms.send_email,
        send_count: u32::from(terms.send_email),
        last_sent_at: terms.send_email.then_some(now),
        created_at: now,
        updated_at: now,
        accepted_at: None,
        accepted_user_id: None,
        cancelled_at: None,
        cancelled_by: None,
        version: 1,
    };
    let token = invitation.rotate_token(now)?;
    Ok((invitation, token))
}

/// Which invitations a list shows.
#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    pub status: Option<InvitationStatus>,
    pub email: Option<Email>,
}

impl InvitationFilter {
    pub fn parse(status: Option<&str>, email: Option<&str>) -> ApiResult<InvitationFilter> {
        Ok(InvitationFilter {
            status: status.map(|text| InvitationStatus::parse("status", text)).transpose()?,
            email: email.map(|text| Email::parse("email", text)).transpose()?,
        })
    }

    pub fn fingerprint(&self) -> String {
        format!(
            "invitations?status={}&email={}",
            self.status.map(InvitationStatus::as_str).unwrap_or_default(),
            self.email.as_ref().map(Email::lowercase).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn terms() -> InvitationTerms {
        InvitationTerms {
            email: Email::parse("email", "new@utility.example").unwrap(),
            display_name: None,
            roles: vec![RoleRef::System(crate::model::roles::SystemRole::Viewer)],
            expires_in_days: 2,
            identity_provider: Some("okta".into()),
            send_email: true,
        }
    }

    #[test]
    fn an_invitation_admits_its_token_until_it_expires_and_never_after_a_resend() {
        let now = Timestamp::parse("t", "2025-04-10T12:00:00Z").unwrap();
        let (mut invitation, token) =
            new_invitation(&terms(), (&OrgId::new(), "Utility"), (&UserId::new(), "Ada"), now).unwrap();
        let (id, secret) = parse_token(token.expose_secret()).unwrap();
        assert_eq!(id, invitation.id);
        assert!(invitation.admits(secret, now));
        assert!(!invitation.admits("wrong", now));
        let later = Timestamp::parse("t", "2025-04-12T12:00:00Z").unwrap();
        assert_eq!(invitation.status_at(later), InvitationStatus::Expired);
        assert!(!invitation.admits(secret, later));

        let fresh = invitation.rotate_token(later).unwrap();
        assert!(!invitation.admits(secret, later));
        let (_, fresh_secret) = parse_token(fresh.expose_secret()).unwrap();
        assert!(invitation.admits(fresh_secret, later));
        invitation.status = InvitationStatus::Cancelled;
        assert!(!invitation.admits(fresh_secret, later));
    }

    #[test]
    fn a_created_invitations_token_is_never_in_its_debug_text() {
        let now = Timestamp::parse("t", "2025-04-10T12:00:00Z").unwrap();
        let (invitation, token) =
            new_invitation(&terms(), (&OrgId::new(), "Utility"), (&UserId::new(), "Ada"), now).unwrap();
        let exposed = token.expose_secret().to_string();
        let created = CreatedInvitation {
            invitation,
            token: Some(token),
        };
        let debug = format!("{created:?} {created:#?}");
        assert!(!debug.contains(&exposed), "{debug}");
        let acceptance = Acceptance {
            token: SecretString::from(exposed.clone()),
            display_name: None,
            title: None,
        };
        assert!(!format!("{acceptance:?}").contains(&exposed));
    }

    #[test]
    fn a_batch_sends_no_faster_than_its_rate() {
        use std::time::Duration;
        assert_eq!(send_offset(0, 14), Duration::ZERO);
        assert_eq!(send_offset(14, 14), Duration::from_secs(1));
        assert_eq!(send_offset(99, 14), Duration::from_millis(7071));
        // Any `rate` consecutive emails span at least (rate - 1) / rate seconds.
        for rate in [1, 2, 14, 50] {
            for position in 0..200 {
                let span = send_offset(position + rate - 1, rate) - send_offset(position, rate);
                let least = Duration::from_millis(u64::from(rate - 1) * 1000 / u64::from(rate));
                assert!(
                    span + Duration::from_millis(1) >= least,
                    "rate {rate}, from {position}: {span:?}"
                );
            }
        }
        assert_eq!(send_offset(3, 0), Duration::from_secs(3), "a rate of 0 is read as 1");
    }

    #[test]
    fn an_invitation_lasts_seven_days_by_default_and_from_one_to_thirty() {
        assert_eq!(expires_in_days("expiresInDays", None).unwrap(), 7);
        assert_eq!(expires_in_days("expiresInDays", Some(1)).unwrap(), 1);
        assert_eq!(expires_in_days("expiresInDays", Some(30)).unwrap(), 30);
        for days in [0, 31] {
            assert!(expires_in_days("expiresInDays", Some(days)).is_err());
        }
    }

    #[test]
    fn an_identity_provider_is_a_short_slug_and_never_a_link() {
        for good in ["okta", "entra", "azure-ad", "google_workspace", "a.b"] {
            assert_eq!(identity_provider("identityProvider", good).unwrap(), good);
        }
        for bad in ["", "Okta", "https://evil.example", "okta entra", &"a".repeat(41)] {
            assert!(identity_provider("identityProvider", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_shapes_of_our_tokens_parse() {
        for bad in ["", "rci_", "rci_x_y", &format!("rci_{}", "a".repeat(300))] {
            assert!(parse_token(bad).is_none(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Whatever `parse_token` accepts names one invitation id, and rebuilding the
        /// token from that id and the secret parses back to the same pair.
        #[test]
        fn an_accepted_token_round_trips_through_its_id(
            token in proptest::prop_oneof![
                ".{0,240}",
                "rci_[0-9a-zA-Z]{20,30}_[A-Za-z0-9_-]{0,60}",
                "rci_.{0,40}_.{0,40}",
            ]
        ) {
            if let Some((id, secret)) = parse_token(&token) {
                let ulid = id.as_str().trim_start_matches(InvitationId::PREFIX);
                let rebuilt = format!("{TOKEN_PREFIX}{ulid}_{secret}");
                proptest::prop_assert_eq!(parse_token(&rebuilt), Some((id.clone(), secret)));
                proptest::prop_assert_eq!(InvitationId::parse("id", id.as_str()).ok(), Some(id));
            }
        }

        #[test]
        fn every_issued_token_parses_to_its_invitation(days in 1u32..=MAX_EXPIRES_IN_DAYS) {
            let now = Timestamp::parse("t", "2025-04-10T12:00:00Z").unwrap();
            let mut input = terms();
            input.expires_in_days = days;
            let (invitation, token) =
                new_invitation(&input, (&OrgId::new(), "Utility"), (&UserId::new(), "Ada"), now).unwrap();
            let (id, secret) = parse_token(token.expose_secret()).unwrap();
            proptest::prop_assert_eq!(id, invitation.id.clone());
            proptest::prop_assert!(invitation.admits(secret, now));
            proptest::prop_assert_eq!(invitation.expires_at, now.plus_days(days));
        }
    }
}
