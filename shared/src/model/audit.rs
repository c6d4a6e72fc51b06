//! The audit trail: every mutation writes one immutable event in the same transaction as
//! the change, so the record of who did what can never disagree with the data.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, EXAMPLE_ULID, EventId, OrgId, ULID_FORM, UserId, is_ulid_text};
use crate::model::principal::Actor;
use crate::time::Timestamp;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: EventId,
    pub organization_id: OrgId,
    /// What happened, as `<resource>.<verb>` (e.g. `user.created`).
    pub action: String,
    pub actor_id: UserId,
    pub actor_api_key_id: Option<ApiKeyId>,
    pub target_type: String,
    pub target_id: String,
    pub occurred_at: Timestamp,
    /// What changed; never a secret.
    pub summary: Value,
}

impl AuditEvent {
    pub fn new(actor: &Actor, at: Timestamp, action: &str, target_type: &str, target_id: &str, summary: Value) -> Self {
        AuditEvent {
            id: EventId::at(at),
            organization_id: actor.org_id.clone(),
            action: action.to_string(),
            actor_id: actor.user_id.clone(),
            actor_api_key_id: actor.api_key_id.clone(),
            target_type: target_type.to_string(),
            target_id: target_id.to_string(),
            occurred_at: at,
            summary,
        }
    }
}

/// Which events to list; every filter is optional.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub target_id: Option<String>,
    pub actor_id: Option<UserId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl AuditFilter {
    pub fn parse(
        target_id: Option<&str>,
        actor_id: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> ApiResult<AuditFilter> {
        let target_id = match target_id {
            Some(text) if is_resource_id(text) => Some(text.to_string()),
            Some(_) => {
                return Err(ApiError::validation(
                    "targetId",
                    format!(
                        "`targetId` must be a resource id: its type's prefix (`usr_`, `ta_`, …) followed by \
                         {ULID_FORM}, like `usr_{EXAMPLE_ULID}`"
                    ),
                ));
            }
            None => None,
        };
        let filter = AuditFilter {
            target_id,
            actor_id: actor_id.map(|text| UserId::parse("actorId", text)).transpose()?,
            from: from.map(|text| Timestamp::parse("from", text)).transpose()?,
            to: to.map(|text| Timestamp::parse("to", text)).transpose()?,
        };
        // The range becomes a key condition `BETWEEN <from> AND <to>`, which DynamoDB refuses
        // reversed; the later bound is the one named.
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            return Err(ApiError::validation("to", "`to` must not be earlier than `from`"));
        }
        Ok(filter)
    }

    pub fn fingerprint(&self) -> String {
        format!(
            "audit-events?targetId={}&actorId={}&from={}&to={}",
            self.target_id.as_deref().unwrap_or_default(),
            self.actor_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            self.from.map(|t| t.millis().to_string()).unwrap_or_default(),
            self.to.map(|t| t.millis().to_string()).unwrap_or_default(),
        )
    }

    /// Event ids sort by time, so a time range is an id range.
    pub fn id_range(&self) -> (String, String) {
        let low = self.from.map(|t| u64::try_from(t.millis()).unwrap_or(0)).unwrap_or(0);
        let high = self
            .to
            .map(|t| u64::try_from(t.millis()).unwrap_or(0))
            .unwrap_or(EventId::MAX_MILLIS);
        (EventId::bounds_at(low).0, EventId::bounds_at(high).1)
    }
}

/// `<prefix>_<ulid>`, the shape of every id we issue, with the ULID as the typed ids
/// parse it (an uppercase or `i`/`l`/`o`/`u` ULID names no record).
fn is_resource_id(text: &str) -> bool {
    match text.split_once('_') {
        Some((prefix, rest)) => {
            !prefix.is_empty()
                && prefix.len() <= 8
                && prefix.bytes().all(|b| b.is_ascii_lowercase())
                && is_ulid_text(rest)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_target_id_message_states_the_whole_form() {
        let user = UserId::new();
        let filter = AuditFilter::parse(Some(user.as_str()), None, None, None).unwrap();
        assert_eq!(filter.target_id.as_deref(), Some(user.as_str()));
        for bad in [
            "../../x",
            "01hx2m7k3q9v8c6b5n4m3k2j1h",
            "usr_01ha3x2",
            "usr_01HX2M7K3Q9V8C6B5N4M3K2J1H",
            "usr_01hx2m7k3q9v8c6b5n4m3k2j1i",
            "USR_01hx2m7k3q9v8c6b5n4m3k2j1h",
        ] {
            match AuditFilter::parse(Some(bad), None, None, None) {
                Err(ApiError::Validation { field, message }) => {
                    assert_eq!(field, "targetId");
                    assert_eq!(
                        message,
                        "`targetId` must be a resource id: its type's prefix (`usr_`, `ta_`, …) followed by exactly \
                         26 characters of a ULID in lowercase Crockford base32 (the digits 0-9 and the lowercase \
                         letters a-z other than i, l, o and u), like `usr_01hx2m7k3q9v8c6b5n4m3k2j1h`"
                    );
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_reversed_time_range_is_refused_naming_to_and_its_id_range_is_in_order() {
        let refused =
            AuditFilter::parse(None, None, Some("2025-02-01T00:00:00Z"), Some("2025-01-01T00:00:00Z")).unwrap_err();
        assert!(
            matches!(&refused, ApiError::Validation { field, .. } if field == "to"),
            "{refused:?}"
        );
        for (from, to) in [
            (Some("2025-01-01T00:00:00Z"), Some("2025-01-01T00:00:00Z")),
            (Some("2025-01-01T00:00:00Z"), None),
            (None, Some("1970-01-01T00:00:00Z")),
            (None, None),
        ] {
            let (low, high) = AuditFilter::parse(None, None, from, to).unwrap().id_range();
            assert!(low <= high, "{from:?}..{to:?}");
        }
    }
}
