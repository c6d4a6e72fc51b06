//! A member's training standing through the REST door (`GET /users/{id}/training-status`):
//! `operations::training_status` reads it; this is its JSON.

use serde::Serialize;

use crate::error::ApiResult;
use crate::ids::{FacilityId, TrainingModuleId, TrainingRequirementId, UserId};
use crate::model::principal::Principal;
use crate::model::training_status::{CompletionSummary, PersonStanding, TrainingVerdict, WaiverSummary};
use crate::operations::training_status::{self, TrainingStatusQuery};
use crate::store::Store;
use crate::time::Date;

/// The standing in one module.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModuleStanding {
    pub training_module_id: TrainingModuleId,
    /// The module's title now (a retired module keeps its title).
    pub title: String,
    pub cip_standard: Option<String>,
    pub verdict: TrainingVerdict,
    /// The latest completion recorded on or before the date.
    pub latest_completion: Option<CompletionSummary>,
    /// The latest waiver on or before the date, where it decides the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverSummary>,
    /// The training requirements that ask this person for the module (at the facility):
    /// the verdict answers to them. Empty: assigned by hand, required by none.
    pub requirement_ids: Vec<TrainingRequirementId>,
}

/// `GET /users/{id}/training-status`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingStatusView {
    pub user_id: UserId,
    pub as_of: Date,
    /// Only assignments scoped to this facility, or to none (organization-wide), count.
    pub facility_id: Option<FacilityId>,
    /// A completion expiring within this many days of `asOf` reads `expiring`.
    pub expiring_within_days: u32,
    /// One entry per module the person was assigned or completed by `asOf`, then one
    /// (`not_assigned`) per module a requirement asks for and nothing was assigned.
    pub modules: Vec<ModuleStanding>,
}

impl TrainingStatusView {
    pub fn of(standing: PersonStanding) -> Self {
        TrainingStatusView {
            user_id: standing.user_id,
            as_of: standing.as_of,
            facility_id: standing.facility_id,
            expiring_within_days: standing.window_days,
            modules: standing
                .modules
                .into_iter()
                .map(|module| ModuleStanding {
                    training_module_id: module.standing.training_module_id,
                    title: module.title,
                    cip_standard: module.cip_standard,
                    verdict: module.standing.verdict,
                    latest_completion: module.standing.latest_completion,
                    waiver: module.standing.waiver,
                    requirement_ids: module.requirement_ids,
                })
                .collect(),
        }
    }
}

pub async fn get(
    store: &Store,
    principal: &Principal,
    user: &UserId,
    query: TrainingStatusQuery,
    window_days: u32,
) -> ApiResult<TrainingStatusView> {
    let standing = training_status::get_training_status(store, principal, user, query, window_days).await?;
    Ok(TrainingStatusView::of(standing))
}
