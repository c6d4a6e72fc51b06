//! The key design of the single table. Every partition of an organization's data starts
//! with `ORG#<org id>`, so a key built from the caller's organization can only ever reach
//! that organization's items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::Item;
use crate::ids::{
    ApiKeyId, CsmAssignmentId, FacilityId, GroupId, InvitationId, OrgId, TrainingAssignmentId, TrainingModuleId, UserId,
};
use crate::model::idempotency::{IdempotencyKey, IdempotencyScope};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
/// GSI3–GSI6 order an organization's training assignments by due date, by progress, by
/// completion and by expiry (`docs/access-patterns.md`).
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
pub const GSI3SK: &str = "GSI3SK";
pub const GSI4: &str = "GSI4";
pub const GSI4PK: &str = "GSI4PK";
pub const GSI4SK: &str = "GSI4SK";
pub const GSI5: &str = "GSI5";
pub const GSI5PK: &str = "GSI5PK";
pub const GSI5SK: &str = "GSI5SK";
pub const GSI6: &str = "GSI6";
pub const GSI6PK: &str = "GSI6PK";
pub const GSI6SK: &str = "GSI6SK";

/// GSI7 is the daily job's, across organizations and sparse: open assignments not yet
/// marked overdue by due date, and completions not yet renewed by expiry, in partitions of
/// their own (an assignment is never both).
pub const GSI7: &str = "GSI7";
pub const GSI7PK: &str = "GSI7PK";
pub const GSI7SK: &str = "GSI7SK";

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk.into())),
        (SK.to_string(), AttributeValue::S(sk.into())),
    ])
}

