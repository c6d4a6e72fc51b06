//! Webhooks: endpoints an organization registers to hear about its audit events, and the
//! deliveries of those events to them (`docs/webhooks.md`).
//!
//! Pure rules only: which URLs and addresses a delivery may go to, how a body is signed,
//! which secrets are live, when a failed delivery is tried again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{EventId, OrgId, WebhookEndpointId};
use crate::model::audit::AuditEvent;
use crate::model::events;
use crate::time::Timestamp;

pub const MAX_URL_LENGTH: usize = 2048;
pub const MAX_DESCRIPTION_LENGTH: usize = 500;
/// A delivery is tried until it succeeds or until this long after it was first queued.
pub const RETRY_WINDOW_MILLIS: i64 = 3 * 24 * 60 * 60 * 1000;
/// An attempt that has no 2xx answer within this long has failed.
pub const ATTEMPT_TIMEOUT_SECONDS: u64 = 10;
/// A rotated secret keeps signing beside the new one for at most a week.
pub const MAX_OVERLAP_HOURS: u32 = 7 * 24;
pub const DEFAULT_OVERLAP_HOURS: u32 = 24;
/// The attempts a delivery record keeps (the newest); 3 days of retries are 11.
pub const MAX_RECORDED_ATTEMPTS: usize = 50;
/// What an attempt keeps of the receiver's answer or of the failure.
pub const MAX_ERROR_LENGTH: usize = 300;
/// The header that carries the signatures.
pub const SIGNATURE_HEADER: &str = "Raptor-Signature";
/// The signing secrets we issue: `whsec_` and 32 random bytes, base64url.
pub const SECRET_PREFIX: &str = "whsec_";

/// Where deliveries may go. Deployed: `https` to public addresses only. The local run
/// (`WEBHOOK_ALLOW_LOOPBACK=true`, set by `scripts/run-local` and the tests) also allows
/// `http` and `https` to the loopback address, so a newcomer can watch a delivery arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    pub allow_loopback: bool,
}

impl DestinationPolicy {
    pub const DEPLOYED: DestinationPolicy = DestinationPolicy { allow_loopback: false };
    pub const LOCAL: DestinationPolicy = DestinationPolicy { allow_loopback: true };

    /// Whether a delivery may connect to `address`: never to a private, link-local
    /// (instance metadata), shared, multicast, reserved or unspecified address; to loopback
    /// only in the local run.
    pub fn allows_address(&self, address: IpAddr) -> bool {
        match address {
            IpAddr::V4(v4) => self.allows_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.allows_v4(v4),
                None => self.allows_v6(v6),
            },
        }
    }

    fn allows_v4(&self, address: Ipv4Addr) -> bool {
        if address.is_loopback() {
            return self.allow_loopback;
        }
        let [a, b, c, _] = address.octets();
        let forbidden = address.is_private()
            || address.is_link_local()
            || address.is_unspecified()
            || address.is_broadcast()
            || address.is_multicast()
            || address.is_documentation()
            || a == 0
            || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
            || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
            || (a == 198 && (b == 18 || b == 19)) // benchmarking
            || a >= 240; // reserved
        !forbidden
    }

    fn allows_v6(&self, address: Ipv6Addr) -> bool {
        if address.is_loopback() {
            return self.allow_loopback;
        }
        let first = address.segments()[0];
        let forbidden = address.is_unspecified()
            || address.is_multicast()
            || (first & 0xfe00) == 0xfc00 // unique local, including fd00:ec2::254 (metadata)
            || (first & 0xffc0) == 0xfe80 // link-local
            || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
            || first == 0x2001 && address.segments()[1] == 0x0db8 // documentation
            || first == 0x0064 && address.segments()[1] == 0xff9b // NAT64 to any IPv4
            || first == 0x2002; // 6to4 to any IPv4
        !forbidden
    }
}

