//! The tamper-evident audit trail, after AWS CloudTrail's log file integrity validation:
//! a digest per organization and run lists the id and SHA-256 of every event new since the
//! previous digest, carries the previous digest's hash (a chain), and is signed with an
//! asymmetric KMS key whose public key anyone can fetch. Changing, deleting or inserting an
//! event, or deleting or editing a digest, then shows: `verify` below says which.
//!
//! Pure: the bytes that are hashed and signed, and the verification over digests and
//! events as read. `docs/audit.md` writes the byte forms down for verifiers of their own.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::ids::{EventId, OrgId};
use crate::model::audit::AuditEvent;
use crate::time::Timestamp;

/// Names the byte forms below; a verifier refuses a digest of a form it does not know.
pub const DIGEST_FORMAT: &str = "raptor-comply-audit-digest/1";
/// The KMS signing algorithm of the digests (an `ECC_NIST_P256` key).
pub const SIGNING_ALGORITHM: &str = "ECDSA_SHA_256";
/// Events in one digest: each listed event takes about 110 bytes of the item, which
/// DynamoDB caps at 400 KB; a run with more new events writes several digests.
pub const MAX_EVENTS_PER_DIGEST: usize = 2000;

/// An event's canonical bytes: the event as the API shows it, as JSON with every object's
/// keys sorted and no whitespace (serde_json's `Value` keeps keys sorted), UTF-8.
pub fn canonical_event(event: &AuditEvent) -> ApiResult<Vec<u8>> {
    canonical_json(event)
}

/// A value's canonical bytes, as `canonical_event` takes them.
pub fn canonical_json(value: &impl Serialize) -> ApiResult<Vec<u8>> {
    let value = serde_json::to_value(value).map_err(ApiError::internal)?;
    serde_json::to_vec(&value).map_err(ApiError::internal)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The SHA-256 (hex) of an event's canonical bytes.
pub fn event_hash(event: &AuditEvent) -> ApiResult<String> {
    Ok(sha256_hex(&canonical_event(event)?))
}

/// One event as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DigestedEvent {
    pub id: EventId,
    pub sha256: String,
}

/// What a digest states, hashed as a whole (`document_hash`) and signed through it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DigestDocument {
    /// `DIGEST_FORMAT`.
    pub format: String,
    pub organization_id: OrgId,
    /// 1 for an organization's first digest, then one more each.
    pub sequence: u64,
    /// The previous digest's `periodEnd` (the first digest: its first event's time).
    pub period_start: Timestamp,
    /// Every event whose time is at or before this and that no earlier digest lists is
    /// listed here or in a later digest (an event stored late: `verify` says so).
    pub period_end: Timestamp,
    /// The events, by id.
    pub events: Vec<DigestedEvent>,
    /// The previous digest's `documentSha256`; `None` for the first.
    pub previous_sha256: Option<String>,
}

impl DigestDocument {
    /// The SHA-256 (hex) of the document's canonical bytes.
    pub fn document_hash(&self) -> ApiResult<String> {
        Ok(sha256_hex(&canonical_json(self)?))
    }
}

/// The bytes KMS signs (as a RAW message: KMS hashes them with SHA-256 itself).
pub fn string_to_sign(document: &DigestDocument, document_sha256: &str) -> Vec<u8> {
    format!(
        "{DIGEST_FORMAT}\n{}\n{}\n{document_sha256}",
        document.organization_id, document.sequence
    )
    .into_bytes()
}

/// A digest as stored and listed: the document, its hash and the signature over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditDigest {
    #[serde(flatten)]
    pub document: DigestDocument,
    pub document_sha256: String,
    /// The DER signature, base64.
    pub signature: String,
    /// `ECDSA_SHA_256`.
    pub signing_algorithm: String,
    /// The KMS key that signed it (its ARN).
    pub key_id: String,
    pub created_at: Timestamp,
}

