//! Idempotency keys (`docs/idempotency.md`): the `Idempotency-Key` header, what makes two
//! requests the same request, the record that holds a key for 24 hours, and the rules
//! that decide whether a retry replays, waits or runs.
//!
//! Nothing here does I/O: `store::idempotency` claims and completes the record,
//! `crate::idempotency` (the edge) wraps an operation with it.
//!
//! The stored response is sealed (AES-256-GCM) under a key derived from what only the
//! caller holds: the API key it presented or, on the invitee's public route, the request
//! itself with its invitation token. A creation response may carry a secret shown once
//! (a new API key, an invitation token with `sendEmail: false`); the table never holds it
//! in clear, and nobody without the caller's credential can open it.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::zeroize::Zeroize;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, OrgId, new_ulid};
use crate::time::Timestamp;

/// The request header, as the API names it in errors and documents.
pub const HEADER: &str = "Idempotency-Key";
/// The response header a replay carries (`true`).
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
pub const MAX_KEY_LENGTH: usize = 255;
/// How long a key answers with its first response, from the first request (Stripe's 24 h).
pub const REPLAY_WINDOW_SECONDS: i64 = 24 * 60 * 60;
/// How long a claim holds the key without a response. Longer than the functions' timeout
/// (10 s in `infra/template.yaml`): a claim is only ever taken over once the function that
/// held it has stopped.
pub const LEASE_MILLIS: i64 = 60_000;

/// A client's `Idempotency-Key`: 1–255 printable ASCII characters (space to `~`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses the header's raw bytes; anything else is a 400 naming the header.
    pub fn parse(raw: &[u8]) -> ApiResult<IdempotencyKey> {
        // Characters first: the length is counted in bytes, which are characters only once
        // every byte is ASCII (200 `é` are 400 bytes, and not "over 255 characters").
        if !raw.iter().all(|byte| (b' '..=b'~').contains(byte)) {
            return Err(ApiError::validation(
                HEADER,
                format!("the `{HEADER}` header must be printable ASCII (space to `~`), e.g. a UUID"),
            ));
        }
        if raw.is_empty() || raw.len() > MAX_KEY_LENGTH {
            return Err(ApiError::validation(
                HEADER,
                format!("the `{HEADER}` header must be 1 to {MAX_KEY_LENGTH} characters long"),
            ));
        }
        // Every byte is ASCII, so this cannot fail.
        let text = std::str::from_utf8(raw).map_err(ApiError::internal)?;
        Ok(IdempotencyKey(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests the same request: method, path, query string and body bytes.
#[derive(Debug, Clone, Copy)]
pub struct RequestIdentity<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
}

impl RequestIdentity<'_> {
    /// Each part with its length in front, so no two different requests read the same.
    fn canonical(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.body.len() + 64);
        for part in [
            self.method.as_bytes(),
            self.path.as_bytes(),
            self.query.as_bytes(),
            self.body,
        ] {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part);
        }
        bytes
    }

    /// SHA-256 of the request, in URL-safe base64 (43 characters).
    pub fn fingerprint(&self) -> Fingerprint {
        let mut hasher = Sha256::new();
        hasher.update(b"raptor-comply idempotency fingerprint v1\0");
        hasher.update(self.canonical());
        Fingerprint(URL_SAFE_NO_PAD.encode(hasher.finalize()))
    }
}

/// The hash of a request (`RequestIdentity::fingerprint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whose keys a key is among: another caller's identical key string names another record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyScope {
    /// An API key of an organization (never the key itself: its id).
    ApiKey { org: OrgId, api_key: ApiKeyId },
    /// A public route (accepting an invitation): the request's own hash, so only someone
    /// who can send the very same body, token included, reaches the record.
    Request(Fingerprint),
}

/// The key that seals and opens a scope's stored responses, derived (HKDF-SHA256) from a
/// secret the table does not hold: the presented API key (the table has only a SHA-256 of
/// its secret) or the whole public request.
pub struct ResponseSeal(RandomizedNonceKey);

impl std::fmt::Debug for ResponseSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseSeal(..)")
    }
}

impl ResponseSeal {
    pub fn for_api_key(presented_key: &str) -> ApiResult<ResponseSeal> {
        ResponseSeal::derive(b"api key", presented_key.as_bytes())
    }

    pub fn for_request(request: &RequestIdentity<'_>) -> ApiResult<ResponseSeal> {
        ResponseSeal::derive(b"public request", &request.canonical())
    }