/// An endpoint's URL: absolute, `https` (or loopback `http` in the local run), a host,
/// no user name or password, no fragment, and no address a delivery may not reach. Host
/// names are resolved again at each delivery (`webhook_client`); here only an address
/// written in the URL is judged.
pub fn webhook_url(text: &str, policy: DestinationPolicy) -> ApiResult<url::Url> {
    let refuse = |why: &str| ApiError::validation("url", format!("`url` {why}"));
    if text.len() > MAX_URL_LENGTH {
        return Err(refuse(&format!("must be at most {MAX_URL_LENGTH} characters")));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("must not contain white space"));
    }
    let parsed = url::Url::parse(text)
        .map_err(|_| refuse("must be an absolute https URL, e.g. https://hooks.example.com/raptor"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse(
            "must not hold a user name or password; the signature authenticates us",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(refuse("must not have a fragment (`#…`)"));
    }
    let loopback = is_loopback_host(&parsed);
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_loopback && loopback => {}
        _ => return Err(refuse("must be an https URL, e.g. https://hooks.example.com/raptor")),
    }
    match parsed.host() {
        None => return Err(refuse("must name a host")),
        Some(url::Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            if (domain == "localhost" || domain.ends_with(".localhost")) && !policy.allow_loopback {
                return Err(refuse("must not point at this machine (localhost)"));
            }
        }
        Some(url::Host::Ipv4(v4)) if !policy.allows_address(IpAddr::V4(v4)) => {
            return Err(refuse(
                "must not point at a private, loopback, link-local or reserved address",
            ));
        }
        Some(url::Host::Ipv6(v6)) if !policy.allows_address(IpAddr::V6(v6)) => {
            return Err(refuse(
                "must not point at a private, loopback, link-local or reserved address",
            ));
        }
        Some(_) => {}
    }
    Ok(parsed)
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(v4)) => v4.is_loopback(),
        Some(url::Host::Ipv6(v6)) => v6.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Names an endpoint may want beside the catalogue's event types, each standing for the
/// recorded events that mean it: what an integration asks for by name, while what it
/// receives is still the audit event as recorded (`Raptor-Event-Type` its own type).
pub const DERIVED_EVENT_TYPES: [&str; 2] = ["user.deactivated", "training_assignment.overdue"];

/// Whether `event` is of the type an endpoint named `wanted`.
fn is_of_type(wanted: &str, event: &AuditEvent) -> bool {
    match wanted {
        // Suspended (`user.updated` whose status became `suspended`) or deleted.
        "user.deactivated" => {
            event.action == "user.deleted"
                || (event.action == "user.updated" && event.summary["status"]["to"] == "suspended")
        }
        "training_assignment.overdue" => event.action == "training_assignment.marked_overdue",
        _ => wanted == event.action,
    }
}

/// The event types an endpoint wants: at least one, each an event type of the catalogue
/// (`docs/events.md`) or a derived one (`DERIVED_EVENT_TYPES`), kept sorted without repeats.
pub fn event_types(values: &[String]) -> ApiResult<Vec<String>> {
    if values.is_empty() {
        return Err(ApiError::validation(
            "eventTypes",
            "`eventTypes` must name at least one event type, e.g. [\"training_assignment.completed\"]",
        ));
    }
    let mut types = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        if !events::ACTIONS.contains(&value.as_str()) && !DERIVED_EVENT_TYPES.contains(&value.as_str()) {
            return Err(ApiError::validation(
                format!("eventTypes[{index}]"),
                format!(
                    "`eventTypes[{index}]` is not an event type; the event types are listed in docs/events.md, \
                     e.g. `user.created`, `training_assignment.completed`"
                ),
            ));
        }
        types.push(value.clone());
    }
    types.sort();
    types.dedup();
    Ok(types)
}

/// A signing secret with the time it stops signing (`None`: the current one).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningSecret {
    pub secret: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningSecret")
            .field("secret", &"whsec_…")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub organization_id: OrgId,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// The current secret first, then rotated ones until they expire.
    pub secrets: Vec<SigningSecret>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl WebhookEndpoint {
    /// Whether an event is delivered here: enabled, of a type it wants, and not older than
    /// the endpoint (a stream that lags never hands a new endpoint earlier events).
    pub fn wants(&self, event: &AuditEvent) -> bool {
        self.enabled
            && event.occurred_at >= self.created_at
            && self.event_types.iter().any(|wanted| is_of_type(wanted, event))
    }

    /// The secrets that sign at `now`: the current one and rotated ones not yet expired.
    pub fn live_secrets(&self, now: Timestamp) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|secret| secret.expires_at.is_none_or(|expires| expires > now))
            .map(|secret| secret.secret.as_str())
            .collect()
    }

    /// When the rotated secrets stop signing, if any still does.
    pub fn previous_secret_expires_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.secrets
            .iter()
            .filter_map(|secret| secret.expires_at)
            .filter(|expires| *expires > now)
            .max()
    }

    /// `new_secret` becomes the current one; the one it replaces signs beside it for
    /// `overlap_hours` (0: stops at once); expired ones are dropped.
    pub fn rotate(&mut self, new_secret: String, now: Timestamp, overlap_hours: u32) {
        let until = Timestamp::from_millis(now.millis() + i64::from(overlap_hours) * 3_600_000);
        for secret in &mut self.secrets {
            if secret.expires_at.is_none() {
                secret.expires_at = Some(until);
            }
        }
        self.secrets
            .retain(|secret| secret.expires_at.is_none_or(|expires| expires > now));
        self.secrets.insert(
            0,
            SigningSecret {
                secret: new_secret,
                created_at: now,
                expires_at: None,
            },
        );
    }
}

