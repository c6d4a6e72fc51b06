//! The evidence package builder, a door of its own: EventBridge Scheduler invokes it every
//! minute (and the local run by hand); each run takes the packages waiting in the queue,
//! claims each one (a condition on its version, so two runs never build the same one),
//! reads the organization's records, writes the zip to the exports bucket and marks the
//! package `ready`, or `failed` with a reason. A dependency that is down puts the package
//! back in the queue; after `MAX_BUILD_ATTEMPTS` builds it fails for good. A build that
//! dies mid-way (a timeout) leaves its claim, which runs out (`BUILD_LEASE_SECONDS`).
//!
//! What the package holds and how each part is read: `docs/evidence.md`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::export_files::{ExportBucket, FileHeaders};
use crate::ids::{EventId, EvidencePackageId, OrgId, TrainingModuleId, UserId};
use crate::model::audit::AuditEvent;
use crate::model::audit_digest::{AuditBundle, SIGNING_ALGORITHM, sha256_hex};
use crate::model::cip_senior_manager::CsmAssignment;
use crate::model::events::Event;
use crate::model::events::evidence_packages::{EvidencePackageFailed, EvidencePackageReady};
use crate::model::evidence_files::PackageWriter;
use crate::model::evidence_manifest::{AUDIT_BUNDLE_FILE, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, ManifestSignature};
use crate::model::evidence_packages::{EvidencePackage, PackageFile, member_as_of};
use crate::model::evidence_summary::{self, SummaryFacts};
use crate::model::evidence_tables::{
    AssignmentRow, CompletionRow, DesignationRow, EventRow, MemberRow, ModuleIndex, RoleChangeRow, StandingRow,
    WaiverRow, module_index,
};
use crate::model::principal::Actor;
use crate::model::training_assignments::{AssignmentQuery, TrainingAssignment};
use crate::model::training_status::standings;
use crate::model::users::{Member, MemberStatus, UserFilter};
use crate::operations::audit_digests::VERIFY_SLACK;
use crate::signing::AuditSigner;
use crate::store::audit::EventQuery;
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;

/// Builds of one package before it fails for good.
pub const MAX_BUILD_ATTEMPTS: u32 = 3;
/// Packages one run builds, one after another; the rest wait for the next minute's run.
pub const PACKAGES_PER_RUN: usize = 3;
/// Where packages are kept in the exports bucket (its lifecycle rule for this prefix keeps
/// them longer than an export: `infra/template.yaml`).
pub const OBJECT_PREFIX: &str = "evidence-packages";
/// Queued packages read per run: those another run is building are skipped, and the
/// first `PACKAGES_PER_RUN` buildable ones are built.
const QUEUE_READ: usize = 100;
/// Records read per page.
const PAGE: usize = 1000;

/// What one run did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildRunReport {
    pub built: Vec<EvidencePackageId>,
    pub failed: Vec<EvidencePackageId>,
    /// Packages put back in the queue after a passing fault.
    pub retried: Vec<EvidencePackageId>,
    /// Packages another run claimed first.
    pub lost_races: usize,
}

/// What a run needs besides the store.
pub struct Builder<'a> {
    pub store: &'a Store,
    pub signer: &'a AuditSigner,
    pub bucket: &'a ExportBucket,
    /// Days before expiry a completion reads `expiring` (the standing's window).
    pub renewal_window_days: u32,
}

