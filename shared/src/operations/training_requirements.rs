//! Training requirements: the commands that declare them, the engine that makes the
//! assignments they ask for, and the gaps.
//!
//! The engine acts as `Job::TrainingRequirements` through the one assignment command
//! (`training_assignments::create` with `Origin::Requirement`), never around it. It runs
//! off the request path (`functions/training-rules`): for one person when the audit trail
//! says they were created, joined, or changed roles, status or facilities; and for a whole
//! organization when a requirement is declared or widened, as a backfill of bounded
//! batches that the command itself starts in its transaction (`docs/training-requirements.md`).

use std::collections::BTreeMap;
use std::time::Instant;

use futures::future::try_join_all;

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, GroupId, OrgId, TrainingRequirementId, UserId};
use crate::model::audit::AuditEvent;
use crate::model::events::Event;
use crate::model::events::training_requirements::{
    RequirementFields, TrainingRequirementCreated, TrainingRequirementDeleted, TrainingRequirementUpdated,
};
use crate::model::principal::{Job, Principal};
use crate::model::roles::RolesDocument;
use crate::model::training_assignments::{NewAssignment, TrainingAssignment};
use crate::model::training_requirements::{
    BACKFILL_BATCH, Backfill, BackfillStatus, Decision, GapVerdict, MAX_REQUIREMENTS, NewRequirement, RequirementEdit,
    TrainingRequirement, decide, edited, gap_of, gap_order, needs_backfill, new_requirement, start_backfill,
};
use crate::model::users::{Member, MemberStatus, UserFilter};
use crate::operations::training_assignments::{self, Origin};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction, keys};
use crate::time::Date;

/// People whose assignments are read at once (one Query each).
const CONCURRENT_PEOPLE: usize = 8;

/// A requirement with its backfill's progress, as the API shows it.
#[derive(Debug, Clone)]
pub struct RequirementState {
    pub requirement: TrainingRequirement,
    pub backfill: Option<Backfill>,
}

pub async fn get_requirement_record(
    store: &Store,
    org: &OrgId,
    id: &TrainingRequirementId,
) -> ApiResult<TrainingRequirement> {
    store::training_requirements::get(store, org, id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "training requirement",
            id: id.to_string(),
        })
}

pub async fn get_requirement(
    store: &Store,
    principal: &Principal,
    id: &TrainingRequirementId,
) -> ApiResult<RequirementState> {
    principal.require(Permission::TrainingRead)?;
    let requirement = get_requirement_record(store, principal.org(), id).await?;
    let backfill = store::training_requirements::get_backfill(store, principal.org(), id).await?;
    Ok(RequirementState { requirement, backfill })
}

