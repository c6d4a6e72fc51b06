//! Training assignments (seed 001, CIP-004 R2): create, read, list with filters, update,
//! start, complete, waive, delete, and the facility scope. Every write also keeps the
//! open-assignment counts of the module and of each facility in scope, which is what lets
//! a module be retired, or a facility deleted, only when nothing open depends on it.

use std::collections::HashMap;

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId, TrainingAssignmentId, TrainingModuleId, TrainingRequirementId};
use crate::model::events::Event;
use crate::model::events::training_assignments::{
    AssignmentChanges, AssignmentCompleted, AssignmentCreated, AssignmentDeleted, AssignmentRenewed, AssignmentStarted,
    AssignmentUpdated, AssignmentWaived, FacilitiesAdded, FacilityRemoved,
};
use crate::model::facilities::Facility;
use crate::model::principal::Principal;
use crate::model::training_assignments::{
    self as rules, AssignmentEdit, AssignmentQuery, Completion, NewAssignment, ScopedFacility, TrainingAssignment,
    new_assignment,
};
use crate::model::training_modules::TrainingModule;
use crate::model::users::MemberStatus;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;

async fn load(store: &Store, org: &OrgId, id: &TrainingAssignmentId) -> ApiResult<TrainingAssignment> {
    store::training_assignments::get(store, org, id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "training assignment",
            id: id.to_string(),
        })
}

/// A module of the organization that can take new assignments.
pub(crate) async fn assignable_module(store: &Store, org: &OrgId, id: &TrainingModuleId) -> ApiResult<TrainingModule> {
    let module = store::training_modules::get(store, org, id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "training module",
            id: id.to_string(),
        })?;
    module.require_active()?;
    Ok(module)
}