/// A public key as `GET /audit-events/public-key` gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub key_id: String,
    /// `ECDSA_SHA_256`.
    pub signing_algorithm: String,
    /// The DER `SubjectPublicKeyInfo`, base64.
    pub public_key: String,
    /// The same key as PEM, for `openssl`.
    pub pem: String,
}

impl PublicKey {
    pub fn from_der(key_id: String, der: &[u8]) -> PublicKey {
        let encoded = BASE64.encode(der);
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect();
        PublicKey {
            key_id,
            signing_algorithm: SIGNING_ALGORITHM.to_string(),
            pem: format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                lines.join("\n")
            ),
            public_key: encoded,
        }
    }

    /// Whether `signature` (base64 DER) is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let (Ok(key), Ok(signature)) = (BASE64.decode(&self.public_key), BASE64.decode(signature)) else {
            return false;
        };
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, key)
            .verify(message, &signature)
            .is_ok()
    }
}

impl PublicKey {
    /// A key from its PEM (`-----BEGIN PUBLIC KEY-----`), as `openssl` and our own
    /// `pem` field write it.
    pub fn from_pem(key_id: String, pem: &str) -> ApiResult<PublicKey> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("-----"))
            .collect();
        let der = BASE64
            .decode(body)
            .map_err(|_| ApiError::validation("publicKey", "the PEM's body is not base64"))?;
        Ok(PublicKey::from_der(key_id, &der))
    }
}

/// What an offline verifier needs, exported from the API as it is (`scripts/audit-bundle`):
/// the events of a range, the digests that cover them, and the public key. The verifier
/// recomputes everything and trusts none of it but the key, which it can take from
/// elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditBundle {
    pub from: Timestamp,
    pub to: Timestamp,
    pub public_key: PublicKey,
    /// The digests whose period ends from the digest before `from` on.
    pub digests: Vec<AuditDigest>,
    /// Every event of `from`–`to`.
    pub events: Vec<AuditEvent>,
}

/// How long after an event the hourly digest job has surely covered it: an hour and the
/// lookback. The offline verifier expects a digest of every event older than this at the
/// bundle's `to`; the server knows its job's watermark and needs no such rule.
pub const EXPECTED_COVER: Duration = Duration::from_secs(3600 + 300);

/// Verifies a bundle with `trusted` (or, without one, the key the bundle carries), trusting
/// nothing else the server says: the bundle holds the chain from its first digest (a
/// first digest past sequence 1 means digests were deleted), and any event older than
/// `EXPECTED_COVER` at `to` must be in a digest, as the hourly job puts it there.
pub fn verify_bundle(bundle: &AuditBundle, trusted: Option<&PublicKey>) -> ApiResult<VerificationReport> {
    let expected = bundle.to.millis() - i64::try_from(EXPECTED_COVER.as_millis()).unwrap_or(0);
    let chain = ChainState {
        from_the_start: true,
        covered_until: Some(Timestamp::from_millis(expected)),
        ..ChainState::default()
    };
    verify(
        &bundle.digests,
        &bundle.events,
        (bundle.from, bundle.to),
        trusted.unwrap_or(&bundle.public_key),
        chain,
    )
}

/// An event a later digest lists although its time falls in an earlier digest's period: it
/// was stored after that period's digest (a slow writer), and is covered all the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LateEvent {
    pub id: EventId,
    /// The digest that lists it.
    pub covered_by: u64,
    /// The digest whose period its time falls in.
    pub belongs_to: u64,
}