/// One run over the queue.
pub async fn run(builder: &Builder<'_>) -> ApiResult<BuildRunReport> {
    let store = builder.store;
    let mut report = BuildRunReport::default();
    // The queue is an index, read eventually consistent: each record is read again by key.
    for queued in store::evidence_packages::queued(store, QUEUE_READ).await? {
        if report.built.len() + report.failed.len() + report.retried.len() >= PACKAGES_PER_RUN {
            break;
        }
        let Some(package) = store::evidence_packages::get(store, &queued.organization_id, &queued.id).await? else {
            continue;
        };
        let now = store.clock().now();
        if !package.is_buildable(now) {
            continue;
        }
        if package.attempts >= MAX_BUILD_ATTEMPTS {
            let reason = format!("the package could not be built in {MAX_BUILD_ATTEMPTS} attempts; ask for it again");
            match finish_failed(store, &package, reason).await {
                Err(ApiError::Conflict { .. }) => report.lost_races += 1,
                other => {
                    other?;
                    report.failed.push(package.id.clone());
                }
            }
            continue;
        }
        let claimed = package.claimed(now);
        let mut claim = Transaction::new();
        store::evidence_packages::put_updated(&mut claim, &package, &claimed)?;
        match claim.commit(store).await {
            Err(ApiError::Conflict { .. }) => {
                report.lost_races += 1;
                continue;
            }
            other => other?,
        }
        match build_and_store(builder, &claimed).await {
            Ok(()) => report.built.push(claimed.id.clone()),
            // The claim ran out and another run took the package: that run finishes it.
            Err(ApiError::Conflict { .. }) => report.lost_races += 1,
            Err(error @ ApiError::Unavailable { .. }) => {
                tracing::warn!(package = %claimed.id, reason = ?error, "evidence package build met a passing fault; queued again");
                let mut release = Transaction::new();
                store::evidence_packages::put_updated(&mut release, &claimed, &claimed.released())?;
                release.commit(store).await?;
                report.retried.push(claimed.id.clone());
            }
            Err(error) => {
                tracing::error!(package = %claimed.id, reason = ?error, "evidence package build failed");
                let reason = match &error {
                    ApiError::Validation { message, .. } => message.clone(),
                    _ => "the package could not be built (an internal error, logged); ask for it again".to_string(),
                };
                match finish_failed(store, &claimed, reason).await {
                    Err(ApiError::Conflict { .. }) => report.lost_races += 1,
                    other => {
                        other?;
                        report.failed.push(claimed.id.clone());
                    }
                }
            }
        }
    }
    Ok(report)
}

async fn finish_failed(store: &Store, package: &EvidencePackage, reason: String) -> ApiResult<()> {
    let failed = package.failed(reason.clone(), store.clock().now());
    let event = Event::EvidencePackageFailed(EvidencePackageFailed {
        reason,
        attempts: package.attempts,
    });
    finish(store, package, &failed, &event).await
}

/// Replaces the package read as `before` with its finished record, and records the event
/// that says so, as the system actor, in one transaction.
async fn finish(store: &Store, before: &EvidencePackage, after: &EvidencePackage, event: &Event) -> ApiResult<()> {
    let mut transaction = Transaction::new();
    store::evidence_packages::put_updated(&mut transaction, before, after)?;
    store::audit::record(
        &mut transaction,
        &Actor::system(&before.organization_id),
        after.finished_at.unwrap_or_else(|| store.clock().now()),
        before.id.as_str(),
        event,
    )?;
    transaction.commit(store).await
}

async fn build_and_store(builder: &Builder<'_>, claimed: &EvidencePackage) -> ApiResult<()> {
    let store = builder.store;
    let built = build(builder, claimed).await?;
    let key = format!("{OBJECT_PREFIX}/{}/{}.zip", claimed.organization_id, claimed.id);
    let headers = FileHeaders {
        content_type: "application/zip",
        content_encoding: None,
        file_name: format!("evidence-{}-{}.zip", claimed.request.as_of, claimed.id),
    };
    builder.bucket.put(key.clone(), headers, &built.zip).await?;
    let now = store.clock().now();
    let bytes = built.zip.len() as u64;
    let ready = claimed.ready(key, bytes, built.manifest_sha256.clone(), built.files.clone(), now);
    let event = Event::EvidencePackageReady(EvidencePackageReady {
        manifest_sha256: built.manifest_sha256,
        bytes,
        files: built.files,
    });
    finish(store, claimed, &ready, &event).await
}

/// A package's zip, with what the manifest lists and the manifest's own hash.
pub struct BuiltPackage {
    pub zip: Vec<u8>,
    /// Every file but the manifest.
    pub files: Vec<PackageFile>,
    /// The SHA-256 of `manifest.json` as stored in the zip.
    pub manifest_sha256: String,
}