    fn derive(kind: &[u8], secret: &[u8]) -> ApiResult<ResponseSeal> {
        let unspecified = |_| ApiError::internal("deriving the idempotency response key failed");
        let mut key = [0u8; 32];
        Salt::new(HKDF_SHA256, b"raptor-comply idempotency response v1")
            .extract(secret)
            .expand(&[kind], HKDF_SHA256)
            .map_err(unspecified)?
            .fill(&mut key)
            .map_err(unspecified)?;
        let sealed = RandomizedNonceKey::new(&AES_256_GCM, &key)
            .map(ResponseSeal)
            .map_err(unspecified);
        // The derived key lives on in the cipher only, not in a stack copy.
        key.zeroize();
        sealed
    }

    /// `nonce ‖ ciphertext ‖ tag` in URL-safe base64; `context` is authenticated with it.
    fn seal(&self, plaintext: &str, context: &str) -> ApiResult<String> {
        let mut sealed = plaintext.as_bytes().to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut sealed)
            .map_err(|_| ApiError::internal("sealing a stored response failed"))?;
        let mut bytes = nonce.as_ref().to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn open(&self, sealed: &str, context: &str) -> ApiResult<String> {
        let unreadable = || ApiError::internal("a stored idempotent response could not be opened");
        let mut bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| unreadable())?;
        if bytes.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let mut body = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| unreadable())?;
        let plaintext = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| unreadable())?;
        String::from_utf8(plaintext.to_vec()).map_err(|_| unreadable())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// Claimed by a request still running (or one that crashed: see the lease).
    InProgress,
    /// The first response is kept, to be replayed.
    Completed,
}

/// One key's record, as stored. The key and scope are its item key (`store::keys`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub fingerprint: Fingerprint,
    pub state: RecordState,
    /// Who holds the claim: only that request completes or releases it.
    pub claim_id: String,
    pub created_at: Timestamp,
    /// The table's TTL attribute (epoch seconds), 24 h after the first request. DynamoDB
    /// deletes the item some time after; until then `expired` answers for it.
    pub ttl_epoch_seconds: i64,
    /// Until when an in-progress claim keeps a retry out.
    pub lease_expires_at_millis: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    /// The response body, sealed (`ResponseSeal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
}

/// What a retry meets in a record that already holds its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The same request, finished: answer with the stored response.
    Replay,
    /// The same request, still running within its lease: 409.
    InProgress,
    /// Another request under the same key: 409.
    OtherRequest,
    /// Expired, or a claim whose lease ran out (its function stopped without answering):
    /// the key may be claimed again.
    Claimable,
}

/// A stored response, opened for the replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

impl IdempotencyRecord {
    /// A claim on the key, made at `now`: in progress for `LEASE_MILLIS`, kept 24 h.
    pub fn claim(fingerprint: Fingerprint, now: Timestamp) -> IdempotencyRecord {
        IdempotencyRecord {
            fingerprint,
            state: RecordState::InProgress,
            claim_id: new_ulid().to_string().to_lowercase(),
            created_at: now,
            ttl_epoch_seconds: now.millis().div_euclid(1000) + REPLAY_WINDOW_SECONDS,
            lease_expires_at_millis: now.millis() + LEASE_MILLIS,
            response_status: None,
            response_body: None,
        }
    }

    /// The claim with its first response, sealed; the 24 h still run from the claim.
    pub fn completed(&self, status: u16, body: &str, seal: &ResponseSeal) -> ApiResult<IdempotencyRecord> {
        Ok(IdempotencyRecord {
            state: RecordState::Completed,
            response_status: Some(status),
            response_body: Some(seal.seal(body, self.fingerprint.as_str())?),
            ..self.clone()
        })
    }

    /// The first response, for a replay.
    pub fn response(&self, seal: &ResponseSeal) -> ApiResult<StoredResponse> {
        match (self.state, self.response_status, &self.response_body) {
            (RecordState::Completed, Some(status), Some(sealed)) => Ok(StoredResponse {
                status,
                body: seal.open(sealed, self.fingerprint.as_str())?,
            }),
            _ => Err(ApiError::internal("an idempotency record without its response")),
        }
    }

    /// Past its 24 h: the key is free again (checked here as well as by TTL, which
    /// deletes late and which the emulator does not do at all).
    pub fn expired(&self, now: Timestamp) -> bool {
        now.millis().div_euclid(1000) >= self.ttl_epoch_seconds
    }

    pub fn judge(&self, fingerprint: &Fingerprint, now: Timestamp) -> Verdict {
        if self.expired(now) {
            Verdict::Claimable
        } else if &self.fingerprint != fingerprint {
            Verdict::OtherRequest
        } else {
            match self.state {
                RecordState::Completed => Verdict::Replay,
                RecordState::InProgress if now.millis() >= self.lease_expires_at_millis => Verdict::Claimable,
                RecordState::InProgress => Verdict::InProgress,
            }
        }
    }
}