/// The overlap asked for on rotation, in hours.
pub fn overlap_hours(value: Option<u32>) -> ApiResult<u32> {
    let hours = value.unwrap_or(DEFAULT_OVERLAP_HOURS);
    if hours > MAX_OVERLAP_HOURS {
        return Err(ApiError::validation(
            "expireCurrentSecretInHours",
            format!("`expireCurrentSecretInHours` must be from 0 to {MAX_OVERLAP_HOURS} (a week)"),
        ));
    }
    Ok(hours)
}

/// The HMAC-SHA256 of `<timestamp>.<body>` with `secret`, in lowercase hex.
pub fn signature(secret: &str, timestamp_seconds: i64, body: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp_seconds.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    context
        .sign()
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `Raptor-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`: one `v1` per live secret, so
/// a receiver that checks any of them keeps working across a rotation.
pub fn signature_header(secrets: &[&str], timestamp_seconds: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp_seconds}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&signature(secret, timestamp_seconds, body));
    }
    header
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Queued, or waiting for its next attempt.
    Pending,
    /// A 2xx answer arrived.
    Succeeded,
    /// No attempt succeeded within the 3 days; `resend` tries again.
    Failed,
    /// The endpoint was deleted or disabled before it succeeded.
    Cancelled,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Failed,
        DeliveryStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(field: &str, text: &str) -> ApiResult<DeliveryStatus> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| {
                ApiError::validation(
                    field,
                    format!("`{field}` must be pending, succeeded, failed or cancelled"),
                )
            })
    }
}

/// One try of a delivery, as the receiver answered it or as it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub number: u32,
    pub attempted_at: Timestamp,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why it failed (timeout, refused destination, the answer's status), when it did.
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl DeliveryAttempt {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|status| (200..300).contains(&status))
    }
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub organization_id: OrgId,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: Vec<DeliveryAttempt>,
    /// Attempts ever made (the record keeps the newest `MAX_RECORDED_ATTEMPTS`).
    pub attempt_count: u32,
    /// When the retries started: queued first, or resent.
    pub retries_from: Timestamp,
    /// When a message for it was last put on the queue, until a sender claims it.
    pub queued_at: Option<Timestamp>,
    /// When it is due (the next attempt, or the queueing again of one whose message was
    /// lost); `None` once it needs nothing more.
    pub due_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

/// How long a queued delivery waits for its attempt before the sweep queues it again: its
/// message may have been lost between the dispatcher and the queue.
pub const QUEUED_LEASE_MILLIS: i64 = 10 * 60 * 1000;

