//! The audit trail's digests (`model::audit_digest`): an organization's digests by period
//! end (`ORG#<org>#AUDIT_DIGEST / DIGEST#<period end ms>#<sequence>`), its chain head
//! (`ORG#<org> / AUDIT_DIGEST_HEAD`, which makes two runs unable to fork the chain), the
//! digest job's watermark (`AUDIT_DIGEST_JOB / STATE`), and the events stored since, across
//! organizations (GSI7 `AUDIT_TIME#<shard>` by event id, written with each event).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::keys::{self, GSI7, GSI7PK, GSI7SK, PK, SK};
use super::query::{QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Page, Store, Transaction, from_item, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{EventId, OrgId};
use crate::model::audit::AuditEvent;
use crate::model::audit_digest::AuditDigest;
use crate::time::Timestamp;

/// The partitions the events' time index spreads over, so no partition takes every
/// organization's audit writes.
pub const EVENT_SHARDS: u8 = 8;

/// Which time-index partition holds an event: from the id's last (random) character.
pub fn event_shard(id: &EventId) -> u8 {
    id.as_str().bytes().last().unwrap_or(0) % EVENT_SHARDS
}

pub fn event_time_partition(shard: u8) -> String {
    format!("AUDIT_TIME#{shard}")
}

fn digests_partition(org: &OrgId) -> String {
    format!("ORG#{org}#AUDIT_DIGEST")
}

fn digest_sort_key(period_end: Timestamp, sequence: u64) -> String {
    format!("DIGEST#{}#{sequence:012}", keys::millis_sort_key(period_end.millis()))
}

const HEAD_SORT_KEY: &str = "AUDIT_DIGEST_HEAD";

fn head_key(org: &OrgId) -> super::Item {
    keys::key(keys::org_partition(org), HEAD_SORT_KEY)
}

fn job_key() -> super::Item {
    keys::key("AUDIT_DIGEST_JOB", "STATE")
}

/// The latest digest of an organization, as the next one links to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestHead {
    pub sequence: u64,
    pub document_sha256: String,
    pub period_end: Timestamp,
}

/// How far the digest job has covered every organization's events.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobState {
    pub covered_until: Timestamp,
}

/// The time-index attributes an event item carries.
pub fn event_time_attributes(event: &AuditEvent) -> [(String, AttributeValue); 2] {
    [
        (
            GSI7PK.to_string(),
            AttributeValue::S(event_time_partition(event_shard(&event.id))),
        ),
        (GSI7SK.to_string(), AttributeValue::S(event.id.to_string())),
    ]
}