pub fn string_attribute(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

pub fn org_partition(org: &OrgId) -> String {
    format!("ORG#{org}")
}

pub const ORG_PROFILE: &str = "ORG";
pub const ROLES_DOCUMENT: &str = "ROLES";
pub const MEMBER_PREFIX: &str = "MEMBER#";
/// How many active members hold the admin role; never below one.
pub const ADMIN_COUNT: &str = "ADMINS";

pub fn member_sort_key(user: &UserId) -> String {
    format!("{MEMBER_PREFIX}{user}")
}

/// Uniqueness marker for an email within one organization (compared case-insensitively).
pub fn email_sort_key(email_lowercase: &str) -> String {
    format!("EMAIL#{email_lowercase}")
}

/// GSI1 partition of one user account: its memberships across organizations.
pub fn user_memberships_partition(user: &UserId) -> String {
    format!("USER#{user}")
}

/// GSI2 partition of the memberships with one email, across organizations (invitations
/// join an existing account).
pub fn account_email_partition(email_lowercase: &str) -> String {
    format!("ACCOUNT_EMAIL#{email_lowercase}")
}

/// An invitation, read by the id its token names (validate and accept take no API key).
pub fn invitation_key(id: &InvitationId) -> Item {
    key(format!("INV#{id}"), "INV")
}

/// GSI1 partition listing an organization's invitations, newest first by id.
pub fn org_invitations_partition(org: &OrgId) -> String {
    format!("ORG#{org}#INVITATIONS")
}

/// At most one pending invitation per email in an organization.
pub fn pending_invitation_sort_key(email_lowercase: &str) -> String {
    format!("INVITE_EMAIL#{email_lowercase}")
}

/// Invitation emails sent on one UTC day, for the daily cap.
pub fn invitation_emails_sort_key(day: &str) -> String {
    format!("INVITE_SENDS#{day}")
}

/// Uniqueness marker for an organization's name, used by bootstrap to be idempotent.
pub fn organization_name_key(name_lowercase: &str) -> Item {
    key(format!("ORGNAME#{name_lowercase}"), "ORGNAME")
}

pub fn api_key_key(id: &ApiKeyId) -> Item {
    key(format!("APIKEY#{id}"), "APIKEY")
}

/// GSI1 partition listing an organization's API keys.
pub fn org_api_keys_partition(org: &OrgId) -> String {
    format!("ORG#{org}#APIKEYS")
}

pub fn audit_partition(org: &OrgId) -> String {
    format!("ORG#{org}#AUDIT")
}

/// GSI1 partition of the audit events about one target.
pub fn audit_target_partition(org: &OrgId, target_id: &str) -> String {
    format!("ORG#{org}#TARGET#{target_id}")
}

/// GSI2 partition of the audit events made by one actor.
pub fn audit_actor_partition(org: &OrgId, actor: &UserId) -> String {
    format!("ORG#{org}#ACTOR#{actor}")
}

pub const CSM_ASSIGNMENT_PREFIX: &str = "CSM#";
/// Points at the current CIP Senior Manager assignment; every designation change is
/// conditioned on it, so there is never more than one current designation.
pub const CSM_CURRENT: &str = "CSM_CURRENT";

/// GSI1 partition of an organization's CIP Senior Manager assignments, by effective date.
pub fn csm_by_date_partition(org: &OrgId) -> String {
    format!("ORG#{org}#CSM")
}

pub fn csm_assignment_sort_key(id: &CsmAssignmentId) -> String {
    format!("{CSM_ASSIGNMENT_PREFIX}{id}")
}

pub const FACILITY_PREFIX: &str = "FAC#";

pub fn facility_sort_key(id: &FacilityId) -> String {
    format!("{FACILITY_PREFIX}{id}")
}

/// Uniqueness marker for a facility's name within one organization (case-insensitive).
pub fn facility_name_sort_key(name_key: &str) -> String {
    format!("FACNAME#{name_key}")
}

pub const GROUP_PREFIX: &str = "GRP#";

pub fn group_sort_key(id: &GroupId) -> String {
    format!("{GROUP_PREFIX}{id}")
}

/// Uniqueness marker for a group's name within one organization (case-insensitive).
pub fn group_name_sort_key(name_key: &str) -> String {
    format!("GRPNAME#{name_key}")
}

/// GSI3 partition of an organization's groups with one `externalId` (sparse).
pub fn groups_with_external_id_partition(org: &OrgId, external_id: &str) -> String {
    format!("ORG#{org}#GROUP_EXTID#{}", digest_part(external_id))
}

pub const TRAINING_MODULE_PREFIX: &str = "TM#";

pub fn training_module_sort_key(id: &TrainingModuleId) -> String {
    format!("{TRAINING_MODULE_PREFIX}{id}")
}

pub const TRAINING_ASSIGNMENT_PREFIX: &str = "TA#";

pub fn training_assignment_sort_key(id: &TrainingAssignmentId) -> String {
    format!("{TRAINING_ASSIGNMENT_PREFIX}{id}")
}

/// GSI1 partition of one person's training assignments in an organization.
pub fn assignments_of_user_partition(org: &OrgId, user: &UserId) -> String {
    format!("ORG#{org}#TA_USER#{user}")
}

/// GSI2 partition of one module's training assignments.
pub fn assignments_of_module_partition(org: &OrgId, module: &TrainingModuleId) -> String {
    format!("ORG#{org}#TA_MODULE#{module}")
}

/// A text of any length as a key part: its SHA-256 in hex (a URL or an IdP's id may
/// exceed what a key holds; equal texts give equal keys).
fn digest_part(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// GSI3 partition (sparse) of the members with one `externalId`, which an xAPI
/// statement's `account.name` is matched to.
pub fn members_with_external_id_partition(org: &OrgId, external_id: &str) -> String {
    format!("ORG#{org}#MEMBER_EXTID#{}", digest_part(external_id))
}

/// GSI3 partition (sparse) of the training modules with one `externalModuleUrl`, which an
/// xAPI statement's activity id is matched to.
pub fn modules_with_activity_partition(org: &OrgId, url: &str) -> String {
    format!("ORG#{org}#MODULE_URL#{}", digest_part(url))
}

/// The xAPI statements an organization's LMS sent: `ORG#<org>#XAPI / STMT#<uuid>`.
pub fn statements_partition(org: &OrgId) -> String {
    format!("ORG#{org}#XAPI")
}

pub fn statement_sort_key(id: &str) -> String {
    format!("STMT#{id}")
}

/// GSI1 partition (sparse) of the statements that matched nothing, by when stored.
pub fn unmatched_statements_partition(org: &OrgId) -> String {
    format!("ORG#{org}#XAPI_UNMATCHED")
}

/// GSI3 partition of an organization's training assignments by due date.
pub fn assignments_by_due_date_partition(org: &OrgId) -> String {
    format!("ORG#{org}#TA_DUE")
}

/// GSI4 partition of an organization's training assignments in one progress group
/// (`open`, `complete`, `waived`).
pub fn assignments_in_group_partition(org: &OrgId, group: &str) -> String {
    format!("ORG#{org}#TA_STATUS#{group}")
}

/// GSI5 partition of an organization's completed assignments by completion time.
pub fn assignments_by_completion_partition(org: &OrgId) -> String {
    format!("ORG#{org}#TA_COMPLETED")
}

/// GSI6 partition of an organization's completions that expire, by expiry.
pub fn assignments_by_expiry_partition(org: &OrgId) -> String {
    format!("ORG#{org}#TA_EXPIRES")
}

/// The daily job's indexes spread their rows over this many partitions, so no single
/// partition takes every organization's training writes.
pub const SCHEDULE_SHARDS: u8 = 8;

/// Which of the daily job's partitions holds an assignment: from the id's last (random)
/// character, so it never changes.
pub fn schedule_shard(id: &TrainingAssignmentId) -> u8 {
    id.as_str().bytes().last().unwrap_or(0) % SCHEDULE_SHARDS
}

/// GSI7 partition: open assignments not yet marked overdue, all organizations, one shard.
pub fn open_assignments_by_due_date_partition(shard: u8) -> String {
    format!("TA_OPEN_DUE#{shard}")
}

/// GSI7 partition: completions that expire and are not yet renewed, all organizations.
pub fn completions_awaiting_renewal_partition(shard: u8) -> String {
    format!("TA_RENEWAL_DUE#{shard}")
}

/// Table partition linking a facility to the assignments scoped to it.
pub fn assignments_of_facility_partition(org: &OrgId, facility: &FacilityId) -> String {
    format!("ORG#{org}#TA_FACILITY#{facility}")
}

/// Milliseconds as a fixed-width sort key, so text order is time order.
pub fn millis_sort_key(millis: i64) -> String {
    format!("{millis:015}")
}

/// The table's TTL attribute (`infra/template.yaml`): DynamoDB deletes any item whose value
/// here is a past epoch second, so no record but an idempotency record may ever carry it.
pub const TTL_ATTRIBUTE: &str = "ttlEpochSeconds";

/// One `Idempotency-Key` of one caller: a partition per API key of an organization, or,
/// on the public route, per request hash (`docs/idempotency.md`).
pub fn idempotency_key(scope: &IdempotencyScope, key: &IdempotencyKey) -> Item {
    let partition = match scope {
        IdempotencyScope::ApiKey { org, api_key } => format!("ORG#{org}#IDEMPOTENCY#{api_key}"),
        IdempotencyScope::Request(fingerprint) => format!("IDEMPOTENCY#REQUEST#{}", fingerprint.as_str()),
    };
    self::key(partition, format!("KEY#{}", key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;
    use crate::time::{Date, Timestamp};
    use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};
    use proptest::prelude::*;

    /// 1970-01-01T00:00:00Z and 3000-01-01T00:00:00Z in seconds: what the API accepts lies between.
    const FIRST_SECOND: i64 = 0;
    const END_SECONDS: i64 = 32_503_680_000;

    /// An instant as a client may write it, with any offset, from 1875 to 3015: about
    /// one in ten falls outside what the API accepts.
    fn instant_text() -> impl Strategy<Value = (i64, String)> {
        (
            -3_000_000_000i64..33_000_000_000i64,
            prop_oneof![
                Just(0u32),
                (0u32..1000).prop_map(|m| m * 1_000_000),
                0u32..1_000_000_000
            ],
            -14 * 60..=14 * 60i32,
        )
            .prop_map(|(seconds, nanos, offset_minutes)| {
                let instant = DateTime::from_timestamp(seconds, nanos).expect("in chrono's range");
                let offset = FixedOffset::east_opt(offset_minutes * 60).expect("a valid offset");
                let text = instant
                    .with_timezone(&offset)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true);
                (seconds, text)
            })
    }

    /// A calendar date as a client writes it, from 1900 to 3010.
    fn date_text() -> impl Strategy<Value = String> {
        (-25_567i64..380_000i64).prop_map(|days| {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch");
            (epoch + chrono::TimeDelta::days(days)).format("%Y-%m-%d").to_string()
        })
    }

    fn accepted(text: &str) -> Option<Timestamp> {
        Timestamp::parse("t", text).ok()
    }

    fn sort_key(at: Timestamp) -> String {
        millis_sort_key(at.millis())
    }

    proptest! {
        /// The API accepts an instant exactly when it lies in 1970..3000 (UTC), whatever
        /// the offset it was written with.
        #[test]
        fn an_instant_is_accepted_exactly_from_the_epoch_to_the_end_of_2999((seconds, text) in instant_text()) {
            prop_assert_eq!(accepted(&text).is_some(), (FIRST_SECOND..END_SECONDS).contains(&seconds), "{}", text);
        }

        /// For any two instants the API accepts, the sort keys of GSI5, GSI6 and GSI7
        /// (`<ms, 15 digits>#<id>`) order them as time does, and the list's range bounds
        /// (`completedAfter` inclusive, `completedBefore`/`expiresBefore` exclusive, the
        /// daily job's `until`) select exactly the instants they name.
        #[test]
        fn millisecond_sort_keys_order_accepted_instants_as_time_does(
            (_, a) in instant_text(),
            (_, b) in instant_text(),
            id_a in "ta_[0-9a-z]{26}",
            id_b in "ta_[0-9a-z]{26}",
        ) {
            let (Some(a), Some(b)) = (accepted(&a), accepted(&b)) else {
                return Ok(());
            };
            prop_assert!(a.millis() >= 0);
            prop_assert_eq!(sort_key(a).len(), 15);
            prop_assert_eq!(sort_key(a).cmp(&sort_key(b)), a.millis().cmp(&b.millis()));
            if a <= b {
                prop_assert!(sort_key(a) <= sort_key(b));
            }
            let row_a = format!("{}#{id_a}", sort_key(a));
            let row_b = format!("{}#{id_b}", sort_key(b));
            if a.millis() != b.millis() {
                prop_assert_eq!(row_a.cmp(&row_b), a.millis().cmp(&b.millis()));
            }
            // `BETWEEN <after> AND <before>`: a row at `a` is in when after <= a < before.
            prop_assert_eq!(row_a.as_str() >= sort_key(b).as_str(), a.millis() >= b.millis());
            prop_assert_eq!(row_a.as_str() <= sort_key(b).as_str(), a.millis() < b.millis());
            // The lower bound of an open range (`0`) is below every row.
            prop_assert!(row_a.as_str() >= millis_sort_key(0).as_str());
        }

        /// The audit trail's keys are event ids (ULIDs): the id range of two accepted
        /// instants (`from`, `to`) orders as time does and holds every event between them.
        #[test]
        fn audit_event_id_bounds_order_accepted_instants_as_time_does((_, a) in instant_text(), (_, b) in instant_text()) {
            let (Some(a), Some(b)) = (accepted(&a), accepted(&b)) else {
                return Ok(());
            };
            let millis = |at: Timestamp| u64::try_from(at.millis()).expect("an accepted instant is not before 1970");
            prop_assert!(millis(a) <= EventId::MAX_MILLIS);
            let (low_a, high_a) = EventId::bounds_at(millis(a));
            let (low_b, high_b) = EventId::bounds_at(millis(b));
            prop_assert!(low_a <= high_a && low_b <= high_b);
            prop_assert_eq!(low_a.cmp(&low_b), a.millis().cmp(&b.millis()));
            if a.millis() < b.millis() {
                prop_assert!(high_a < low_b);
            }
        }

        /// Dates are keys too (GSI3 and GSI7 `<dueDate>#…`, the CIP Senior Manager's
        /// `<effectiveDate>#…`): for any two accepted dates, their text orders as the
        /// calendar does, and `BETWEEN 0 AND <dueBefore>` holds exactly the earlier days.
        #[test]
        fn date_sort_keys_order_accepted_dates_as_the_calendar_does(
            a in date_text(),
            b in date_text(),
            id_a in "ta_[0-9a-z]{26}",
            id_b in "ta_[0-9a-z]{26}",
        ) {
            let (Ok(a), Ok(b)) = (Date::parse("d", &a), Date::parse("d", &b)) else {
                return Ok(());
            };
            let (text_a, text_b) = (a.to_string(), b.to_string());
            prop_assert_eq!(text_a.cmp(&text_b), a.cmp(&b));
            let row_a = format!("{text_a}#{id_a}");
            let row_b = format!("{text_b}#{id_b}");
            if a != b {
                prop_assert_eq!(row_a.cmp(&row_b), a.cmp(&b));
            }
            prop_assert_eq!(row_a.as_str() <= text_b.as_str(), a < b);
            prop_assert!(row_a.as_str() >= "0");
            // `<date>#~` (the designation in force on a date) holds every row of that day.
            prop_assert_eq!(row_a.as_str() <= format!("{text_b}#~").as_str(), a <= b);
        }
    }
}
