//! Typed ids: a type prefix plus a time-ordered ULID in lowercase (`usr_01hx2m7…`).
//!
//! Time-ordered ids make sort keys sort by creation, which is what lists and the audit
//! trail need. They are parsed at the edge, so a malformed id is a 400 naming the field.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

use crate::error::ApiError;

/// A new time-ordered ULID. UUIDv7 from `uuid` is monotonic within a process, so ids
/// created in one millisecond still sort in creation order.
pub fn new_ulid() -> Ulid {
    Ulid::from_bytes(uuid::Uuid::now_v7().into_bytes())
}

/// A ULID of the instant `millis` (an event's, from the injected clock): its time part is
/// exactly that instant, since time-range queries read it back from the id. Ids made in
/// one millisecond sort in creation order (the random part counts up). Unlike UUIDv7's
/// context, an instant earlier than the last one is kept as it is, not moved forward: a
/// clock set back (a test's fixed clock, a corrected host clock) must not date an event
/// later than it happened.
pub fn ulid_at(millis: i64) -> Ulid {
    // The last id of each recent millisecond: instants may interleave (a process serving
    // several clocks, as the tests do), and each millisecond keeps its own order.
    static LAST: std::sync::Mutex<std::collections::BTreeMap<u64, Ulid>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    const RANDOM_BITS: u128 = (1 << 80) - 1;
    const REMEMBERED: usize = 256;
    let millis = u64::try_from(millis).unwrap_or(0);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let fresh = || Ulid::from_parts(millis, rand::random::<u128>() & RANDOM_BITS);
    let next = match last.get(&millis) {
        Some(previous) => previous.increment().unwrap_or_else(fresh),
        None => fresh(),
    };
    last.insert(millis, next);
    if last.len() > REMEMBERED {
        last.pop_first();
    }
    next
}

/// What `is_ulid_text` accepts, as a malformed id's message states it after the prefix.
pub const ULID_FORM: &str = "exactly 26 characters of a ULID in lowercase Crockford base32 \
     (the digits 0-9 and the lowercase letters a-z other than i, l, o and u)";

/// The ULID of the example id in messages and in the OpenAPI document.
pub const EXAMPLE_ULID: &str = "01hx2m7k3q9v8c6b5n4m3k2j1h";

/// The whole form of an id with `prefix`, for messages: `` `usr_` followed by exactly 26
/// characters of a ULID …, like `usr_01hx…` ``.
pub fn expected_form(prefix: &str) -> String {
    format!("`{prefix}` followed by {ULID_FORM}, like `{prefix}{EXAMPLE_ULID}`")
}

/// 26 characters of lowercase Crockford base32, as `new` writes them (`ULID_FORM`).
pub fn is_ulid_text(text: &str) -> bool {
    text.len() == 26
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_lowercase() && !matches!(b, b'i' | b'l' | b'o' | b'u')))
        && Ulid::from_string(text).is_ok()
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn new() -> Self {
                $name(format!("{}{}", $prefix, new_ulid().to_string().to_lowercase()))
            }

            /// Parses a client-supplied id; `field` names it in the error.
            pub fn parse(field: &str, text: &str) -> Result<Self, ApiError> {
                match text.strip_prefix($prefix) {
                    Some(rest) if is_ulid_text(rest) => Ok($name(text.to_string())),
                    _ => Err(ApiError::validation(
                        field,
                        format!("`{field}` must be {} id: {}", $what, expected_form($prefix)),
                    )),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "[0-9a-hjkmnp-tv-z]{26}$")))
                    .description(Some(format!(
                        "The id of {}: `{}` followed by {ULID_FORM}; ids sort by creation.",
                        $what, $prefix
                    )))
                    .examples([format!("{}{EXAMPLE_ULID}", $prefix)])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse("id", &text).map_err(|_| {
                    serde::de::Error::custom(format!("expected {} id: {}", $what, expected_form($prefix)))
                })
            }
        }
    };
}