/// What verification found over a time range. `verified` only when nothing is wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationReport {
    pub verified: bool,
    /// Stored events in the range.
    pub events_checked: usize,
    /// Stored events a digest lists with the same hash.
    pub events_covered: usize,
    /// Stored events whose bytes differ from what their digest lists.
    pub events_changed: Vec<EventId>,
    /// Events a digest lists that are not stored any more.
    pub events_missing: Vec<EventId>,
    /// Stored events no digest lists although a digest covers their time: written into the
    /// trail after the fact (or their digest is gone; or stored late, until the next run).
    pub events_not_digested: Vec<EventId>,
    /// Stored events newer than the latest digest: the next run covers them.
    pub events_pending: usize,
    pub late_events: Vec<LateEvent>,
    pub digests_checked: usize,
    /// Sequence numbers with no digest between the ones read.
    pub digests_missing: Vec<u64>,
    /// Digests whose document does not hash to what they say, or whose signature fails.
    pub digests_altered: Vec<u64>,
    /// Digests whose `previousSha256` is not their predecessor's hash.
    pub digests_out_of_chain: Vec<u64>,
}

/// What is known of the chain besides the digests read, so that a digest deleted at either
/// end of them shows too.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainState {
    /// No digest exists before the first read: the chain must begin at sequence 1 there.
    pub from_the_start: bool,
    /// The organization's latest digest (sequence, period end), as its chain head says.
    pub head: Option<(u64, Timestamp)>,
    /// Digests were read up to this period end.
    pub read_until: Timestamp,
    /// The digest job has covered every event up to this time: an event at or before it
    /// that no digest lists was not there when the job ran, or lost its digest.
    pub covered_until: Option<Timestamp>,
}

impl Default for ChainState {
    /// Nothing known beyond the digests read.
    fn default() -> Self {
        ChainState {
            from_the_start: false,
            head: None,
            read_until: Timestamp::from_millis(0),
            covered_until: None,
        }
    }
}