impl WebhookDelivery {
    pub fn new(endpoint: &WebhookEndpoint, event_id: &EventId, event_type: &str, now: Timestamp) -> Self {
        WebhookDelivery {
            organization_id: endpoint.organization_id.clone(),
            endpoint_id: endpoint.id.clone(),
            event_id: event_id.clone(),
            event_type: event_type.to_string(),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            attempt_count: 0,
            retries_from: now,
            queued_at: Some(now),
            due_at: Some(Timestamp::from_millis(now.millis() + QUEUED_LEASE_MILLIS)),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Taken by a sender for one attempt: no longer queued, and due again after the lease
    /// should the sender die before it records the attempt.
    pub fn claimed(&self, now: Timestamp) -> WebhookDelivery {
        let mut after = self.clone();
        after.queued_at = None;
        after.due_at = Some(Timestamp::from_millis(now.millis() + QUEUED_LEASE_MILLIS));
        after.updated_at = now;
        after.version += 1;
        after
    }

    /// The delivery with `attempt` recorded: succeeded, due again by the backoff, or
    /// failed for good once the 3 days have passed.
    pub fn after_attempt(&self, attempt: DeliveryAttempt, now: Timestamp) -> WebhookDelivery {
        let mut after = self.clone();
        let succeeded = attempt.succeeded();
        after.attempts.push(attempt);
        if after.attempts.len() > MAX_RECORDED_ATTEMPTS {
            let extra = after.attempts.len() - MAX_RECORDED_ATTEMPTS;
            after.attempts.drain(..extra);
        }
        after.attempt_count += 1;
        let failures_in_window = after
            .attempts
            .iter()
            .filter(|attempt| attempt.attempted_at >= self.retries_from)
            .count();
        if succeeded {
            after.status = DeliveryStatus::Succeeded;
            after.due_at = None;
        } else {
            match retry_at(self.retries_from, failures_in_window, now) {
                Some(next) => {
                    after.status = DeliveryStatus::Pending;
                    after.due_at = Some(next);
                }
                None => {
                    after.status = DeliveryStatus::Failed;
                    after.due_at = None;
                }
            }
        }
        after.updated_at = now;
        after.version += 1;
        after
    }

    /// Asked for again: due at once (the dispatcher's sweep queues it within a minute),
    /// with a new 3-day window of retries.
    pub fn resent(&self, now: Timestamp) -> WebhookDelivery {
        let mut after = self.clone();
        after.status = DeliveryStatus::Pending;
        after.retries_from = now;
        after.queued_at = None;
        after.due_at = Some(now);
        after.updated_at = now;
        after.version += 1;
        after
    }

    /// Queued again by the sweep, which holds it for the lease so the next sweep does not
    /// queue it twice.
    pub fn requeued(&self, now: Timestamp) -> WebhookDelivery {
        let mut after = self.clone();
        after.queued_at = Some(now);
        after.due_at = Some(Timestamp::from_millis(now.millis() + QUEUED_LEASE_MILLIS));
        after.updated_at = now;
        after.version += 1;
        after
    }

    /// Given up without sending: `reason` is recorded as an attempt that never left, and
    /// nothing is tried again (a resend still can).
    pub fn abandoned(&self, reason: &str, now: Timestamp) -> WebhookDelivery {
        let mut after = self.clone();
        after.attempts.push(DeliveryAttempt {
            number: self.attempt_count + 1,
            attempted_at: now,
            status_code: None,
            error: Some(attempt_error(reason)),
            duration_ms: 0,
        });
        after.attempt_count += 1;
        after.status = DeliveryStatus::Failed;
        after.queued_at = None;
        after.due_at = None;
        after.updated_at = now;
        after.version += 1;
        after
    }

    pub fn cancelled(&self, now: Timestamp) -> WebhookDelivery {
        let mut after = self.clone();
        after.status = DeliveryStatus::Cancelled;
        after.queued_at = None;
        after.due_at = None;
        after.updated_at = now;
        after.version += 1;
        after
    }
}

/// The waits after the 1st, 2nd, … failed attempt, as Stripe spaces them: quickly at
/// first, then hours apart, for up to 3 days.
const BACKOFF_MINUTES: [i64; 7] = [1, 5, 30, 120, 300, 600, 720];

/// When to try again after `failures` failed attempts since `retries_from`, or `None`
/// when that would fall outside the 3-day window.
pub fn retry_at(retries_from: Timestamp, failures: usize, now: Timestamp) -> Option<Timestamp> {
    let index = failures.saturating_sub(1).min(BACKOFF_MINUTES.len() - 1);
    let next = now.millis() + BACKOFF_MINUTES[index] * 60_000;
    (next <= retries_from.millis() + RETRY_WINDOW_MILLIS).then(|| Timestamp::from_millis(next))
}

/// Text kept from a failure or an answer: one line, at most `MAX_ERROR_LENGTH` characters.
pub fn attempt_error(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_LENGTH)
        .collect();
    line.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // docs/webhooks.md's worked example: secret, timestamp and body as shown there.
        let signed = signature("whsec_test", 1_765_000_000, br#"{"id":"evt_1"}"#);
        assert_eq!(signed.len(), 64);
        use aws_lc_rs::hmac;
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"whsec_test");
        let expected = hmac::sign(&key, br#"1765000000.{"id":"evt_1"}"#);
        let hex: String = expected.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(signed, hex);
        assert_eq!(
            signature_header(&["a", "b"], 7, b"x"),
            format!("t=7,v1={},v1={}", signature("a", 7, b"x"), signature("b", 7, b"x"))
        );
    }

    #[test]
    fn deployed_deliveries_reach_only_public_addresses() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
        ] {
            let address: IpAddr = refused.parse().unwrap();
            assert!(!DestinationPolicy::DEPLOYED.allows_address(address), "{refused}");
        }
        for allowed in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(
                DestinationPolicy::DEPLOYED.allows_address(allowed.parse().unwrap()),
                "{allowed}"
            );
        }
        assert!(DestinationPolicy::LOCAL.allows_address("127.0.0.1".parse().unwrap()));
        assert!(!DestinationPolicy::LOCAL.allows_address("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn urls_are_https_without_credentials_or_private_literals() {
        let deployed = DestinationPolicy::DEPLOYED;
        assert!(webhook_url("https://hooks.example.com/raptor?x=1", deployed).is_ok());
        for refused in [
            "http://hooks.example.com/raptor",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#frag",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.8/",
            "https://localhost/",
            "https://LOCALHOST./x",
            "ftp://hooks.example.com/",
            "hooks.example.com",
            "https://hooks.example.com/ space",
        ] {
            assert!(webhook_url(refused, deployed).is_err(), "{refused}");
        }
        assert!(webhook_url("http://127.0.0.1:8080/hook", DestinationPolicy::LOCAL).is_ok());
        assert!(webhook_url("http://10.0.0.1/hook", DestinationPolicy::LOCAL).is_err());
    }

    #[test]
    fn a_delivery_status_round_trips_through_its_name_and_its_stored_form() {
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse("status", status.as_str()).unwrap(), status);
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!(DeliveryStatus::parse("status", "Failed").is_err());
    }

    #[test]
    fn event_types_must_be_in_the_catalogue() {
        let types = event_types(&[
            "user.created".into(),
            "training_assignment.completed".into(),
            "user.created".into(),
        ])
        .unwrap();
        assert_eq!(types, vec!["training_assignment.completed", "user.created"]);
        assert!(event_types(&[]).is_err());
        assert_eq!(
            event_types(&["user.deactivated".into(), "training_assignment.overdue".into()]).unwrap(),
            vec!["training_assignment.overdue", "user.deactivated"]
        );
        match event_types(&["user.created".into(), "user.exploded".into()]) {
            Err(ApiError::Validation { field, .. }) => assert_eq!(field, "eventTypes[1]"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_rotation_keeps_the_old_secret_signing_for_the_overlap_only() {
        let mut endpoint = WebhookEndpoint {
            id: WebhookEndpointId::new(),
            organization_id: OrgId::new(),
            url: "https://hooks.example.com".into(),
            description: None,
            event_types: vec!["user.created".into()],
            enabled: true,
            secrets: vec![SigningSecret {
                secret: "old".into(),
                created_at: at(0),
                expires_at: None,
            }],
            created_at: at(0),
            updated_at: at(0),
            version: 1,
        };
        endpoint.rotate("new".into(), at(1_000), 2);
        assert_eq!(endpoint.live_secrets(at(1_000)), vec!["new", "old"]);
        assert_eq!(endpoint.live_secrets(at(1_000 + 2 * 3_600_000)), vec!["new"]);
        endpoint.rotate("newer".into(), at(2_000), 0);
        assert_eq!(endpoint.live_secrets(at(2_000)), vec!["newer", "old"]);
        assert_eq!(endpoint.live_secrets(at(1_000 + 2 * 3_600_000)), vec!["newer"]);
    }

    #[test]
    fn retries_back_off_and_stop_after_three_days() {
        let start = at(1_000_000);
        let mut now = start;
        let mut waits = Vec::new();
        let mut failures = 0;
        while let Some(next) = retry_at(start, failures + 1, now) {
            failures += 1;
            waits.push((next.millis() - now.millis()) / 60_000);
            now = next;
        }
        assert_eq!(&waits[..6], &[1, 5, 30, 120, 300, 600]);
        assert!(now.millis() - start.millis() <= RETRY_WINDOW_MILLIS);
        assert!(now.millis() - start.millis() > RETRY_WINDOW_MILLIS - 720 * 60_000);
        assert!(failures >= 10, "{failures} attempts in 3 days");
    }

    proptest! {
        #[test]
        fn an_accepted_url_is_accepted_again_as_stored(text in "https?://[a-z0-9.:\\[\\]-]{1,30}(/[!-~]{0,20})?") {
            if let Ok(url) = webhook_url(&text, DestinationPolicy::DEPLOYED) {
                let stored = url.to_string();
                prop_assert_eq!(webhook_url(&stored, DestinationPolicy::DEPLOYED).unwrap().to_string(), stored);
            }
        }
    }
}
