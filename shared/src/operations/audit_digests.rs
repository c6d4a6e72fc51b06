//! The tamper-evident audit trail (`docs/audit.md`): the digest job, which signs every
//! organization's new events into its chain of digests, and the reads an auditor uses to
//! check the trail: the digests, the public key, and a verification over a time range.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::ids::{EventId, OrgId};
use crate::model::audit::AuditFilter;
use crate::model::audit_digest::{
    self, AuditDigest, ChainState, DIGEST_FORMAT, DigestDocument, DigestedEvent, MAX_EVENTS_PER_DIGEST, PublicKey,
    SIGNING_ALGORITHM, VerificationReport,
};
use crate::model::principal::Principal;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::signing::AuditSigner;
use crate::store::audit::EventQuery;
use crate::store::audit_digests::{self as digests, DigestHead, EVENT_SHARDS, JobState};
use crate::store::{Store, Transaction};
use crate::time::Timestamp;

/// A run covers the events stored before it started, less this: a write in flight when the
/// run reads is left to the next run rather than missed.
pub const SETTLING_MARGIN: Duration = Duration::from_secs(5);
/// How far back a run looks again for events stored after the previous run although their
/// time is earlier. An event's time is taken just before its transaction is sent, and every
/// function that writes one lives at most 29 s per request (the daily job commits each
/// change as it makes it), so five minutes leaves a wide margin.
pub const LATE_LOOKBACK: Duration = Duration::from_secs(300);
/// How long after a range's end verification still looks for the digest that covers it:
/// the hourly run covers an event within the hour, a few failed runs within the day.
pub const VERIFY_SLACK: Duration = Duration::from_secs(24 * 3600);
/// The most events one verification reads (`400` beyond: narrow the range).
pub const MAX_VERIFIED_EVENTS: usize = 20_000;
/// Digests per page of `GET /audit-events/digests`, whatever `limit` asks: 20 full digests
/// are about 4.4 MB, under Lambda's 6 MB response.
pub const MAX_DIGESTS_PER_PAGE: usize = 20;
/// Events read per page from the time index.
const EVENTS_PER_READ: usize = 1000;

fn minus(at: Timestamp, duration: Duration) -> Timestamp {
    Timestamp::from_millis(at.millis() - i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
}

fn plus(at: Timestamp, duration: Duration) -> Timestamp {
    Timestamp::from_millis(at.millis() + i64::try_from(duration.as_millis()).unwrap_or(0))
}

fn millis_bound(at: Timestamp) -> u64 {
    u64::try_from(at.millis()).unwrap_or(0)
}

/// What one run did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestRunReport {
    /// The events covered: stored at or before this.
    pub covered_until: Option<Timestamp>,
    pub digests_written: usize,
    pub events_digested: usize,
    /// Events stored after the previous run although their time was before it.
    pub late_events: usize,
    /// Organizations another run digested first.
    pub lost_races: usize,
}