/// Checks `digests` (an organization's, any order; the one before the range first if it
/// exists) and `events` (every stored event of the range) against each other and the key.
/// `range` is the time range the events were read for: a digest's entries outside it are
/// not expected among them.
pub fn verify(
    digests: &[AuditDigest],
    events: &[AuditEvent],
    range: (Timestamp, Timestamp),
    key: &PublicKey,
    chain: ChainState,
) -> ApiResult<VerificationReport> {
    let mut report = VerificationReport {
        events_checked: events.len(),
        digests_checked: digests.len(),
        ..VerificationReport::default()
    };
    let mut ordered: Vec<&AuditDigest> = digests.iter().collect();
    ordered.sort_by_key(|digest| digest.document.sequence);

    // The digests: each intact, signed, and linked to the one before.
    let mut previous: Option<&AuditDigest> = None;
    for digest in &ordered {
        let document = &digest.document;
        let intact = document.format == DIGEST_FORMAT
            && document.document_hash()? == digest.document_sha256
            && digest.signing_algorithm == SIGNING_ALGORITHM
            && key.verifies(&string_to_sign(document, &digest.document_sha256), &digest.signature);
        if !intact {
            report.digests_altered.push(document.sequence);
        }
        match previous {
            Some(before) => {
                report
                    .digests_missing
                    .extend(before.document.sequence + 1..document.sequence);
                if document.sequence == before.document.sequence + 1
                    && document.previous_sha256.as_deref() != Some(before.document_sha256.as_str())
                {
                    report.digests_out_of_chain.push(document.sequence);
                }
            }
            None if chain.from_the_start => {
                report.digests_missing.extend(1..document.sequence);
                if document.sequence == 1 && document.previous_sha256.is_some() {
                    report.digests_out_of_chain.push(document.sequence);
                }
            }
            None => {}
        }
        previous = Some(digest);
    }

    // The latest digests, deleted: the head still names them.
    if let Some((head_sequence, head_end)) = chain.head {
        let last_read = ordered.last().map_or(0, |digest| digest.document.sequence);
        if head_end <= chain.read_until && head_sequence > last_read {
            report.digests_missing.extend(last_read + 1..=head_sequence);
        }
    }

    // The events: each listed once with its bytes' hash, none listed and gone.
    let mut listed: BTreeMap<&EventId, (&DigestedEvent, u64)> = BTreeMap::new();
    for digest in &ordered {
        for entry in &digest.document.events {
            listed.insert(&entry.id, (entry, digest.document.sequence));
        }
    }
    let digested_until = chain
        .covered_until
        .into_iter()
        .chain(ordered.last().map(|digest| digest.document.period_end))
        .max();
    let stored: BTreeSet<&EventId> = events.iter().map(|event| &event.id).collect();
    for event in events {
        match listed.get(&event.id) {
            Some((entry, sequence)) => {
                if entry.sha256 == event_hash(event)? {
                    report.events_covered += 1;
                } else {
                    report.events_changed.push(event.id.clone());
                }
                let belongs_to = ordered
                    .iter()
                    .find(|digest| event.occurred_at <= digest.document.period_end)
                    .map(|digest| digest.document.sequence);
                if let Some(belongs_to) = belongs_to.filter(|belongs| belongs < sequence) {
                    report.late_events.push(LateEvent {
                        id: event.id.clone(),
                        covered_by: *sequence,
                        belongs_to,
                    });
                }
            }
            None if digested_until.is_none_or(|end| event.occurred_at > end) => report.events_pending += 1,
            None => report.events_not_digested.push(event.id.clone()),
        }
    }
    let (from, to) = range;
    let (low, high) = (
        EventId::bounds_at(u64::try_from(from.millis()).unwrap_or(0)).0,
        EventId::bounds_at(u64::try_from(to.millis()).unwrap_or(0)).1,
    );
    for (id, _) in listed.iter() {
        let in_range = id.as_str() >= low.as_str() && id.as_str() <= high.as_str();
        if in_range && !stored.contains(id) {
            report.events_missing.push((*id).clone());
        }
    }
    report.verified = report.events_changed.is_empty()
        && report.events_missing.is_empty()
        && report.events_not_digested.is_empty()
        && report.digests_missing.is_empty()
        && report.digests_altered.is_empty()
        && report.digests_out_of_chain.is_empty();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    use super::*;
    use crate::ids::UserId;
    use crate::model::principal::Actor;

    /// A local P-256 key standing in for KMS: the same algorithm, DER signatures.
    struct LocalKey(EcdsaKeyPair);

    impl LocalKey {
        fn new() -> LocalKey {
            let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).unwrap();
            LocalKey(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, document.as_ref()).unwrap())
        }

        fn public(&self) -> PublicKey {
            let der = self.0.public_key().as_der().unwrap();
            PublicKey::from_der("local".into(), der.as_ref())
        }

        fn sign(&self, document: DigestDocument) -> AuditDigest {
            let document_sha256 = document.document_hash().unwrap();
            let signature = self
                .0
                .sign(&SystemRandom::new(), &string_to_sign(&document, &document_sha256))
                .unwrap();
            AuditDigest {
                document,
                document_sha256,
                signature: BASE64.encode(signature.as_ref()),
                signing_algorithm: SIGNING_ALGORITHM.into(),
                key_id: "local".into(),
                created_at: Timestamp::from_millis(0),
            }
        }
    }

    fn event(org: &OrgId, millis: i64, note: &str) -> AuditEvent {
        let actor = Actor {
            org_id: org.clone(),
            user_id: UserId::new(),
            api_key_id: None,
        };
        AuditEvent::new(
            &actor,
            Timestamp::from_millis(millis),
            "facility.created",
            "facility",
            "fac_01hx2m7k3q9v8c6b5n4m3k2j1h",
            json!({ "name": note, "b": 1, "a": [2, 1] }),
        )
    }

    /// Two digests over three events, as a run each would write them.
    fn chain(key: &LocalKey, org: &OrgId, events: &[AuditEvent]) -> Vec<AuditDigest> {
        let listed = |events: &[AuditEvent]| -> Vec<DigestedEvent> {
            events
                .iter()
                .map(|event| DigestedEvent {
                    id: event.id.clone(),
                    sha256: event_hash(event).unwrap(),
                })
                .collect()
        };
        let first = key.sign(DigestDocument {
            format: DIGEST_FORMAT.into(),
            organization_id: org.clone(),
            sequence: 1,
            period_start: Timestamp::from_millis(1_000),
            period_end: Timestamp::from_millis(2_500),
            events: listed(&events[..2]),
            previous_sha256: None,
        });
        let second = key.sign(DigestDocument {
            format: DIGEST_FORMAT.into(),
            organization_id: org.clone(),
            sequence: 2,
            period_start: Timestamp::from_millis(2_500),
            period_end: Timestamp::from_millis(4_000),
            events: listed(&events[2..]),
            previous_sha256: Some(first.document_sha256.clone()),
        });
        vec![first, second]
    }

    fn setup() -> (LocalKey, Vec<AuditEvent>, Vec<AuditDigest>) {
        let key = LocalKey::new();
        let org = OrgId::new();
        let events = vec![
            event(&org, 1_000, "one"),
            event(&org, 2_000, "two"),
            event(&org, 3_000, "three"),
        ];
        let digests = chain(&key, &org, &events);
        (key, events, digests)
    }

    fn start() -> ChainState {
        ChainState {
            from_the_start: true,
            ..ChainState::default()
        }
    }

    fn range() -> (Timestamp, Timestamp) {
        (Timestamp::from_millis(0), Timestamp::from_millis(10_000))
    }

    #[test]
    fn canonical_bytes_sort_keys_at_every_level_and_hash_stably() {
        let org = OrgId::new();
        let event = event(&org, 1_000, "Zoë");
        let text = String::from_utf8(canonical_event(&event).unwrap()).unwrap();
        assert!(
            text.starts_with("{\"action\":\"facility.created\",\"actorApiKeyId\":null,\"actorId\":"),
            "{text}"
        );
        assert!(
            text.contains("\"summary\":{\"a\":[2,1],\"b\":1,\"name\":\"Zoë\"}"),
            "{text}"
        );
        assert!(!text.contains(' '));
        let again: AuditEvent = serde_json::from_slice(&canonical_event(&event).unwrap()).unwrap();
        assert_eq!(event_hash(&again).unwrap(), event_hash(&event).unwrap());
    }

    #[test]
    fn a_bundle_verifies_with_its_pem_key_and_fails_with_another() {
        let (key, events, digests) = setup();
        let public = key.public();
        let bundle = AuditBundle {
            from: range().0,
            to: range().1,
            public_key: public.clone(),
            digests,
            events,
        };
        let text = serde_json::to_string(&bundle).unwrap();
        let read: AuditBundle = serde_json::from_str(&text).unwrap();
        let pinned = PublicKey::from_pem("pinned".into(), &public.pem).unwrap();
        assert!(verify_bundle(&read, Some(&pinned)).unwrap().verified);
        assert!(verify_bundle(&read, None).unwrap().verified);
        let stranger = LocalKey::new().public();
        assert!(!verify_bundle(&read, Some(&stranger)).unwrap().verified);
    }

    #[test]
    fn an_untouched_trail_verifies() {
        let (key, events, digests) = setup();
        let report = verify(&digests, &events, range(), &key.public(), start()).unwrap();
        assert!(report.verified, "{report:#?}");
        assert_eq!(report.events_covered, 3);
        assert_eq!(report.digests_checked, 2);
    }

    #[test]
    fn a_changed_deleted_or_inserted_event_is_named() {
        let (key, mut events, digests) = setup();
        events[0].summary = json!({ "name": "forged" });
        let deleted = events.remove(1);
        let inserted = event(&events[0].organization_id, 1_500, "inserted");
        events.push(inserted.clone());
        let report = verify(&digests, &events, range(), &key.public(), start()).unwrap();
        assert!(!report.verified);
        assert_eq!(report.events_changed, vec![events[0].id.clone()]);
        assert_eq!(report.events_missing, vec![deleted.id]);
        assert_eq!(report.events_not_digested, vec![inserted.id]);
    }

    #[test]
    fn swapping_two_events_contents_changes_both() {
        let (key, mut events, digests) = setup();
        let (first, second) = (events[0].summary.clone(), events[1].summary.clone());
        events[0].summary = second;
        events[1].summary = first;
        let report = verify(&digests, &events, range(), &key.public(), start()).unwrap();
        assert_eq!(report.events_changed, vec![events[0].id.clone(), events[1].id.clone()]);
    }

    #[test]
    fn a_deleted_edited_or_unlinked_digest_is_named() {
        let (key, events, digests) = setup();
        let report = verify(&digests[1..], &events, range(), &key.public(), start()).unwrap();
        assert!(!report.verified);
        assert_eq!(report.digests_missing, vec![1]);
        assert_eq!(
            report.events_not_digested.len(),
            2,
            "the first digest's events lost their cover"
        );
        let report = verify(
            &digests[1..],
            &events[2..],
            range(),
            &key.public(),
            ChainState::default(),
        )
        .unwrap();
        assert!(
            report.verified,
            "a range that starts after the first digest: {report:#?}"
        );

        let mut edited = digests.clone();
        edited[0].document.events.pop();
        let report = verify(&edited, &events, range(), &key.public(), start()).unwrap();
        assert_eq!(report.digests_altered, vec![1]);

        let mut forged = digests.clone();
        forged[0] = key.sign(DigestDocument {
            events: vec![],
            ..forged[0].document.clone()
        });
        let report = verify(&forged, &events, range(), &key.public(), start()).unwrap();
        assert_eq!(
            report.digests_out_of_chain,
            vec![2],
            "re-signed, the chain still breaks"
        );

        let mut gap = digests.clone();
        gap[1].document.sequence = 3;
        let resigned = key.sign(gap[1].document.clone());
        let report = verify(&[gap[0].clone(), resigned], &events, range(), &key.public(), start()).unwrap();
        assert_eq!(report.digests_missing, vec![2]);

        // The latest digest deleted: the head still names it, and the job had covered its
        // events.
        let chain = ChainState {
            from_the_start: true,
            head: Some((2, Timestamp::from_millis(4_000))),
            read_until: Timestamp::from_millis(10_000),
            covered_until: Some(Timestamp::from_millis(4_000)),
        };
        let report = verify(&digests[..1], &events, range(), &key.public(), chain).unwrap();
        assert_eq!(report.digests_missing, vec![2]);
        assert_eq!(report.events_not_digested, vec![events[2].id.clone()]);
        assert_eq!(report.events_pending, 0);

        let other = LocalKey::new();
        let report = verify(&digests, &events, range(), &other.public(), start()).unwrap();
        assert_eq!(report.digests_altered, vec![1, 2], "another key signed none of them");
    }

    #[test]
    fn an_event_stored_after_its_period_digest_is_covered_late_and_new_ones_are_pending() {
        let (key, events, _) = setup();
        let org = events[0].organization_id.clone();
        // The third event's time is in the first period, but the second digest lists it.
        let late = event(&org, 2_200, "late");
        let all = vec![events[0].clone(), events[1].clone(), late.clone()];
        let digests = chain(&key, &org, &all);
        let pending = event(&org, 9_000, "new");
        let mut stored = all.clone();
        stored.push(pending);
        let report = verify(&digests, &stored, range(), &key.public(), start()).unwrap();
        assert!(report.verified, "{report:#?}");
        assert_eq!(
            report.late_events,
            vec![LateEvent {
                id: late.id,
                covered_by: 2,
                belongs_to: 1
            }]
        );
        assert_eq!(report.events_pending, 1);
    }
}