/// Reads everything the package holds and writes the zip.
pub async fn build(builder: &Builder<'_>, package: &EvidencePackage) -> ApiResult<BuiltPackage> {
    let store = builder.store;
    let org = &package.organization_id;
    let request = &package.request;
    let now = store.clock().now();
    let today = now.date();
    let at = request.as_of.last_instant();
    let mut writer = PackageWriter::new();

    // Populations on the date.
    let members = all_members(store, org).await?;
    let later_changes = member_changes_after(store, org, at, now).await?;
    let population: Vec<_> = members
        .iter()
        .filter_map(|member| member_as_of(member, &later_changes, at))
        .collect();
    let member_rows: Vec<MemberRow> = population.iter().map(MemberRow::of).collect();
    writer.table("populations/members", &member_rows)?;

    let by_id: HashMap<&UserId, &Member> = members.iter().map(|member| (&member.user_id, member)).collect();
    let history = designation_history(store, org).await?;
    let designations: Vec<DesignationRow> = history
        .iter()
        .map(|designation| DesignationRow::of(designation, by_id.get(&designation.user_id).copied(), request.as_of))
        .collect();
    writer.table("populations/cip-senior-manager", &designations)?;

    let assignments = all_assignments(store, org, today).await?;
    let modules = modules_of(store, org, &assignments).await?;
    let assignment_rows: Vec<AssignmentRow> = assignments
        .iter()
        .filter_map(|assignment| AssignmentRow::on(assignment, request.as_of, &modules))
        .collect();
    writer.table("populations/training-assignments", &assignment_rows)?;

    let mut by_person: HashMap<&UserId, Vec<TrainingAssignment>> = HashMap::new();
    for assignment in &assignments {
        by_person
            .entry(&assignment.user_id)
            .or_default()
            .push(assignment.clone());
    }
    let mut standing_rows = Vec::new();
    for member in &population {
        let Some(theirs) = by_person.get(&member.user_id) else {
            continue;
        };
        for standing in standings(theirs, request.as_of, builder.renewal_window_days, None) {
            standing_rows.push(StandingRow::of(
                &member.user_id,
                &member.display_name,
                &standing,
                &modules,
            ));
        }
    }
    writer.table("populations/training-standing", &standing_rows)?;

    // Each sampled person's own records.
    let (from, to) = request.audit_period();
    let to = to.min(now);
    for user in &request.sample_user_ids {
        let Some(member) = by_id.get(user) else {
            continue;
        };
        let folder = format!("samples/{user}");
        writer.table(&format!("{folder}/member"), &[MemberRow::now(member)])?;
        let about_them = events_of(store, org, Some(user.as_str()), None, (Timestamp::from_millis(0), now)).await?;
        let role_history: Vec<RoleChangeRow> = about_them.iter().rev().filter_map(RoleChangeRow::of).collect();
        writer.table(&format!("{folder}/role-history"), &role_history)?;
        let theirs = by_person.get(user).cloned().unwrap_or_default();
        let rows: Vec<AssignmentRow> = theirs
            .iter()
            .filter_map(|assignment| AssignmentRow::on(assignment, today, &modules))
            .collect();
        writer.table(&format!("{folder}/assignments"), &rows)?;
        let completions: Vec<CompletionRow> = theirs.iter().filter_map(|a| CompletionRow::of(a, &modules)).collect();
        writer.table(&format!("{folder}/completions"), &completions)?;
        let waivers: Vec<WaiverRow> = theirs.iter().filter_map(|a| WaiverRow::of(a, &modules)).collect();
        writer.table(&format!("{folder}/waivers"), &waivers)?;
        let mut in_period: BTreeMap<EventId, AuditEvent> = BTreeMap::new();
        for event in about_them
            .into_iter()
            .filter(|event| (from..=to).contains(&event.occurred_at))
        {
            in_period.insert(event.id.clone(), event);
        }
        for event in events_of(store, org, None, Some(user), (from, to)).await? {
            in_period.insert(event.id.clone(), event);
        }
        let rows: Vec<EventRow> = in_period.values().map(EventRow::of).collect();
        writer.table(&format!("{folder}/audit-events"), &rows)?;
    }

    // The audit trail of the period, with what proves it.
    let mut events = events_of(store, org, None, None, (from, to)).await?;
    events.reverse();
    let rows: Vec<EventRow> = events.iter().map(EventRow::of).collect();
    writer.table("audit/events", &rows)?;
    let key = builder.signer.public_key().await?.clone();
    // The whole chain, as the offline verifier checks it from its first digest.
    let digests =
        store::audit_digests::all_digests_between(store, org, (Timestamp::from_millis(0), plus(to, VERIFY_SLACK)))
            .await?;
    let bundle = AuditBundle {
        from,
        to,
        public_key: key.clone(),
        digests,
        events,
    };
    writer.json(AUDIT_BUNDLE_FILE, &bundle)?;
    writer.file("audit/public-key.pem", key.pem.as_bytes(), None)?;

    let organization_name = members
        .first()
        .map(|member| member.organization_name.clone())
        .unwrap_or_default();
    let in_force = designations.iter().find(|row| row.in_force_on_as_of);
    let summary = evidence_summary::render(&SummaryFacts {
        organization_name: &organization_name,
        package_id: package.id.as_str(),
        as_of: request.as_of,
        from: request.from,
        to: request.to,
        built_at: now,
        members_on_date: population.len(),
        senior_manager: in_force,
        standings: &standing_rows,
        sampled: request.sample_user_ids.len(),
        key_id: &key.key_id,
    })
    .map_err(ApiError::internal)?;
    writer.file("summary.html", summary.as_bytes(), None)?;

    let files = writer.files().to_vec();
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        package_id: package.id.clone(),
        organization_id: org.clone(),
        organization_name,
        request: request.clone(),
        requested_by: package.requested_by.clone(),
        requested_with_api_key: package.requested_with_api_key.clone(),
        requested_at: package.requested_at,
        built_at: now,
        files: files.clone(),
        signature: None,
    };
    let manifest_hash = manifest.unsigned_hash()?;
    let signed = builder.signer.sign(&manifest.string_to_sign(&manifest_hash)).await?;
    manifest.signature = Some(ManifestSignature {
        manifest_sha256: manifest_hash,
        signing_algorithm: SIGNING_ALGORITHM.to_string(),
        key_id: signed.key_arn,
        signature: signed.signature,
    });
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(ApiError::internal)?;
    manifest_bytes.push(b'\n');
    writer.file(MANIFEST_FILE, &manifest_bytes, None)?;
    Ok(BuiltPackage {
        zip: writer.finish()?,
        files,
        manifest_sha256: sha256_hex(&manifest_bytes),
    })
}