/// One run of the digest job at `now`: every event stored up to `now` less the settling
/// margin and not yet in a digest goes into its organization's next digest. Cost follows
/// the events new since the last run (and the lookback), never the table: the events come
/// from a time index, the chain heads and recent digests by key. A run that fails leaves
/// the watermark where it was; the next one digests what this one did not.
pub async fn run(store: &Store, signer: &AuditSigner, now: Timestamp) -> ApiResult<DigestRunReport> {
    let state = digests::job_state(store).await?;
    let until = minus(now, SETTLING_MARGIN);
    let mut report = DigestRunReport::default();
    if state.is_some_and(|state| state.covered_until >= until) {
        report.covered_until = state.map(|state| state.covered_until);
        return Ok(report);
    }
    let look_from = state.map_or(Timestamp::from_millis(0), |state| {
        minus(state.covered_until, LATE_LOOKBACK)
    });
    let ids = (
        EventId::bounds_at(millis_bound(look_from)).0,
        EventId::bounds_at(millis_bound(until)).1,
    );
    // Each event kept as what its digest lists, so memory follows ids and hashes only.
    let mut by_org: BTreeMap<OrgId, Vec<NewEvent>> = BTreeMap::new();
    for shard in 0..EVENT_SHARDS {
        let mut after = None;
        loop {
            let page = digests::events_between(store, shard, ids.clone(), EVENTS_PER_READ, after.as_ref()).await?;
            for event in page.items {
                let listed = NewEvent {
                    occurred_at: event.occurred_at,
                    entry: DigestedEvent {
                        sha256: audit_digest::event_hash(&event)?,
                        id: event.id,
                    },
                };
                by_org.entry(event.organization_id).or_default().push(listed);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    for (org, events) in by_org {
        match digest_organization(store, signer, &org, events, (look_from, until), state).await {
            Ok(done) => {
                report.digests_written += done.digests;
                report.events_digested += done.events;
                report.late_events += done.late;
            }
            Err(ApiError::Conflict { .. }) => report.lost_races += 1,
            Err(error) => return Err(error),
        }
    }
    match digests::advance_job(store, state, JobState { covered_until: until }).await {
        // A run at the same time moved it: both covered what they read, and every
        // organization's chain took each event once (its head's condition).
        Err(ApiError::Conflict { .. }) => report.lost_races += 1,
        other => other?,
    }
    report.covered_until = Some(until);
    Ok(report)
}

/// An event a run read, as a digest will list it.
struct NewEvent {
    occurred_at: Timestamp,
    entry: DigestedEvent,
}

struct OrgDone {
    digests: usize,
    events: usize,
    late: usize,
}

/// Writes the organization's next digests over those of `events` no digest lists yet.
async fn digest_organization(
    store: &Store,
    signer: &AuditSigner,
    org: &OrgId,
    events: Vec<NewEvent>,
    (look_from, until): (Timestamp, Timestamp),
    state: Option<JobState>,
) -> ApiResult<OrgDone> {
    let mut head = digests::head(store, org).await?;
    let recent = digests::all_digests_between(store, org, (look_from, plus(until, VERIFY_SLACK))).await?;
    let listed: BTreeSet<EventId> = recent
        .iter()
        .flat_map(|digest| digest.document.events.iter().map(|entry| entry.id.clone()))
        .collect();
    let mut new: Vec<NewEvent> = events
        .into_iter()
        .filter(|event| !listed.contains(&event.entry.id))
        .collect();
    new.sort_by(|a, b| a.entry.id.cmp(&b.entry.id));
    let covered_before = state.map(|state| state.covered_until);
    let late = new
        .iter()
        .filter(|event| covered_before.is_some_and(|before| event.occurred_at <= before))
        .count();
    let mut done = OrgDone {
        digests: 0,
        events: new.len(),
        late,
    };
    let chunks: Vec<&[NewEvent]> = new.chunks(MAX_EVENTS_PER_DIGEST).collect();
    for (index, chunk) in chunks.iter().enumerate() {
        let last = index + 1 == chunks.len();
        let period_start = head.as_ref().map_or(chunk[0].occurred_at, |head| head.period_end);
        let period_end = if last {
            until
        } else {
            chunk
                .iter()
                .map(|event| event.occurred_at)
                .max()
                .unwrap_or(until)
                .max(period_start)
        };
        let document = DigestDocument {
            format: DIGEST_FORMAT.to_string(),
            organization_id: org.clone(),
            sequence: head.as_ref().map_or(1, |head| head.sequence + 1),
            period_start,
            period_end,
            events: chunk.iter().map(|event| event.entry.clone()).collect(),
            previous_sha256: head.as_ref().map(|head| head.document_sha256.clone()),
        };
        let document_sha256 = document.document_hash()?;
        let signed = signer
            .sign(&audit_digest::string_to_sign(&document, &document_sha256))
            .await?;
        let digest = AuditDigest {
            document,
            document_sha256,
            signature: signed.signature,
            signing_algorithm: SIGNING_ALGORITHM.to_string(),
            key_id: signed.key_arn,
            created_at: store.clock().now(),
        };
        let mut transaction = Transaction::new();
        digests::put_digest(&mut transaction, &digest, head.as_ref())?;
        transaction.commit(store).await?;
        head = Some(DigestHead {
            sequence: digest.document.sequence,
            document_sha256: digest.document_sha256,
            period_end: digest.document.period_end,
        });
        done.digests += 1;
    }
    Ok(done)
}

/// The organization's digests whose period ends in the range, oldest first.
pub async fn list_digests(
    store: &Store,
    principal: &Principal,
    range: (Timestamp, Timestamp),
    page: &PageRequest,
) -> ApiResult<ListPage<AuditDigest>> {
    principal.require(Permission::AuditRead)?;
    // A digest of 2,000 events is about 220 KB of JSON: a page stays within a response.
    let limit = page.limit.min(MAX_DIGESTS_PER_PAGE);
    let result = digests::digests_between(store, principal.org(), range, limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

/// The key the digests are signed with.
pub async fn public_key<'a>(signer: &'a AuditSigner, principal: &Principal) -> ApiResult<&'a PublicKey> {
    principal.require(Permission::AuditRead)?;
    signer.public_key().await
}

/// Recomputes the trail of `from..=to` against its digests and their signatures.
pub async fn verify(
    store: &Store,
    signer: &AuditSigner,
    principal: &Principal,
    (from, to): (Timestamp, Timestamp),
) -> ApiResult<VerificationReport> {
    principal.require(Permission::AuditRead)?;
    let org = principal.org();
    let filter = AuditFilter {
        from: Some(from),
        to: Some(to),
        ..AuditFilter::default()
    };
    let query = EventQuery {
        org,
        target_id: None,
        actor_id: None,
        id_range: filter.id_range(),
    };
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = crate::store::audit::list_events(store, &query, EVENTS_PER_READ, after.as_ref()).await?;
        events.extend(page.items);
        if events.len() > MAX_VERIFIED_EVENTS {
            return Err(ApiError::validation(
                "to",
                format!("the range holds more than {MAX_VERIFIED_EVENTS} events; verify it in shorter ranges"),
            ));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let before = digests::digest_before(store, org, from).await?;
    let read_until = plus(to, VERIFY_SLACK);
    let chain = ChainState {
        from_the_start: before.is_none(),
        head: digests::head(store, org)
            .await?
            .map(|head| (head.sequence, head.period_end)),
        read_until,
        covered_until: digests::job_state(store).await?.map(|state| state.covered_until),
    };
    let mut read: Vec<AuditDigest> = before.into_iter().collect();
    read.extend(digests::all_digests_between(store, org, (from, read_until)).await?);
    let key = signer.public_key().await?;
    audit_digest::verify(&read, &events, (from, to), key, chain)
}
