//! Training requirements through the REST door: the bodies, parsed into the commands'
//! inputs (errors name the JSON fields), the views, and the gaps list's rows.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, TrainingModuleId, TrainingRequirementId, UserId};
use crate::model::principal::Principal;
use crate::model::roles::RoleRef;
use crate::model::training_requirements::{
    AppliesTo, Backfill, BackfillStatus, NewRequirement, RequirementEdit, TrainingRequirement, due_within_days,
};
use crate::model::training_status::TrainingVerdict;
use crate::operations::training_requirements::{self, Gap, GapsQuery, RequirementState};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::{Date, Timestamp};

/// How far the engine has gone through the members for the requirement's current
/// version (absent for a requirement whose members were never gone through).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackfillView {
    pub status: BackfillStatus,
    pub members_examined: u64,
    pub assignments_created: u64,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl BackfillView {
    pub fn of(backfill: &Backfill) -> Self {
        BackfillView {
            status: backfill.status,
            members_examined: backfill.members_examined,
            assignments_created: backfill.assignments_created,
            started_at: backfill.started_at,
            finished_at: backfill.finished_at,
        }
    }
}

/// The training requirement object of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingRequirementView {
    pub id: TrainingRequirementId,
    pub training_module_id: TrainingModuleId,
    pub applies_to: AppliesTo,
    pub due_within_days: u32,
    pub before_access: bool,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Shown on a single requirement (`GET`, `POST`, `PATCH`), not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillView>,
}

impl TrainingRequirementView {
    pub fn of(requirement: &TrainingRequirement) -> Self {
        TrainingRequirementView {
            id: requirement.id.clone(),
            training_module_id: requirement.training_module_id.clone(),
            applies_to: requirement.applies_to.clone(),
            due_within_days: requirement.due_within_days,
            before_access: requirement.before_access,
            created_by: requirement.created_by.clone(),
            created_at: requirement.created_at,
            updated_at: requirement.updated_at,
            backfill: None,
        }
    }

    pub fn with_backfill(state: &RequirementState) -> Self {
        TrainingRequirementView {
            backfill: state.backfill.as_ref().map(BackfillView::of),
            ..TrainingRequirementView::of(&state.requirement)
        }
    }
}

/// Who a requirement applies to: `{"everyone": true}`, or `roles` and/or `facilityIds`
/// (a person must hold one of the roles and be authorised for one of the facilities;
/// a list left out does not narrow).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppliesToBody {
    #[serde(default)]
    pub everyone: bool,
    /// System role names (`admin`, `auditor`, `developer`, `viewer`) or custom role ids.
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub facility_ids: Vec<FacilityId>,
}

impl AppliesToBody {
    fn parse(self) -> ApiResult<AppliesTo> {
        let roles = self
            .roles
            .iter()
            .map(|role| RoleRef::parse("appliesTo.roles", role))
            .collect::<ApiResult<Vec<_>>>()?;
        AppliesTo::parse(self.everyone, &roles, &self.facility_ids)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTrainingRequirement {
    pub training_module_id: TrainingModuleId,
    pub applies_to: AppliesToBody,
    /// Days a person it newly applies to has, from the day the assignment is made (1–365).
    pub due_within_days: u32,
    /// CIP-004 R2.2: training complete before authorised access. Default `false`.
    #[serde(default)]
    pub before_access: bool,
}

impl CreateTrainingRequirement {
    pub fn parse(self) -> ApiResult<NewRequirement> {
        Ok(NewRequirement {
            training_module_id: self.training_module_id,
            applies_to: self.applies_to.parse()?,
            due_within_days: due_within_days(self.due_within_days)?,
            before_access: self.before_access,
        })
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTrainingRequirement {
    /// Replaces who it applies to; a change goes through the members again.
    pub applies_to: Option<AppliesToBody>,
    pub due_within_days: Option<u32>,
    pub before_access: Option<bool>,
    /// Refused: a requirement's module is fixed (declare another requirement).
    #[schema(value_type = Option<String>)]
    pub training_module_id: Option<serde_json::Value>,
}

impl UpdateTrainingRequirement {
    pub fn parse(self) -> ApiResult<RequirementEdit> {
        if self.training_module_id.is_some() {
            return Err(ApiError::validation(
                "trainingModuleId",
                "a requirement's module cannot change; declare a requirement for the other module and delete this one",
            ));
        }
        Ok(RequirementEdit {
            applies_to: self.applies_to.map(AppliesToBody::parse).transpose()?,
            due_within_days: self.due_within_days.map(due_within_days).transpose()?,
            before_access: self.before_access,
        })
    }
}

/// `POST /training-requirements`. The permission is checked before the body's fields.
pub async fn create(
    store: &Store,
    principal: &Principal,
    body: CreateTrainingRequirement,
) -> ApiResult<TrainingRequirementView> {
    principal.require(Permission::TrainingWrite)?;
    let state = training_requirements::create_requirement(store, principal, body.parse()?).await?;
    Ok(TrainingRequirementView::with_backfill(&state))
}

/// `PATCH /training-requirements/{id}`.
pub async fn update(
    store: &Store,
    principal: &Principal,
    id: &TrainingRequirementId,
    body: UpdateTrainingRequirement,
) -> ApiResult<TrainingRequirementView> {
    principal.require(Permission::TrainingWrite)?;
    let state = training_requirements::update_requirement(store, principal, id, body.parse()?).await?;
    Ok(TrainingRequirementView::with_backfill(&state))
}

pub async fn list(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<TrainingRequirementView>> {
    let page = training_requirements::list_requirements(store, principal, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(TrainingRequirementView::of).collect(),
        next_cursor: page.next_cursor,
    })
}

/// One row of `GET /training-requirements/gaps`: a person a requirement asks for its
/// module, not current for it on `asOf`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingGapView {
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
    pub requirement_id: TrainingRequirementId,
    pub training_module_id: TrainingModuleId,
    pub before_access: bool,
    /// `not_assigned`, `never_completed` or `expired`: the verdict `training-status` gives.
    pub verdict: TrainingVerdict,
    /// An assignment in scope, open on `asOf`, was due before it.
    pub overdue: bool,
    /// The earliest due date of the assignments in scope open on `asOf`.
    pub due_date: Option<Date>,
}

impl TrainingGapView {
    pub fn of(gap: &Gap) -> Self {
        TrainingGapView {
            user_id: gap.member.user_id.clone(),
            display_name: gap.member.display_name.to_string(),
            email: gap.member.email.to_string(),
            requirement_id: gap.requirement.id.clone(),
            training_module_id: gap.requirement.training_module_id.clone(),
            before_access: gap.requirement.before_access,
            verdict: gap.verdict.verdict,
            overdue: gap.verdict.overdue,
            due_date: gap.verdict.due_date,
        }
    }
}

pub async fn gaps(
    store: &Store,
    principal: &Principal,
    query: GapsQuery,
    page: &PageRequest,
) -> ApiResult<ListPage<TrainingGapView>> {
    let page = training_requirements::list_gaps(store, principal, query, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(TrainingGapView::of).collect(),
        next_cursor: page.next_cursor,
    })
}