/// The facilities named, each of the organization and not deleted; the first that is not
/// is named in the error.
/// The current names of the facilities in these assignments' scopes (one BatchGetItem per
/// hundred facilities): what a view of them shows.
pub async fn facility_names(
    store: &Store,
    org: &OrgId,
    assignments: &[&TrainingAssignment],
) -> ApiResult<HashMap<FacilityId, String>> {
    let mut ids: Vec<FacilityId> = Vec::new();
    for assignment in assignments {
        for id in &assignment.facility_ids {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = store::facilities::get_many(store, org, &ids).await?;
    Ok(found.into_iter().map(|facility| (facility.id, facility.name)).collect())
}

/// An assignment as a command left it, with the names of its scope's facilities as a view
/// shows them. A change reads the names before its commit, so that the commit is its last
/// call: a failure then always means a change not made, which a retry makes once.
pub struct ScopedAssignment {
    pub assignment: TrainingAssignment,
    pub facility_names: HashMap<FacilityId, String>,
}

async fn with_names(store: &Store, org: &OrgId, assignment: TrainingAssignment) -> ApiResult<ScopedAssignment> {
    let facility_names = facility_names(store, org, &[&assignment]).await?;
    Ok(ScopedAssignment {
        assignment,
        facility_names,
    })
}

pub fn scope_of(assignment: &TrainingAssignment, names: &HashMap<FacilityId, String>) -> Vec<ScopedFacility> {
    assignment
        .facility_ids
        .iter()
        .map(|id| ScopedFacility {
            id: id.clone(),
            name: names.get(id).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Keeps the links of open assignments true (`store::links`): an assignment that is open
/// links to its module and to each facility in its scope; only the links that change are
/// written, and each is the assignment's own item, so parallel assignment changes never
/// write the same item.
pub(crate) fn link_open(
    transaction: &mut Transaction,
    org: &OrgId,
    before: Option<&TrainingAssignment>,
    after: Option<&TrainingAssignment>,
    now: Timestamp,
) -> ApiResult<()> {
    let before = before.filter(|a| a.state.is_open());
    let after = after.filter(|a| a.state.is_open());
    let Some(assignment) = before.or(after).map(|a| a.id.clone()) else {
        return Ok(());
    };
    let module_of = |assignment: Option<&TrainingAssignment>| assignment.map(|a| a.training_module_id.clone());
    if module_of(before) != module_of(after) {
        if let Some(module) = module_of(before) {
            store::training_modules::unlink_open_assignment(transaction, org, &module, &assignment)?;
        }
        if let Some(module) = module_of(after) {
            store::training_modules::link_open_assignment(transaction, org, &module, &assignment, now)?;
        }
    }
    let scope =
        |assignment: Option<&TrainingAssignment>| assignment.map(|a| a.facility_ids.clone()).unwrap_or_default();
    let (was, is) = (scope(before), scope(after));
    for facility in was.iter().filter(|id| !is.contains(id)) {
        store::facilities::unlink_open_assignment(transaction, org, facility, &assignment)?;
    }
    for facility in is.iter().filter(|id| !was.contains(id)) {
        store::facilities::link_open_assignment(transaction, org, facility, &assignment, now)?;
    }
    Ok(())
}

/// A created assignment and the facilities of its scope, as the command read them.
pub struct Created {
    pub assignment: TrainingAssignment,
    pub facilities: Vec<Facility>,
}

/// Why an assignment is made.
pub enum Origin<'a> {
    /// Somebody assigned it (REST).
    ByHand,
    /// The daily job renews this completion: linked to the new assignment in the same
    /// transaction, conditioned on the completion as the job read it. A requirement's
    /// assignment's renewal names the requirement too.
    Renewal(&'a TrainingAssignment),
    /// A training requirement asks for it: its marker for the person is written in the
    /// same transaction (`store::training_requirements::mark_made`), so a run that read
    /// before another run's write makes nothing (a conflict).
    Requirement {
        requirement: &'a TrainingRequirementId,
        made_before: &'a [TrainingAssignmentId],
    },
}

/// The command every door creates an assignment through: REST by hand, the daily job as a
/// renewal, the requirements' engine (`Origin`). The person must be an active member, the
/// module active and each facility not deleted when it commits.
pub async fn create(
    store: &Store,
    principal: &Principal,
    input: NewAssignment,
    origin: Origin<'_>,
) -> ApiResult<Created> {
    let renewal_of = match origin {
        Origin::Renewal(completed) => Some(completed),
        _ => None,
    };
    principal.require(Permission::TrainingWrite)?;
    let org = principal.org();
    let member = store::members::get(store, org, &input.user_id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "user",
            id: input.user_id.to_string(),
        })?;
    if member.status != MemberStatus::Active {
        return Err(ApiError::conflict(format!(
            "user `{}` is {}; only an active member can be assigned training",
            member.user_id,
            member.status.as_str()
        )));
    }
    assignable_module(store, org, &input.training_module_id).await?;
    let facilities = crate::operations::facilities::active_facilities(store, org, &input.facility_ids).await?;
    let now = store.clock().now();
    let mut assignment = new_assignment(org, input, principal.user(), now);
    assignment.renewal_of = renewal_of.map(|completed| completed.id.clone());
    assignment.requirement_id = match origin {
        Origin::ByHand => None,
        Origin::Renewal(completed) => completed.requirement_id.clone(),
        Origin::Requirement { requirement, .. } => Some(requirement.clone()),
    };

    let mut transaction = Transaction::new();
    store::training_assignments::put_new(&mut transaction, &assignment)?;
    store::members::check_active(
        &mut transaction,
        org,
        &assignment.user_id,
        ApiError::conflict("the user stopped being an active member meanwhile; retry"),
    )?;
    link_open(&mut transaction, org, None, Some(&assignment), now)?;
    if let Origin::Requirement {
        requirement,
        made_before,
    } = origin
    {
        store::training_requirements::mark_made(
            &mut transaction,
            &store::training_requirements::Made {
                org,
                requirement,
                user: &assignment.user_id,
                assignment: &assignment.id,
                made_before,
            },
            now,
        )?;
    }
    let created = Event::AssignmentCreated(AssignmentCreated::of(&assignment));
    store::audit::record(
        &mut transaction,
        &principal.actor,
        now,
        assignment.id.as_str(),
        &created,
    )?;
    if let Some(completed) = renewal_of {
        let renewed = rules::linked_renewal(completed, &assignment);
        store::training_assignments::put_scheduled_change(&mut transaction, completed, &renewed)?;
        let event = Event::AssignmentRenewed(AssignmentRenewed {
            renewed_by: assignment.id.clone(),
            expires_at: completed.state.expires_at(),
        });
        store::audit::record(&mut transaction, &principal.actor, now, completed.id.as_str(), &event)?;
    }
    transaction.commit(store).await?;
    Ok(Created { assignment, facilities })
}

pub async fn get_assignment(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<ScopedAssignment> {
    principal.require(Permission::TrainingRead)?;
    let assignment = load(store, principal.org(), id).await?;
    with_names(store, principal.org(), assignment).await
}

pub async fn list_assignments(
    store: &Store,
    principal: &Principal,
    query: &AssignmentQuery,
    page: &PageRequest,
) -> ApiResult<ListPage<TrainingAssignment>> {
    principal.require(Permission::TrainingRead)?;
    let today = store.clock().today();
    let result =
        store::training_assignments::list(store, principal.org(), query, today, page.limit, page.after.as_ref())
            .await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

/// Reads the facility names the answer shows, then writes `after` over `before` with the
/// counts and one audit event, in one transaction: the commit is the change's last call.
async fn commit_change(
    store: &Store,
    principal: &Principal,
    before: &TrainingAssignment,
    after: TrainingAssignment,
    event: Event,
) -> ApiResult<ScopedAssignment> {
    let scoped = with_names(store, principal.org(), after).await?;
    let after = &scoped.assignment;
    let mut transaction = Transaction::new();
    store::training_assignments::put_updated(&mut transaction, before, after)?;
    link_open(
        &mut transaction,
        principal.org(),
        Some(before),
        Some(after),
        store.clock().now(),
    )?;
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        after.id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(scoped)
}

/// Seed 001: "the due date or assigned module", and the notes, while the assignment is open.
pub async fn update_assignment(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    input: AssignmentEdit,
) -> ApiResult<ScopedAssignment> {
    principal.require(Permission::TrainingWrite)?;
    let before = load(store, principal.org(), id).await?;
    before.require_open()?;
    let now = store.clock().now();
    let mut after = before.clone();
    if let Some(due_date) = input.due_date {
        after.due_date = due_date;
    }
    if let Some(notes) = input.notes {
        after.notes = notes;
    }
    if let Some(module) = input.training_module_id
        && module != before.training_module_id
    {
        assignable_module(store, principal.org(), &module).await?;
        after.training_module_id = module;
    }
    let changes = AssignmentChanges::between(&before, &after);
    if changes.is_empty() {
        return with_names(store, principal.org(), before).await;
    }
    let after = after.next_version(now, now.date());
    let event = Event::AssignmentUpdated(AssignmentUpdated { changes });
    commit_change(store, principal, &before, after, event).await
}

/// `POST /training-assignments/{id}/start`: the trainee opened the course in the LMS.
pub async fn start_assignment(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<ScopedAssignment> {
    principal.require(Permission::TrainingWrite)?;
    let before = load(store, principal.org(), id).await?;
    let Some(after) = rules::start(&before, store.clock().now())? else {
        return with_names(store, principal.org(), before).await;
    };
    let event = Event::AssignmentStarted(AssignmentStarted {
        started_at: after.state.started_at(),
    });
    commit_change(store, principal, &before, after, event).await
}

/// `POST /training-assignments/{id}/complete` (seed 001): the completion record, with the
/// completing caller and the expiry the module's interval gives it.
pub async fn complete_assignment(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    completion: Completion,
) -> ApiResult<ScopedAssignment> {
    principal.require(Permission::TrainingWrite)?;
    let now = store.clock().now();
    let before = load(store, principal.org(), id).await?;
    before.require_open()?;
    let module = store::training_modules::get(store, principal.org(), &before.training_module_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("assignment {id} names a missing module")))?;
    let after = rules::complete(
        &before,
        completion,
        principal.user(),
        module.completion_interval_days,
        now,
    )?;
    let event = Event::AssignmentCompleted(AssignmentCompleted {
        completed_at: after.state.completed_at(),
        self_reported: after.self_reported(),
        score: after.state.completion().and_then(|completion| completion.score),
        certificate_reference: after
            .state
            .completion()
            .and_then(|completion| completion.certificate_reference.clone()),
        source_statement_id: after
            .state
            .completion()
            .and_then(|completion| completion.source_statement_id.clone()),
        expires_at: after.state.expires_at(),
        completion_interval_days: module.completion_interval_days,
    });
    commit_change(store, principal, &before, after, event).await
}

/// `POST /training-assignments/{id}/waive`: a formal waiver; the caller is the approver,
/// and never the assignee (`rules::waive` refuses a waiver of one's own assignment with a
/// 403 before anything is written, whichever door the request came through).
pub async fn waive_assignment(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    reason: &str,
) -> ApiResult<ScopedAssignment> {
    principal.require(Permission::TrainingWaive)?;
    let before = load(store, principal.org(), id).await?;
    let after = rules::waive(&before, reason, principal.user(), store.clock().now())?;
    let event = Event::AssignmentWaived(AssignmentWaived {
        reason: after.state.waiver().map(|waiver| waiver.reason.clone()),
        status_before: before.status_on(store.clock().today()),
    });
    commit_change(store, principal, &before, after, event).await
}

/// Deletes an open assignment (one made by mistake). A complete or waived assignment is
/// CIP-004 evidence and is never deleted (409). The audit event keeps the whole record.
pub async fn delete_assignment(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<ScopedAssignment> {
    principal.require(Permission::TrainingWrite)?;
    let before = load(store, principal.org(), id).await?;
    if !before.state.is_open() {
        return Err(ApiError::conflict(format!(
            "this assignment is {}: its record is CIP-004 evidence and cannot be deleted",
            before.state.name()
        )));
    }
    let mut transaction = Transaction::new();
    store::training_assignments::delete(&mut transaction, &before)?;
    link_open(
        &mut transaction,
        principal.org(),
        Some(&before),
        None,
        store.clock().now(),
    )?;
    let event = Event::AssignmentDeleted(AssignmentDeleted { record: before.clone() });
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        id.as_str(),
        &event,
    )?;
    let deleted = with_names(store, principal.org(), before).await?;
    transaction.commit(store).await?;
    Ok(deleted)
}

/// Adds facilities to an open assignment's scope; one already in scope is left as it is.
pub async fn add_assignment_facilities(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    requested: Vec<FacilityId>,
) -> ApiResult<ScopedAssignment> {
    principal.require(Permission::TrainingWrite)?;
    let requested = rules::facility_ids("facilityIds", requested)?;
    if requested.is_empty() {
        return Err(ApiError::validation(
            "facilityIds",
            "`facilityIds` must name at least one facility",
        ));
    }
    let before = load(store, principal.org(), id).await?;
    before.require_open()?;
    crate::operations::facilities::active_facilities(store, principal.org(), &requested).await?;
    let added: Vec<FacilityId> = requested
        .into_iter()
        .filter(|facility| !before.facility_ids.contains(facility))
        .collect();
    if added.is_empty() {
        return with_names(store, principal.org(), before).await;
    }
    let mut after = before.clone();
    after.facility_ids.extend(added.iter().cloned());
    rules::facility_ids("facilityIds", after.facility_ids.clone())?;
    let now = store.clock().now();
    let after = after.next_version(now, now.date());
    let event = Event::AssignmentFacilitiesAdded(FacilitiesAdded {
        added: added.clone(),
        facility_ids: after.facility_ids.clone(),
    });
    commit_change(store, principal, &before, after, event).await
}

/// Removes one facility from an open assignment's scope; one not in scope is 404.
pub async fn remove_assignment_facility(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    facility: &FacilityId,
) -> ApiResult<ScopedAssignment> {
    principal.require(Permission::TrainingWrite)?;
    let before = load(store, principal.org(), id).await?;
    if !before.facility_ids.contains(facility) {
        return Err(ApiError::NotFoundId {
            resource: "facility in this assignment's scope",
            id: facility.to_string(),
        });
    }
    before.require_open()?;
    let mut after = before.clone();
    after.facility_ids.retain(|scoped| scoped != facility);
    let now = store.clock().now();
    let after = after.next_version(now, now.date());
    let event = Event::AssignmentFacilityRemoved(FacilityRemoved {
        removed: facility.clone(),
        facility_ids: after.facility_ids.clone(),
    });
    commit_change(store, principal, &before, after, event).await
}
