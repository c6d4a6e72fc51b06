//! The events of training requirements (`training_requirement.*`).

use serde::Serialize;

use crate::ids::TrainingModuleId;
use crate::model::training_requirements::{AppliesTo, TrainingRequirement};

/// What a requirement asks, as its events report it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequirementFields {
    #[schema(value_type = String)]
    pub training_module_id: TrainingModuleId,
    pub applies_to: AppliesTo,
    pub due_within_days: u32,
    pub before_access: bool,
}

impl RequirementFields {
    pub fn of(requirement: &TrainingRequirement) -> Self {
        RequirementFields {
            training_module_id: requirement.training_module_id.clone(),
            applies_to: requirement.applies_to.clone(),
            due_within_days: requirement.due_within_days,
            before_access: requirement.before_access,
        }
    }
}

/// A requirement was declared; the members it applies to are gone through.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingRequirementCreated {
    #[serde(flatten)]
    pub requirement: RequirementFields,
}

/// A requirement changed; `backfill` says whether the members are gone through again
/// (who it applies to changed).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingRequirementUpdated {
    pub before: RequirementFields,
    pub after: RequirementFields,
    pub backfill: bool,
}

/// A requirement was retired; the assignments it made stay.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingRequirementDeleted {
    #[serde(flatten)]
    pub requirement: RequirementFields,
}