typed_id!(OrgId, "org_", "an organization");
typed_id!(UserId, "usr_", "a user");
typed_id!(RoleId, "role_", "a role");
typed_id!(ApiKeyId, "key_", "an API key");
typed_id!(EventId, "evt_", "an audit event");
typed_id!(CsmAssignmentId, "csm_", "a CIP Senior Manager assignment");
typed_id!(InvitationId, "inv_", "an invitation");
typed_id!(FacilityId, "fac_", "a facility");
typed_id!(TrainingModuleId, "tm_", "a training module");
typed_id!(TrainingAssignmentId, "ta_", "a training assignment");
typed_id!(EvidencePackageId, "evp_", "an evidence package");
typed_id!(WebhookEndpointId, "whe_", "a webhook endpoint");
typed_id!(TrainingRequirementId, "trq_", "a training requirement");
typed_id!(GroupId, "grp_", "a group");

impl UserId {
    /// The actor of changes Raptor Comply makes on its own (the daily training job): the
    /// zero ULID, a time no issued id can have, so it never names a member or an API key.
    /// `GET /audit-events?actorId=usr_00000000000000000000000000` lists what it did.
    pub fn system() -> UserId {
        UserId(format!("{}{}", UserId::PREFIX, "0".repeat(26)))
    }
}

impl EventId {
    /// The id of an event that happened at `at`: event ids sort by time, and a time range
    /// of the audit trail is an id range, so the id carries the event's own instant.
    pub fn at(at: crate::time::Timestamp) -> EventId {
        EventId(format!(
            "{}{}",
            EventId::PREFIX,
            ulid_at(at.millis()).to_string().to_lowercase()
        ))
    }

    /// The largest time a ULID can hold (48 bits of milliseconds).
    pub const MAX_MILLIS: u64 = (1 << 48) - 1;