/// Whether a response is kept for replays: everything below 500 but 429. A 5xx or a 429
/// says "try again", so it releases the key and the retry runs.
pub fn keeps_response(status: u16) -> bool {
    status < 500 && status != 429
}

pub fn in_progress() -> ApiError {
    ApiError::idempotency_conflict(format!(
        "a request with this `{HEADER}` is in progress; retry once it has finished"
    ))
}

pub fn other_request() -> ApiError {
    ApiError::idempotency_conflict(format!(
        "this `{HEADER}` was already used for a different request (method, path, query or body); \
         send a new key for a new request"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> RequestIdentity<'_> {
        RequestIdentity {
            method: "POST",
            path: "/users",
            query: "",
            body: body.as_bytes(),
        }
    }

    fn at(millis: i64) -> Timestamp {
        serde_json::from_value(serde_json::json!(
            chrono::DateTime::from_timestamp_millis(millis)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ))
        .unwrap()
    }

    #[test]
    fn a_key_is_one_to_255_printable_ascii_characters() {
        for accepted in [
            "a",
            "8e0f6a3c-2b7d-4c1e-9f0a-6b5d4c3b2a19",
            " spaced out ",
            "~!@#$%^&*()",
            &"k".repeat(255),
        ] {
            assert_eq!(IdempotencyKey::parse(accepted.as_bytes()).unwrap().as_str(), accepted);
        }
        for refused in ["", "tab\there", "new\nline", "clé", "\u{7f}", &"k".repeat(256)] {
            let error = IdempotencyKey::parse(refused.as_bytes()).unwrap_err();
            assert_eq!(error.status(), 400, "{refused:?}");
            assert_eq!(error.body().error.field.as_deref(), Some(HEADER));
        }
        // 200 non-ASCII characters are 400 bytes: the message names what is wrong with them,
        // never a length they do not have.
        let error = IdempotencyKey::parse("é".repeat(200).as_bytes()).unwrap_err();
        assert!(error.body().error.message.contains("printable ASCII"), "{error}");
        let error = IdempotencyKey::parse("k".repeat(256).as_bytes()).unwrap_err();
        assert!(error.body().error.message.contains("1 to 255 characters"), "{error}");
    }

    #[test]
    fn the_fingerprint_tells_apart_every_part_of_the_request() {
        let base = request(r#"{"a":1}"#);
        let variants = [
            RequestIdentity {
                method: "PATCH",
                ..base
            },
            RequestIdentity { path: "/roles", ..base },
            RequestIdentity { query: "a=1", ..base },
            request(r#"{"a": 1}"#),
            // The boundary between parts moves: still another request.
            RequestIdentity {
                path: "/users?",
                query: "",
                ..base
            },
        ];
        assert_eq!(base.fingerprint(), request(r#"{"a":1}"#).fingerprint());
        for other in variants {
            assert_ne!(base.fingerprint(), other.fingerprint(), "{other:?}");
        }
        assert_eq!(base.fingerprint().as_str().len(), 43);
    }

    #[test]
    fn a_record_replays_the_same_request_within_24_hours_and_nothing_else() {
        let now = at(1_800_000_000_000);
        let fingerprint = request("{}").fingerprint();
        let claim = IdempotencyRecord::claim(fingerprint.clone(), now);
        assert_eq!(claim.judge(&fingerprint, now), Verdict::InProgress);
        assert_eq!(claim.judge(&request("{ }").fingerprint(), now), Verdict::OtherRequest);
        // A claim whose function stopped without an answer frees the key after its lease.
        assert_eq!(
            claim.judge(&fingerprint, at(now.millis() + LEASE_MILLIS - 1)),
            Verdict::InProgress
        );
        assert_eq!(
            claim.judge(&fingerprint, at(now.millis() + LEASE_MILLIS)),
            Verdict::Claimable
        );

        let seal = ResponseSeal::for_api_key("rck_01hx2m7k3q9v8c6b5n4m3k2j1h_secret").unwrap();
        let done = claim.completed(201, r#"{"id":"usr_1"}"#, &seal).unwrap();
        let later = at(now.millis() + 3_600_000);
        assert_eq!(done.judge(&fingerprint, later), Verdict::Replay);
        assert_eq!(done.judge(&request("{ }").fingerprint(), later), Verdict::OtherRequest);
        assert_eq!(
            done.response(&seal).unwrap(),
            StoredResponse {
                status: 201,
                body: r#"{"id":"usr_1"}"#.into()
            }
        );
        let last_second = at(now.millis() + REPLAY_WINDOW_SECONDS * 1000 - 1000);
        assert_eq!(done.judge(&fingerprint, last_second), Verdict::Replay);
        let a_day_later = at(now.millis() + REPLAY_WINDOW_SECONDS * 1000);
        assert!(done.expired(a_day_later));
        assert_eq!(done.judge(&fingerprint, a_day_later), Verdict::Claimable);
        assert_eq!(
            done.judge(&request("{ }").fingerprint(), a_day_later),
            Verdict::Claimable
        );
    }

    #[test]
    fn a_stored_response_opens_only_with_the_callers_own_credential() {
        let fingerprint = request("{}").fingerprint();
        let mine = ResponseSeal::for_api_key("rck_01hx2m7k3q9v8c6b5n4m3k2j1h_mine").unwrap();
        let theirs = ResponseSeal::for_api_key("rck_01hx2m7k3q9v8c6b5n4m3k2j1h_theirs").unwrap();
        let body = r#"{"secret":"rck_new_key"}"#;
        let done = IdempotencyRecord::claim(fingerprint, Timestamp::now())
            .completed(201, body, &mine)
            .unwrap();
        let sealed = done.response_body.clone().unwrap();
        assert!(!sealed.contains("rck_new_key"));
        assert_eq!(done.response(&mine).unwrap().body, body);
        assert!(done.response(&theirs).is_err());
        // Bound to its request: the same ciphertext under another fingerprint does not open.
        let moved = IdempotencyRecord {
            fingerprint: request("[]").fingerprint(),
            ..done.clone()
        };
        assert!(moved.response(&mine).is_err());
        // A public request's seal depends on the whole request, token included.
        let accept = |token: &'static str| RequestIdentity {
            method: "POST",
            path: "/invitations/accept",
            query: "",
            body: token.as_bytes(),
        };
        let with_token = ResponseSeal::for_request(&accept("rci_a")).unwrap();
        let public = IdempotencyRecord::claim(accept("rci_a").fingerprint(), Timestamp::now())
            .completed(201, "{}", &with_token)
            .unwrap();
        assert!(
            public
                .response(&ResponseSeal::for_request(&accept("rci_b")).unwrap())
                .is_err()
        );
        assert_eq!(public.response(&with_token).unwrap().body, "{}");
    }

    #[test]
    fn only_answers_below_500_other_than_429_are_kept() {
        for kept in [200, 201, 400, 403, 404, 409] {
            assert!(keeps_response(kept), "{kept}");
        }
        for released in [429, 500, 503] {
            assert!(!keeps_response(released), "{released}");
        }
    }

    #[test]
    fn a_record_maps_to_the_item_it_is_stored_as_and_back() {
        let record = IdempotencyRecord::claim(request("{}").fingerprint(), Timestamp::now());
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["state"], "in_progress");
        assert!(json["ttlEpochSeconds"].is_i64());
        assert!(json.get("responseBody").is_none());
        assert_eq!(serde_json::from_value::<IdempotencyRecord>(json).unwrap(), record);
    }

    proptest::proptest! {
        /// Every string of 1–255 printable ASCII characters is a key, and is itself.
        #[test]
        fn printable_ascii_of_1_to_255_characters_is_a_key(key in "[ -~]{1,255}") {
            let parsed = IdempotencyKey::parse(key.as_bytes()).unwrap();
            proptest::prop_assert_eq!(parsed.as_str(), key.as_str());
        }

        /// Any bytes are either a key made of exactly those bytes, or a 400 naming the header.
        #[test]
        fn any_bytes_are_a_key_or_a_validation_error(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let well_formed = (1..=MAX_KEY_LENGTH).contains(&raw.len()) && raw.iter().all(|b| (0x20..=0x7e).contains(b));
            match IdempotencyKey::parse(&raw) {
                Ok(key) => {
                    proptest::prop_assert!(well_formed);
                    proptest::prop_assert_eq!(key.as_str().as_bytes(), raw.as_slice());
                }
                Err(error) => {
                    proptest::prop_assert!(!well_formed);
                    proptest::prop_assert_eq!(error.code(), "validation_error");
                    proptest::prop_assert_eq!(error.body().error.field, Some(HEADER.to_string()));
                }
            }
        }

        /// A key with any character outside printable ASCII is refused, wherever it is.
        #[test]
        fn a_key_with_one_unprintable_character_is_refused(
            before in "[ -~]{0,100}",
            bad in proptest::prop_oneof!["[\u{0}-\u{1f}\u{7f}]", "[^\u{0}-\u{7f}]"],
            after in "[ -~]{0,100}",
        ) {
            let key = format!("{before}{bad}{after}");
            proptest::prop_assert!(IdempotencyKey::parse(key.as_bytes()).is_err());
        }
    }
}
