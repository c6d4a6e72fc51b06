//! Training assignments through the REST door: the commands of
//! `operations::training_assignments` answer records; this maps them to the views, with
//! the current names of the facilities in scope (one read per response, as before).
//! (The views and bodies themselves are still in `model::training_assignments`, because
//! the export writes its rows from the same view.)

use crate::error::ApiResult;
use crate::ids::{FacilityId, TrainingAssignmentId};
use crate::model::principal::Principal;
use crate::model::training_assignments::{
    AssignmentFacilities, AssignmentQuery, CompleteTrainingAssignment, CreateTrainingAssignment, ScopeFacilities,
    TrainingAssignment, TrainingAssignmentView, UpdateTrainingAssignment, WaiveTrainingAssignment,
};
use crate::operations::training_assignments::{self as assignments, facility_names, scope_of};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::Store;

async fn view(
    store: &Store,
    principal: &Principal,
    assignment: &TrainingAssignment,
) -> ApiResult<TrainingAssignmentView> {
    let names = facility_names(store, principal.org(), &[assignment]).await?;
    Ok(TrainingAssignmentView::of(
        assignment,
        scope_of(assignment, &names),
        store.clock().today(),
    ))
}

async fn scope_view(
    store: &Store,
    principal: &Principal,
    assignment: &TrainingAssignment,
) -> ApiResult<AssignmentFacilities> {
    let names = facility_names(store, principal.org(), &[assignment]).await?;
    Ok(AssignmentFacilities {
        training_assignment_id: assignment.id.clone(),
        facilities: scope_of(assignment, &names),
    })
}

pub async fn list(
    store: &Store,
    principal: &Principal,
    query: &AssignmentQuery,
    page: &PageRequest,
) -> ApiResult<ListPage<TrainingAssignmentView>> {
    let page = assignments::list_assignments(store, principal, query, page).await?;
    let rows: Vec<&TrainingAssignment> = page.data.iter().collect();
    let names = facility_names(store, principal.org(), &rows).await?;
    let today = store.clock().today();
    Ok(ListPage {
        data: page
            .data
            .iter()
            .map(|assignment| TrainingAssignmentView::of(assignment, scope_of(assignment, &names), today))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// `POST /training-assignments`. The permission is checked before the body's fields, as
/// the command would, so a caller without it learns nothing from validation errors.
pub async fn create(
    store: &Store,
    principal: &Principal,
    body: CreateTrainingAssignment,
) -> ApiResult<TrainingAssignmentView> {
    principal.require(Permission::TrainingWrite)?;
    let created = assignments::create(store, principal, body.validate()?, None).await?;
    let names = created
        .facilities
        .into_iter()
        .map(|facility| (facility.id, facility.name))
        .collect();
    Ok(TrainingAssignmentView::of(
        &created.assignment,
        scope_of(&created.assignment, &names),
        store.clock().today(),
    ))
}

pub async fn get(store: &Store, principal: &Principal, id: &TrainingAssignmentId) -> ApiResult<TrainingAssignmentView> {
    let assignment = assignments::get_assignment(store, principal, id).await?;
    view(store, principal, &assignment).await
}

/// `PATCH /training-assignments/{id}`.
pub async fn update(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    body: UpdateTrainingAssignment,
) -> ApiResult<TrainingAssignmentView> {
    principal.require(Permission::TrainingWrite)?;
    let assignment = assignments::update_assignment(store, principal, id, body.parse()?).await?;
    view(store, principal, &assignment).await
}

pub async fn start(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<TrainingAssignmentView> {
    let assignment = assignments::start_assignment(store, principal, id).await?;
    view(store, principal, &assignment).await
}

/// `POST /training-assignments/{id}/complete`: the completion parsed at the clock's now
/// (a `completedAt` in the future is refused).
pub async fn complete(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    body: CompleteTrainingAssignment,
) -> ApiResult<TrainingAssignmentView> {
    principal.require(Permission::TrainingWrite)?;
    let completion = body.completion(store.clock().now())?;
    let assignment = assignments::complete_assignment(store, principal, id, completion).await?;
    view(store, principal, &assignment).await
}

pub async fn waive(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    body: WaiveTrainingAssignment,
) -> ApiResult<TrainingAssignmentView> {
    let assignment = assignments::waive_assignment(store, principal, id, &body.reason).await?;
    view(store, principal, &assignment).await
}

/// `DELETE /training-assignments/{id}`: the deleted record as it was.
pub async fn delete(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<TrainingAssignmentView> {
    let deleted = assignments::delete_assignment(store, principal, id).await?;
    view(store, principal, &deleted).await
}

pub async fn facilities(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<AssignmentFacilities> {
    let assignment = assignments::get_assignment(store, principal, id).await?;
    scope_view(store, principal, &assignment).await
}

pub async fn add_facilities(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    body: ScopeFacilities,
) -> ApiResult<AssignmentFacilities> {
    let assignment = assignments::add_assignment_facilities(store, principal, id, body.facility_ids).await?;
    scope_view(store, principal, &assignment).await
}

pub async fn remove_facility(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    facility: &FacilityId,
) -> ApiResult<AssignmentFacilities> {
    let assignment = assignments::remove_assignment_facility(store, principal, id, facility).await?;
    scope_view(store, principal, &assignment).await
}