    /// The smallest and largest event ids of a millisecond, for time-range queries.
    pub fn bounds_at(millis: u64) -> (String, String) {
        let low = Ulid::from_parts(millis, 0).to_string().to_lowercase();
        let high = Ulid::from_parts(millis, u128::MAX).to_string().to_lowercase();
        (format!("{}{low}", Self::PREFIX), format!("{}{high}", Self::PREFIX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_id_carries_its_instant_even_after_a_later_one() {
        let later = ulid_at(1_900_000_000_000);
        let earlier = ulid_at(1_700_000_000_000);
        assert_eq!(later.timestamp_ms(), 1_900_000_000_000);
        assert_eq!(
            earlier.timestamp_ms(),
            1_700_000_000_000,
            "not moved forward to the last instant"
        );
    }

    #[test]
    fn new_ids_carry_their_prefix_and_parse_back() {
        let id = UserId::new();
        assert!(id.as_str().starts_with("usr_"));
        assert_eq!(id.as_str().len(), 4 + 26);
        assert_eq!(UserId::parse("id", id.as_str()).unwrap(), id);
    }

    #[test]
    fn ids_created_in_sequence_sort_in_creation_order() {
        let ids: Vec<EventId> = (0..200).map(|_| EventId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn malformed_ids_are_validation_errors_naming_the_field() {
        for bad in [
            "",
            "usr_",
            "org_01hx2m7k3q9v8c6b5n4m3k2j1h",
            "usr_01HX2M7K3Q9V8C6B5N4M3K2J1H",
            "usr_01hx2m7k3q9v8c6b5n4m3k2j1",
            "usr_01hx2m7k3q9v8c6b5n4m3k2j1h/../x",
        ] {
            match UserId::parse("userId", bad) {
                Err(ApiError::Validation { field, .. }) => assert_eq!(field, "userId"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    /// Each id type's prefix and parser, for tests that hold for all of them.
    type Parse = fn(&str) -> Result<(), ApiError>;
    const EVERY_ID: [(&str, Parse); 11] = [
        (OrgId::PREFIX, |text| OrgId::parse("someId", text).map(drop)),
        (UserId::PREFIX, |text| UserId::parse("someId", text).map(drop)),
        (RoleId::PREFIX, |text| RoleId::parse("someId", text).map(drop)),
        (ApiKeyId::PREFIX, |text| ApiKeyId::parse("someId", text).map(drop)),
        (EventId::PREFIX, |text| EventId::parse("someId", text).map(drop)),
        (CsmAssignmentId::PREFIX, |text| {
            CsmAssignmentId::parse("someId", text).map(drop)
        }),
        (InvitationId::PREFIX, |text| {
            InvitationId::parse("someId", text).map(drop)
        }),
        (FacilityId::PREFIX, |text| FacilityId::parse("someId", text).map(drop)),
        (TrainingModuleId::PREFIX, |text| {
            TrainingModuleId::parse("someId", text).map(drop)
        }),
        (TrainingAssignmentId::PREFIX, |text| {
            TrainingAssignmentId::parse("someId", text).map(drop)
        }),
        (EvidencePackageId::PREFIX, |text| {
            EvidencePackageId::parse("someId", text).map(drop)
        }),
    ];

    /// The message states the whole form whatever is wrong: the prefix, the length, the case
    /// and the alphabet, so a client can fix `fac_01ha3x2` without guessing.
    #[test]
    fn every_malformed_id_message_states_the_prefix_and_the_26_character_form() {
        for (index, (prefix, parse)) in EVERY_ID.iter().enumerate() {
            let (other_prefix, _) = EVERY_ID[(index + 1) % EVERY_ID.len()];
            let malformed = [
                // no prefix
                EXAMPLE_ULID.to_string(),
                String::new(),
                // another type's prefix
                format!("{other_prefix}{EXAMPLE_ULID}"),
                format!("{}{EXAMPLE_ULID}", prefix.to_uppercase()),
                // the right prefix, the wrong length
                format!("{prefix}01ha3x2"),
                prefix.to_string(),
                format!("{prefix}{EXAMPLE_ULID}0"),
                // the right prefix and length, characters outside lowercase Crockford base32
                format!("{prefix}{}", EXAMPLE_ULID.to_uppercase()),
                format!("{prefix}01hx2m7k3q9v8c6b5n4m3k2j1i"),
                format!("{prefix}01hx2m7k3q9v8c6b5n4m3k2j1u"),
                format!("{prefix}01hx2m7k3q9v8c6b5n4m3k2j1-"),
                format!("{prefix}01hx2m7k3q9v8c6b5n4m3k2j1é"),
            ];
            for text in malformed {
                match parse(&text) {
                    Err(ApiError::Validation { field, message }) => {
                        assert_eq!(field, "someId");
                        let form = format!(
                            " id: `{prefix}` followed by exactly 26 characters of a ULID in lowercase Crockford \
                             base32 (the digits 0-9 and the lowercase letters a-z other than i, l, o and u), \
                             like `{prefix}{EXAMPLE_ULID}`"
                        );
                        assert!(message.starts_with("`someId` must be a"), "{text:?}: {message}");
                        assert!(message.ends_with(&form), "{text:?}: {message}");
                    }
                    other => panic!("{text:?} gave {other:?}"),
                }
            }
            // The example in the message is itself an id of that type.
            parse(&format!("{prefix}{EXAMPLE_ULID}")).unwrap();
        }
    }

    #[test]
    fn a_malformed_id_in_a_body_states_the_whole_form_too() {
        let error = serde_json::from_str::<FacilityId>("\"fac_01ha3x2\"").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("expected a facility id: {}", expected_form("fac_"))
        );
        assert!(error.to_string().contains("`fac_` followed by exactly 26 characters"));
    }

    use proptest::prelude::*;

    proptest! {
        /// Every id the parser accepts serialises to the same text and parses back equal.
        #[test]
        fn accepted_ids_round_trip(text in "usr_[0-9a-z]{26}|usr_\\PC{0,30}|\\PC{0,34}") {
            if let Ok(id) = UserId::parse("id", &text) {
                prop_assert_eq!(id.as_str(), text.as_str());
                let stored = serde_json::to_value(&id).unwrap();
                prop_assert_eq!(serde_json::from_value::<UserId>(stored).unwrap(), id);
            }
        }

        #[test]
        fn new_ids_always_parse(_seed in 0u8..) {
            let id = CsmAssignmentId::new();
            prop_assert_eq!(CsmAssignmentId::parse("id", id.as_str()).unwrap(), id);
        }
    }
}
