//! Training assignments through the REST door: the commands of
//! `operations::training_assignments` answer records; this maps them to the views, with
//! the current names of the facilities in scope (one read per response, as before). The
//! request bodies parse into the commands' typed inputs here, errors naming JSON fields.

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ids::{FacilityId, TrainingAssignmentId, TrainingModuleId, TrainingRequirementId, UserId};
use crate::model::assignment_state::RenewalMark;
use crate::model::principal::Principal;
use crate::model::training_assignments::{
    self as rules, AssignmentEdit, AssignmentQuery, Completion, NewAssignment, ScopedFacility, TrainingAssignment,
    TrainingStatus,
};
use crate::operations::training_assignments::{self as assignments, ScopedAssignment, facility_names, scope_of};
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::{Date, Timestamp};

/// The training assignment object of the API (seed 001). The completion and waiver
/// fields appear once they exist, so a new assignment reads exactly as the seed's sample.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingAssignmentView {
    pub id: TrainingAssignmentId,
    pub user_id: UserId,
    pub training_module_id: TrainingModuleId,
    pub status: TrainingStatus,
    pub due_date: Date,
    pub completed_at: Option<Timestamp>,
    pub notes: Option<String>,
    pub facilities: Vec<ScopedFacility>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<UserId>,
    /// With a completion: `true` when the trainee recorded it (`completedBy` is `userId`),
    /// as an LMS reporting through the person's own key does; `false` when someone else did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_reported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_reference: Option<String>,
    /// The xAPI statement an LMS reported the completion with (`POST /xapi/statements`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_statement_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver_reason: Option<String>,
    /// The completed assignment this one renews.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_of: Option<TrainingAssignmentId>,
    /// The assignment that renews this completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewed_by: Option<TrainingAssignmentId>,
    /// The training requirement that made this assignment (or the one it renews).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement_id: Option<TrainingRequirementId>,
}

impl TrainingAssignmentView {
    /// `facilities` are the scope's facilities with their current names, in scope order.
    pub fn of(assignment: &TrainingAssignment, facilities: Vec<ScopedFacility>, today: Date) -> Self {
        let completion = assignment.state.completion();
        let waiver = assignment.state.waiver();
        TrainingAssignmentView {
            id: assignment.id.clone(),
            user_id: assignment.user_id.clone(),
            training_module_id: assignment.training_module_id.clone(),
            status: assignment.status_on(today),
            due_date: assignment.due_date,
            completed_at: assignment.state.completed_at(),
            notes: assignment.notes.clone(),
            facilities,
            created_at: assignment.created_at,
            updated_at: assignment.updated_at,
            started_at: assignment.state.started_at(),
            completed_by: completion.map(|completion| completion.completed_by.clone()),
            self_reported: assignment.self_reported(),
            score: completion.and_then(|completion| completion.score),
            certificate_reference: completion.and_then(|completion| completion.certificate_reference.clone()),
            source_statement_id: completion.and_then(|completion| completion.source_statement_id.clone()),
            expires_at: assignment.state.expires_at(),
            waived_at: waiver.map(|waiver| waiver.waived_at),
            waived_by: waiver.map(|waiver| waiver.waived_by.clone()),
            waiver_reason: waiver.map(|waiver| waiver.reason.clone()),
            renewal_of: assignment.renewal_of.clone(),
            renewed_by: match assignment.state.renewal() {
                Some(RenewalMark::RenewedBy(renewal)) => Some(renewal.clone()),
                _ => None,
            },
            requirement_id: assignment.requirement_id.clone(),
        }
    }
}