/// The organization's requirements, by creation, paginated.
pub async fn list_requirements(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<TrainingRequirement>> {
    principal.require(Permission::TrainingRead)?;
    let result = store::training_requirements::list(store, principal.org(), page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

/// What a requirement names must exist now: the module (active), each facility (not
/// deleted), each custom role.
async fn check_references(store: &Store, principal: &Principal, requirement: &TrainingRequirement) -> ApiResult<()> {
    let org = principal.org();
    training_assignments::assignable_module(store, org, &requirement.training_module_id).await?;
    crate::operations::facilities::active_facilities(store, org, &requirement.applies_to.facility_ids).await?;
    principal.roles.check_exist(&requirement.applies_to.roles)
}

pub async fn create_requirement(
    store: &Store,
    principal: &Principal,
    input: NewRequirement,
) -> ApiResult<RequirementState> {
    principal.require(Permission::TrainingWrite)?;
    let org = principal.org();
    let now = store.clock().now();
    let requirement = new_requirement(org, input, principal.user(), now);
    check_references(store, principal, &requirement).await?;
    if store::training_requirements::all(store, org).await?.len() >= MAX_REQUIREMENTS {
        return Err(ApiError::conflict(format!(
            "an organization may declare at most {MAX_REQUIREMENTS} training requirements; delete one first"
        )));
    }
    let backfill = start_backfill(&requirement, now);
    let mut transaction = Transaction::new();
    store::training_requirements::put_new(&mut transaction, &requirement, &backfill)?;
    let event = Event::TrainingRequirementCreated(TrainingRequirementCreated {
        requirement: RequirementFields::of(&requirement),
    });
    store::audit::record(&mut transaction, &principal.actor, now, requirement.id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(RequirementState {
        requirement,
        backfill: Some(backfill),
    })
}

pub async fn update_requirement(
    store: &Store,
    principal: &Principal,
    id: &TrainingRequirementId,
    edit: RequirementEdit,
) -> ApiResult<RequirementState> {
    principal.require(Permission::TrainingWrite)?;
    let org = principal.org();
    let before = get_requirement_record(store, org, id).await?;
    let now = store.clock().now();
    let Some(after) = edited(&before, edit, now) else {
        let backfill = store::training_requirements::get_backfill(store, org, id).await?;
        return Ok(RequirementState {
            requirement: before,
            backfill,
        });
    };
    check_references(store, principal, &after).await?;
    let backfill = needs_backfill(&before, &after).then(|| start_backfill(&after, now));
    // Read before the commit: the answer shows the running backfill, if it goes on.
    let kept = match &backfill {
        Some(_) => None,
        None => store::training_requirements::get_backfill(store, org, id).await?,
    };
    let mut transaction = Transaction::new();
    store::training_requirements::put_updated(&mut transaction, &before, &after, backfill.as_ref())?;
    let event = Event::TrainingRequirementUpdated(TrainingRequirementUpdated {
        before: RequirementFields::of(&before),
        after: RequirementFields::of(&after),
        backfill: backfill.is_some(),
    });
    store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(RequirementState {
        requirement: after,
        backfill: backfill.or(kept),
    })
}

/// Retires a requirement: it asks nothing more, its running backfill stops at its next
/// batch, and the assignments it made stay (they are records).
pub async fn delete_requirement(
    store: &Store,
    principal: &Principal,
    id: &TrainingRequirementId,
) -> ApiResult<TrainingRequirement> {
    principal.require(Permission::TrainingWrite)?;
    let requirement = get_requirement_record(store, principal.org(), id).await?;
    let mut transaction = Transaction::new();
    store::training_requirements::delete(&mut transaction, &requirement)?;
    let event = Event::TrainingRequirementDeleted(TrainingRequirementDeleted {
        requirement: RequirementFields::of(&requirement),
    });
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(requirement)
}

/// What a run of the engine did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineReport {
    pub members_examined: u64,
    pub assignments_created: u64,
    /// Assignments not made because something changed under the run (another run made
    /// it, the member left, the module was retired): nothing to retry.
    pub skipped: u64,
    pub backfill_batches: u64,
    pub backfills_finished: u64,
}

impl EngineReport {
    fn add(&mut self, other: &EngineReport) {
        self.members_examined += other.members_examined;
        self.assignments_created += other.assignments_created;
        self.skipped += other.skipped;
        self.backfill_batches += other.backfill_batches;
        self.backfills_finished += other.backfills_finished;
    }
}

/// Makes the assignments `requirements` ask of one member with `assignments`.
async fn apply(
    store: &Store,
    requirements: &[TrainingRequirement],
    member: &Member,
    grants: &RolesDocument,
    assignments: &[TrainingAssignment],
) -> ApiResult<EngineReport> {
    let job = Principal::job(&member.organization_id, Job::TrainingRequirements);
    let today = store.clock().today();
    let mut report = EngineReport {
        members_examined: 1,
        ..EngineReport::default()
    };
    // Two requirements for one module make one assignment: the second sees the first's.
    let mut known: Vec<TrainingAssignment> = assignments.to_vec();
    for requirement in requirements {
        let Decision::Assign {
            facility_ids,
            due_date,
            made_before,
        } = decide(requirement, member, grants, &known, today)
        else {
            continue;
        };
        let input = NewAssignment {
            user_id: member.user_id.clone(),
            training_module_id: requirement.training_module_id.clone(),
            due_date,
            notes: None,
            facility_ids,
        };
        let origin = Origin::Requirement {
            requirement: &requirement.id,
            made_before: &made_before,
        };
        match training_assignments::create(store, &job, input, origin).await {
            Ok(created) => {
                report.assignments_created += 1;
                known.push(created.assignment);
            }
            Err(ApiError::Conflict { message } | ApiError::NotFoundId { id: message, .. }) => {
                tracing::info!(
                    requirement = %requirement.id,
                    user = %member.user_id,
                    reason = %message,
                    "requirement assignment not made"
                );
                report.skipped += 1;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(report)
}

/// Every requirement of the organization, applied to one member (an active one: the
/// others need nothing new).
pub async fn apply_to_member(store: &Store, org: &OrgId, user: &UserId) -> ApiResult<EngineReport> {
    // The roles document says which roles the member's groups grant them.
    let (Some(member), grants) = store::members::get_with_roles(store, org, user).await? else {
        return Ok(EngineReport::default());
    };
    if member.status != MemberStatus::Active {
        return Ok(EngineReport::default());
    }
    let requirements = store::training_requirements::all(store, org).await?;
    if requirements.is_empty() {
        return Ok(EngineReport::default());
    }
    let assignments = store::training_assignments::of_user(store, org, user).await?;
    apply(store, &requirements, &member, &grants, &assignments).await
}

/// What one batch of a backfill came to.
#[derive(Debug)]
pub enum BatchOutcome {
    /// More members follow.
    Continue(Backfill, EngineReport),
    Finished(EngineReport),
    /// The requirement was deleted or changed again, or another run saved this batch
    /// first: nothing more to do here.
    Stopped,
}

/// One batch: the next `BACKFILL_BATCH` members of the organization, each applied the
/// requirement as it stands now; progress saved only if no other run saved since.
pub async fn backfill_batch(store: &Store, seen: &Backfill) -> ApiResult<BatchOutcome> {
    let org = &seen.organization_id;
    let Some(backfill) = store::training_requirements::get_backfill(store, org, &seen.requirement_id).await? else {
        return Ok(BatchOutcome::Stopped);
    };
    let requirement = store::training_requirements::get(store, org, &backfill.requirement_id).await?;
    let current = requirement
        .filter(|requirement| requirement.version == backfill.requirement_version)
        .filter(|_| backfill.status == BackfillStatus::Running);
    let Some(requirement) = current else {
        return Ok(BatchOutcome::Stopped);
    };
    let filter = UserFilter {
        statuses: vec![MemberStatus::Active],
        role: None,
        role_groups: Vec::new(),
    };
    let page = store::members::list(store, org, &filter, BACKFILL_BATCH, backfill.after.as_ref()).await?;
    let grants = store::roles::document(store, org).await?;
    let requirements = std::slice::from_ref(&requirement);
    let mut reports: Vec<EngineReport> = Vec::with_capacity(page.items.len());
    for chunk in page.items.chunks(CONCURRENT_PEOPLE) {
        reports.extend(
            try_join_all(
                chunk
                    .iter()
                    .map(|member| apply_in_batch(store, requirements, member, &grants)),
            )
            .await?,
        );
    }
    let mut report = EngineReport {
        backfill_batches: 1,
        ..EngineReport::default()
    };
    for one in &reports {
        report.add(one);
    }
    let mut next = backfill.clone();
    next.batches += 1;
    next.members_examined += report.members_examined;
    next.assignments_created += report.assignments_created;
    next.after = page.next;
    if next.after.is_none() {
        next.status = BackfillStatus::Done;
        next.finished_at = Some(store.clock().now());
    }
    if !store::training_requirements::save_progress(store, &next, backfill.batches).await? {
        return Ok(BatchOutcome::Stopped);
    }
    if next.status == BackfillStatus::Done {
        report.backfills_finished = 1;
        Ok(BatchOutcome::Finished(report))
    } else {
        Ok(BatchOutcome::Continue(next, report))
    }
}

/// One member of a backfill batch: their assignments are read only if the requirement
/// applies to them.
async fn apply_in_batch(
    store: &Store,
    requirements: &[TrainingRequirement],
    member: &Member,
    grants: &RolesDocument,
) -> ApiResult<EngineReport> {
    if !requirements
        .iter()
        .any(|requirement| requirement.applies_to.matches(member, grants))
    {
        return Ok(EngineReport {
            members_examined: 1,
            ..EngineReport::default()
        });
    }
    let assignments = store::training_assignments::of_user(store, &member.organization_id, &member.user_id).await?;
    apply(store, requirements, member, grants, &assignments).await
}

/// How long a run may go on.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// No batch starts after this.
    pub deadline: Instant,
    /// At most this many batches in the run (`None`: until the deadline).
    pub max_batches: Option<u64>,
}

/// The running backfills, every organization's (or one's), oldest first, each batch after
/// batch until it finishes or the run's limits are reached; the next run continues.
pub async fn run_backfills(store: &Store, only: Option<&OrgId>, limits: RunLimits) -> ApiResult<EngineReport> {
    let mut report = EngineReport::default();
    let running = match only {
        Some(org) => store::training_requirements::running_in(store, org).await?,
        None => store::training_requirements::running(store, 50).await?,
    };
    for mut backfill in running {
        loop {
            let spent = limits.max_batches.is_some_and(|max| report.backfill_batches >= max);
            if spent || Instant::now() >= limits.deadline {
                return Ok(report);
            }
            match Box::pin(backfill_batch(store, &backfill)).await? {
                BatchOutcome::Continue(next, batch) => {
                    report.add(&batch);
                    backfill = next;
                }
                BatchOutcome::Finished(batch) => {
                    report.add(&batch);
                    break;
                }
                BatchOutcome::Stopped => break,
            }
        }
    }
    Ok(report)
}

/// The actions `on_events` reacts to: what the engine's event source lets through
/// (`infra/template.yaml`'s FilterCriteria, `scripts/local_event_sources.py`; a test holds
/// all three the same).
pub const ENGINE_ACTIONS: [&str; 8] = [
    "user.created",
    "user.updated",
    "user.facilities_changed",
    "user.groups_changed",
    "invitation.accepted",
    "group.updated",
    "training_requirement.created",
    "training_requirement.updated",
];

/// The audit events that change what requirements ask of someone: a member created,
/// joined through an invitation, changed (roles, status), given facilities, or joining or
/// leaving a group; a group whose roles changed (each of its members); a requirement
/// declared or changed. Each person is gone through once per call; each organization's
/// running backfills go on within `limits`.
pub async fn on_events(store: &Store, events: &[AuditEvent], limits: RunLimits) -> ApiResult<EngineReport> {
    let mut people: Vec<(OrgId, UserId)> = Vec::new();
    let mut backfilling: Vec<OrgId> = Vec::new();
    for event in events {
        let org = event.organization_id.clone();
        let person = match event.action.as_str() {
            "user.created" | "user.updated" | "user.facilities_changed" | "user.groups_changed" => {
                Some(event.target_id.as_str())
            }
            "invitation.accepted" => event.summary.get("userId").and_then(serde_json::Value::as_str),
            // The group's members now hold other roles: each is gone through. (A group
            // created with members, or a member joining, is each member's own event.)
            "group.updated" if event.summary.get("roles").is_some() => {
                let Ok(group) = GroupId::parse("targetId", &event.target_id) else {
                    continue;
                };
                for user in store::groups::all_members(store, &org, &group).await? {
                    if !people.contains(&(org.clone(), user.clone())) {
                        people.push((org.clone(), user));
                    }
                }
                continue;
            }
            "training_requirement.created" | "training_requirement.updated" => {
                if !backfilling.contains(&org) {
                    backfilling.push(org);
                }
                continue;
            }
            _ => None,
        };
        if let Some(user) = person.and_then(|id| UserId::parse("targetId", id).ok())
            && !people.contains(&(org.clone(), user.clone()))
        {
            people.push((org, user));
        }
    }
    let mut report = EngineReport::default();
    for (org, user) in &people {
        report.add(&apply_to_member(store, org, user).await?);
    }
    for org in &backfilling {
        report.add(&Box::pin(run_backfills(store, Some(org), limits)).await?);
    }
    Ok(report)
}

/// The gaps list's filters.
#[derive(Debug, Clone, Default)]
pub struct GapsQuery {
    /// Default: today (UTC).
    pub as_of: Option<Date>,
    pub facility_id: Option<FacilityId>,
    pub requirement_id: Option<TrainingRequirementId>,
}

/// A person who needs a requirement's module and is not current for it on the date.
#[derive(Debug, Clone)]
pub struct Gap {
    pub member: Member,
    pub requirement: TrainingRequirement,
    pub verdict: GapVerdict,
}

/// Members a gaps request reads at most; a page may hold fewer rows than asked, with a
/// cursor to go on from.
const GAPS_MEMBERS_PER_REQUEST: usize = 500;

const CURSOR_REQUIREMENT: &str = "requirement";
const CURSOR_BEFORE_ACCESS: &str = "beforeAccess";

/// Where a cursor resumes: the requirement's index in the order and the member position
/// in it; a requirement deleted since is passed, going on with the next in the order.
fn resume_at(
    requirements: &[TrainingRequirement],
    position: &BTreeMap<String, String>,
) -> ApiResult<(usize, Option<BTreeMap<String, String>>)> {
    let invalid = || ApiError::validation("cursor", "this cursor does not continue this list");
    let id = position.get(CURSOR_REQUIREMENT).ok_or_else(invalid)?;
    let before_access = position.get(CURSOR_BEFORE_ACCESS).ok_or_else(invalid)? == "true";
    let mut member_position = position.clone();
    member_position.remove(CURSOR_REQUIREMENT);
    member_position.remove(CURSOR_BEFORE_ACCESS);
    if let Some(index) = requirements.iter().position(|r| r.id.as_str() == id.as_str()) {
        return Ok((index, Some(member_position)));
    }
    let after_it = |r: &TrainingRequirement| (!r.before_access, r.id.as_str()) > (!before_access, id.as_str());
    Ok((
        requirements.iter().position(after_it).unwrap_or(requirements.len()),
        None,
    ))
}

/// The people each requirement applies to (today's roles, facilities and status) who are
/// not current for its module on `asOf` (at `facilityId`, if given: people authorised for
/// it, under requirements that cover it), `beforeAccess` requirements first, then by
/// requirement and member id. Read through the members partition and each person's
/// assignments (GSI1); never a scan.
pub async fn list_gaps(
    store: &Store,
    principal: &Principal,
    query: GapsQuery,
    page: &PageRequest,
) -> ApiResult<ListPage<Gap>> {
    // Each row names the person (display name and email), as the users list would.
    principal.require(Permission::TrainingRead)?;
    principal.require(Permission::UsersRead)?;
    let org = principal.org();
    if let Some(facility) = &query.facility_id {
        crate::operations::facilities::get_facility_record(store, org, facility).await?;
    }
    let mut requirements = store::training_requirements::all(store, org).await?;
    if let Some(id) = &query.requirement_id {
        requirements.retain(|requirement| &requirement.id == id);
        if requirements.is_empty() {
            return Err(ApiError::NotFoundId {
                resource: "training requirement",
                id: id.to_string(),
            });
        }
    }
    if let Some(facility) = &query.facility_id {
        requirements.retain(|requirement| requirement.applies_to.covers_facility(facility));
    }
    gap_order(&mut requirements);
    let as_of = query.as_of.unwrap_or_else(|| store.clock().today());
    let facility = query.facility_id.as_ref();

    let (start, mut member_after) = match &page.after {
        None => (0, None),
        Some(position) => resume_at(&requirements, position)?,
    };
    let filter = UserFilter {
        statuses: vec![MemberStatus::Active],
        role: None,
        role_groups: Vec::new(),
    };
    let mut gaps = Vec::new();
    let mut examined = 0;
    for requirement in &requirements[start.min(requirements.len())..] {
        loop {
            let members = store::members::list(store, org, &filter, BACKFILL_BATCH, member_after.as_ref()).await?;
            let candidates: Vec<&Member> = members
                .items
                .iter()
                .filter(|member| requirement.applies_to.matches(member, &principal.roles))
                .filter(|member| facility.is_none_or(|f| member.facility_ids.contains(f)))
                .collect();
            for chunk in candidates.chunks(CONCURRENT_PEOPLE) {
                let assignments: Vec<Vec<TrainingAssignment>> = try_join_all(
                    chunk
                        .iter()
                        .map(|member| store::training_assignments::of_user(store, org, &member.user_id)),
                )
                .await?;
                for (member, assignments) in chunk.iter().zip(assignments) {
                    let Some(verdict) = gap_of(requirement, &assignments, as_of, facility) else {
                        continue;
                    };
                    gaps.push(Gap {
                        member: (*member).clone(),
                        requirement: requirement.clone(),
                        verdict,
                    });
                    if gaps.len() == page.limit {
                        let position = member_position(org, requirement, member);
                        return Ok(ListPage {
                            data: gaps,
                            next_cursor: page.next_cursor(Some(position)),
                        });
                    }
                }
            }
            examined += members.items.len();
            member_after = members.next;
            let Some(after) = &member_after else {
                break;
            };
            if examined >= GAPS_MEMBERS_PER_REQUEST {
                let mut position = after.clone();
                position.insert(CURSOR_REQUIREMENT.into(), requirement.id.to_string());
                position.insert(CURSOR_BEFORE_ACCESS.into(), requirement.before_access.to_string());
                return Ok(ListPage {
                    data: gaps,
                    next_cursor: page.next_cursor(Some(position)),
                });
            }
        }
    }
    Ok(ListPage {
        data: gaps,
        next_cursor: None,
    })
}

/// The cursor after `member` in `requirement`'s part of the list.
fn member_position(org: &OrgId, requirement: &TrainingRequirement, member: &Member) -> BTreeMap<String, String> {
    BTreeMap::from([
        (CURSOR_REQUIREMENT.to_string(), requirement.id.to_string()),
        (CURSOR_BEFORE_ACCESS.to_string(), requirement.before_access.to_string()),
        (keys::PK.to_string(), keys::org_partition(org)),
        (keys::SK.to_string(), keys::member_sort_key(&member.user_id)),
    ])
}