fn plus(at: Timestamp, duration: std::time::Duration) -> Timestamp {
    Timestamp::from_millis(
        at.millis()
            .saturating_add(i64::try_from(duration.as_millis()).unwrap_or(0)),
    )
}

/// Every member the organization has had, deleted ones too.
async fn all_members(store: &Store, org: &OrgId) -> ApiResult<Vec<Member>> {
    let filter = UserFilter {
        statuses: vec![MemberStatus::Active, MemberStatus::Suspended, MemberStatus::Deleted],
        role: None,
        role_groups: Vec::new(),
    };
    let mut members = Vec::new();
    let mut after = None;
    loop {
        let page = store::members::list(store, org, &filter, PAGE, after.as_ref()).await?;
        members.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(members),
        }
    }
}

/// The organization's events after `at` that changed a member, to roll members back
/// with; the others are dropped as each page is read.
async fn member_changes_after(store: &Store, org: &OrgId, at: Timestamp, now: Timestamp) -> ApiResult<Vec<AuditEvent>> {
    let mut changes = events_of(store, org, None, None, (Timestamp::from_millis(at.millis() + 1), now)).await?;
    changes.retain(|event| matches!(event.action.as_str(), "user.updated" | "user.deleted"));
    Ok(changes)
}

/// Events of the organization in `range` (newest first): all, or about one target, or by
/// one actor.
async fn events_of(
    store: &Store,
    org: &OrgId,
    target: Option<&str>,
    actor: Option<&UserId>,
    (from, to): (Timestamp, Timestamp),
) -> ApiResult<Vec<AuditEvent>> {
    if to < from {
        return Ok(Vec::new());
    }
    let millis = |at: Timestamp| u64::try_from(at.millis()).unwrap_or(0).min(EventId::MAX_MILLIS);
    let query = EventQuery {
        org,
        target_id: target,
        actor_id: actor,
        id_range: (EventId::bounds_at(millis(from)).0, EventId::bounds_at(millis(to)).1),
    };
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = store::audit::list_events(store, &query, PAGE, after.as_ref()).await?;
        events.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(events),
        }
    }
}

/// The CIP Senior Manager's whole history, oldest first.
async fn designation_history(store: &Store, org: &OrgId) -> ApiResult<Vec<CsmAssignment>> {
    let mut history = Vec::new();
    let mut after = None;
    loop {
        let page = store::cip_senior_manager::list(store, org, PAGE, after.as_ref()).await?;
        history.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    history.reverse();
    Ok(history)
}

/// Every training assignment of the organization, oldest first.
async fn all_assignments(store: &Store, org: &OrgId, today: crate::time::Date) -> ApiResult<Vec<TrainingAssignment>> {
    let query = AssignmentQuery::default();
    let mut assignments = Vec::new();
    let mut after = None;
    loop {
        let page = store::training_assignments::list(store, org, &query, today, PAGE, after.as_ref()).await?;
        assignments.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(assignments),
        }
    }
}

async fn modules_of(store: &Store, org: &OrgId, assignments: &[TrainingAssignment]) -> ApiResult<ModuleIndex> {
    let mut ids: Vec<TrainingModuleId> = assignments
        .iter()
        .map(|assignment| assignment.training_module_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let modules = store::training_modules::get_many(store, org, &ids).await?;
    Ok(module_index(&modules))
}