/// The answer of the facility-scoping endpoints (seed 001).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentFacilities {
    pub training_assignment_id: TrainingAssignmentId,
    pub facilities: Vec<ScopedFacility>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTrainingAssignment {
    pub user_id: UserId,
    pub training_module_id: TrainingModuleId,
    pub due_date: String,
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub facility_ids: Option<Vec<FacilityId>>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTrainingAssignment {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub due_date: Option<String>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub training_module_id: Option<TrainingModuleId>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteTrainingAssignment {
    pub completed_at: Option<String>,
    pub score: Option<i64>,
    pub certificate_reference: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaiveTrainingAssignment {
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScopeFacilities {
    pub facility_ids: Vec<FacilityId>,
}

impl CreateTrainingAssignment {
    /// A past due date is allowed: users import history from an earlier system, and such
    /// an assignment reads as overdue at once.
    pub fn validate(self) -> ApiResult<NewAssignment> {
        Ok(NewAssignment {
            user_id: self.user_id,
            training_module_id: self.training_module_id,
            due_date: Date::parse("dueDate", &self.due_date)?,
            notes: rules::notes(self.notes.as_deref())?,
            facility_ids: rules::facility_ids("facilityIds", self.facility_ids.unwrap_or_default())?,
        })
    }
}

impl UpdateTrainingAssignment {
    pub fn parse(self) -> ApiResult<AssignmentEdit> {
        Ok(AssignmentEdit {
            due_date: self.due_date.map(|date| Date::parse("dueDate", &date)).transpose()?,
            notes: self.notes.map(|text| rules::notes(text.as_deref())).transpose()?,
            training_module_id: self.training_module_id,
        })
    }
}

impl CompleteTrainingAssignment {
    pub fn completion(&self, now: Timestamp) -> ApiResult<Completion> {
        Completion::parse(
            self.completed_at.as_deref(),
            self.score,
            self.certificate_reference.as_deref(),
            now,
        )
    }
}

fn view(store: &Store, scoped: &ScopedAssignment) -> TrainingAssignmentView {
    let assignment = &scoped.assignment;
    TrainingAssignmentView::of(
        assignment,
        scope_of(assignment, &scoped.facility_names),
        store.clock().today(),
    )
}

fn scope_view(scoped: &ScopedAssignment) -> AssignmentFacilities {
    AssignmentFacilities {
        training_assignment_id: scoped.assignment.id.clone(),
        facilities: scope_of(&scoped.assignment, &scoped.facility_names),
    }
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
    let created = assignments::create(store, principal, body.validate()?, assignments::Origin::ByHand).await?;
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
    Ok(view(store, &assignment))
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
    Ok(view(store, &assignment))
}

pub async fn start(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<TrainingAssignmentView> {
    let assignment = assignments::start_assignment(store, principal, id).await?;
    Ok(view(store, &assignment))
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
    Ok(view(store, &assignment))
}

pub async fn waive(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    body: WaiveTrainingAssignment,
) -> ApiResult<TrainingAssignmentView> {
    let assignment = assignments::waive_assignment(store, principal, id, &body.reason).await?;
    Ok(view(store, &assignment))
}

/// `DELETE /training-assignments/{id}`: the deleted record as it was.
pub async fn delete(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<TrainingAssignmentView> {
    let deleted = assignments::delete_assignment(store, principal, id).await?;
    Ok(view(store, &deleted))
}

pub async fn facilities(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
) -> ApiResult<AssignmentFacilities> {
    let assignment = assignments::get_assignment(store, principal, id).await?;
    Ok(scope_view(&assignment))
}

pub async fn add_facilities(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    body: ScopeFacilities,
) -> ApiResult<AssignmentFacilities> {
    let assignment = assignments::add_assignment_facilities(store, principal, id, body.facility_ids).await?;
    Ok(scope_view(&assignment))
}

pub async fn remove_facility(
    store: &Store,
    principal: &Principal,
    id: &TrainingAssignmentId,
    facility: &FacilityId,
) -> ApiResult<AssignmentFacilities> {
    let assignment = assignments::remove_assignment_facility(store, principal, id, facility).await?;
    Ok(scope_view(&assignment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrgId;

    #[test]
    fn self_reported_shows_with_a_completion_only() {
        let now = Timestamp::parse("t", "2025-04-10T14:15:00Z").unwrap();
        let today = now.date();
        let open = rules::new_assignment(
            &OrgId::new(),
            NewAssignment {
                user_id: UserId::new(),
                training_module_id: TrainingModuleId::new(),
                due_date: Date::parse("d", "2025-04-30").unwrap(),
                notes: None,
                facility_ids: vec![],
            },
            &UserId::new(),
            now,
        );
        let completion = CompleteTrainingAssignment::default().completion(now).unwrap();
        let by_self = rules::complete(&open, completion, &open.user_id, None, now).unwrap();
        let view = serde_json::to_value(TrainingAssignmentView::of(&by_self, vec![], today)).unwrap();
        assert_eq!(view["selfReported"], true);
        assert_eq!(view["completedBy"], serde_json::json!(open.user_id));
        let view = serde_json::to_value(TrainingAssignmentView::of(&open, vec![], today)).unwrap();
        assert!(view.get("selfReported").is_none() && view.get("completedBy").is_none());
    }
}