/// One page of the events of one time-index partition with ids in `low..=high`, of every
/// organization, oldest first.
pub async fn events_between(
    store: &Store,
    shard: u8,
    (low, high): (String, String),
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<AuditEvent>> {
    let spec = QuerySpec::index(
        GSI7,
        GSI7PK,
        GSI7SK,
        event_time_partition(shard),
        SortRange::Between(low, high),
    );
    store.query_records(&spec, limit, after).await
}

pub async fn head(store: &Store, org: &OrgId) -> ApiResult<Option<DigestHead>> {
    store.get(head_key(org)).await
}

/// Writes a digest and moves the chain head to it, on the condition that the head is still
/// where the digest links (`before`): a second run that built the same link loses.
pub fn put_digest(transaction: &mut Transaction, digest: &AuditDigest, before: Option<&DigestHead>) -> ApiResult<()> {
    let document = &digest.document;
    let org = &document.organization_id;
    let mut item = to_item(digest)?;
    item.insert(PK.into(), AttributeValue::S(digests_partition(org)));
    item.insert(
        SK.into(),
        AttributeValue::S(digest_sort_key(document.period_end, document.sequence)),
    );
    transaction.put_new(item, ApiError::conflict("this digest was written already"))?;

    let head = DigestHead {
        sequence: document.sequence,
        document_sha256: digest.document_sha256.clone(),
        period_end: document.period_end,
    };
    let mut head_item = to_item(&head)?;
    head_item.extend(head_key(org));
    let condition = match before {
        Some(before) => Condition::new("#sequence = :sequence")
            .name("#sequence", "sequence")
            .value(":sequence", AttributeValue::N(before.sequence.to_string())),
        None => Condition::item_absent(),
    };
    transaction.put(
        head_item,
        Some(condition),
        Some(ApiError::conflict("another run moved this organization's digest chain")),
    )
}

/// The organization's digests whose period ends in `from..=to`, oldest first, a page.
pub async fn digests_between(
    store: &Store,
    org: &OrgId,
    (from, to): (Timestamp, Timestamp),
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<AuditDigest>> {
    let spec = QuerySpec::table(
        digests_partition(org),
        SortRange::Between(
            format!("DIGEST#{}", keys::millis_sort_key(from.millis())),
            format!("DIGEST#{}#~", keys::millis_sort_key(to.millis())),
        ),
    )
    .consistent();
    store.query_records(&spec, limit, after).await
}

/// Every digest of the organization whose period ends in `from..=to`, oldest first.
pub async fn all_digests_between(
    store: &Store,
    org: &OrgId,
    range: (Timestamp, Timestamp),
) -> ApiResult<Vec<AuditDigest>> {
    let mut digests = Vec::new();
    let mut after = None;
    loop {
        let page = digests_between(store, org, range, 100, after.as_ref()).await?;
        digests.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(digests),
        }
    }
}

/// The digest just before those whose period ends at or after `at`, if any.
pub async fn digest_before(store: &Store, org: &OrgId, at: Timestamp) -> ApiResult<Option<AuditDigest>> {
    let spec = QuerySpec::table(
        digests_partition(org),
        SortRange::Between(
            "DIGEST#".to_string(),
            format!("DIGEST#{}", keys::millis_sort_key(at.millis())),
        ),
    )
    .consistent()
    .newest_first();
    let page = store.query_page(&spec, 1, None).await?;
    page.items.into_iter().next().map(from_item).transpose()
}

pub async fn job_state(store: &Store) -> ApiResult<Option<JobState>> {
    store.get(job_key()).await
}

/// Moves the job's watermark forward from where it was read.
pub async fn advance_job(store: &Store, before: Option<JobState>, after: JobState) -> ApiResult<()> {
    let mut item = to_item(&after)?;
    item.extend(job_key());
    let condition = match before {
        Some(before) => Condition::new("#covered = :covered")
            .name("#covered", "coveredUntil")
            .value(":covered", AttributeValue::S(before.covered_until.to_string())),
        None => Condition::item_absent(),
    };
    let mut transaction = Transaction::new();
    transaction.put(
        item,
        Some(condition),
        Some(ApiError::conflict("another run moved the digest job's watermark")),
    )?;
    transaction.send(store).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::audit_digest::{DIGEST_FORMAT, DigestDocument, DigestedEvent, MAX_EVENTS_PER_DIGEST};
    use crate::store::item_size;

    /// DynamoDB refuses an item over 400 KB, which the emulator would store: a full digest
    /// stays well under it.
    #[test]
    fn a_digest_of_the_most_events_fits_in_one_item() {
        let events = (0..MAX_EVENTS_PER_DIGEST)
            .map(|_| DigestedEvent {
                id: EventId::new(),
                sha256: "f".repeat(64),
            })
            .collect();
        let digest = AuditDigest {
            document: DigestDocument {
                format: DIGEST_FORMAT.into(),
                organization_id: OrgId::new(),
                sequence: u64::MAX,
                period_start: Timestamp::now(),
                period_end: Timestamp::now(),
                events,
                previous_sha256: Some("f".repeat(64)),
            },
            document_sha256: "f".repeat(64),
            signature: "A".repeat(100),
            signing_algorithm: "ECDSA_SHA_256".into(),
            key_id: format!("arn:aws:kms:us-east-1:123456789012:key/{}", "f".repeat(36)),
            created_at: Timestamp::now(),
        };
        let size = item_size(&to_item(&digest).unwrap());
        assert!(size < 300_000, "{size} bytes");
    }
}
