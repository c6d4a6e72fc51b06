//! The events of training assignments (`training_assignment.*`), by people through the API
//! and by the daily training job.

use serde::Serialize;

use super::{DateChange, ModuleIdChange, OptionalTextChange};
use crate::ids::{FacilityId, TrainingAssignmentId, TrainingModuleId, UserId};
use crate::model::training_assignments::{StoredAssignment, TrainingAssignment, TrainingStatus};
use crate::time::{Date, Timestamp};

/// An assignment was made, by a person or, renewing `renewalOf`, by the daily job.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentCreated {
    #[schema(value_type = String)]
    pub user_id: UserId,
    #[schema(value_type = String)]
    pub training_module_id: TrainingModuleId,
    pub due_date: Date,
    pub notes: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub facility_ids: Vec<FacilityId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub renewal_of: Option<TrainingAssignmentId>,
}

impl AssignmentCreated {
    pub fn of(assignment: &TrainingAssignment) -> Self {
        AssignmentCreated {
            user_id: assignment.user_id.clone(),
            training_module_id: assignment.training_module_id.clone(),
            due_date: assignment.due_date,
            notes: assignment.notes.clone(),
            facility_ids: assignment.facility_ids.clone(),
            renewal_of: assignment.renewal_of.clone(),
        }
    }
}

/// A completed assignment was renewed by the daily job: `renewedBy` is the new one.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentRenewed {
    #[schema(value_type = String)]
    pub renewed_by: TrainingAssignmentId,
    pub expires_at: Option<Timestamp>,
}

/// An open assignment's fields changed: `changes` holds only the changed ones.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentUpdated {
    pub changes: AssignmentChanges,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<DateChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_module_id: Option<ModuleIdChange>,
}

impl AssignmentChanges {
    pub fn between(before: &TrainingAssignment, after: &TrainingAssignment) -> Self {
        AssignmentChanges {
            due_date: DateChange::of(&before.due_date, &after.due_date),
            notes: OptionalTextChange::of(&before.notes, &after.notes),
            training_module_id: ModuleIdChange::of(&before.training_module_id, &after.training_module_id),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == AssignmentChanges::default()
    }
}

/// The trainee started the course.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentStarted {
    pub started_at: Option<Timestamp>,
}

/// The completion record (CIP-004 evidence), with the interval its expiry came from.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentCompleted {
    pub completed_at: Option<Timestamp>,
    pub self_reported: Option<bool>,
    pub score: Option<u8>,
    pub certificate_reference: Option<String>,
    /// The xAPI statement an LMS reported the completion with (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_statement_id: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub completion_interval_days: Option<u32>,
}

/// A formal waiver, from the status the assignment had.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentWaived {
    pub reason: Option<String>,
    pub status_before: TrainingStatus,
}

/// An open assignment was deleted; the event keeps the whole record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentDeleted {
    #[schema(value_type = StoredAssignment)]
    pub record: TrainingAssignment,
}

/// Facilities joined the assignment's scope; `facilityIds` is the scope after.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacilitiesAdded {
    #[schema(value_type = Vec<String>)]
    pub added: Vec<FacilityId>,
    #[schema(value_type = Vec<String>)]
    pub facility_ids: Vec<FacilityId>,
}

/// A facility left the assignment's scope; `facilityIds` is the scope after.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacilityRemoved {
    #[schema(value_type = String)]
    pub removed: FacilityId,
    #[schema(value_type = Vec<String>)]
    pub facility_ids: Vec<FacilityId>,
}

/// The daily job stored the status `overdue` on an assignment past its due date.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkedOverdue {
    pub due_date: Date,
    pub status_before: TrainingStatus,
}

/// The daily job made no renewal for a completion nearing its expiry, and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewalSkipped {
    pub reason: String,
    pub expires_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_payloads_are_what_the_untyped_events_stored() {
        let user = UserId::new();
        let module = TrainingModuleId::new();
        let facility = FacilityId::new();
        let renewed = TrainingAssignmentId::new();
        let day = Date::parse("d", "2026-12-31").unwrap();
        let at = Timestamp::parse("t", "2026-12-05T10:00:00Z").unwrap();

        let mut created = AssignmentCreated {
            user_id: user.clone(),
            training_module_id: module.clone(),
            due_date: day,
            notes: None,
            facility_ids: vec![facility.clone()],
            renewal_of: None,
        };
        let mut old = json!({
            "userId": user,
            "trainingModuleId": module,
            "dueDate": day,
            "notes": null,
            "facilityIds": [facility],
        });
        assert_eq!(serde_json::to_value(&created).unwrap(), old);
        created.renewal_of = Some(renewed.clone());
        old["renewalOf"] = json!(renewed);
        assert_eq!(serde_json::to_value(&created).unwrap(), old);

        let renewal = AssignmentRenewed {
            renewed_by: renewed.clone(),
            expires_at: Some(at),
        };
        assert_eq!(
            serde_json::to_value(&renewal).unwrap(),
            json!({ "renewedBy": renewed, "expiresAt": at })
        );
        let updated = AssignmentUpdated {
            changes: AssignmentChanges {
                due_date: Some(DateChange { from: day, to: day }),
                ..Default::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&updated).unwrap(),
            json!({ "changes": { "dueDate": { "from": day, "to": day } } })
        );
        assert_eq!(
            serde_json::to_value(AssignmentStarted { started_at: Some(at) }).unwrap(),
            json!({ "startedAt": at })
        );
        let completed = AssignmentCompleted {
            completed_at: Some(at),
            self_reported: Some(false),
            score: Some(92),
            certificate_reference: None,
            source_statement_id: None,
            expires_at: None,
            completion_interval_days: None,
        };
        assert_eq!(
            serde_json::to_value(&completed).unwrap(),
            json!({
                "completedAt": at,
                "selfReported": false,
                "score": 92,
                "certificateReference": null,
                "expiresAt": null,
                "completionIntervalDays": null,
            })
        );
        let waived = AssignmentWaived {
            reason: Some("Not in scope".into()),
            status_before: TrainingStatus::Overdue,
        };
        assert_eq!(
            serde_json::to_value(&waived).unwrap(),
            json!({ "reason": "Not in scope", "statusBefore": TrainingStatus::Overdue })
        );
        let added = FacilitiesAdded {
            added: vec![facility.clone()],
            facility_ids: vec![facility.clone()],
        };
        assert_eq!(
            serde_json::to_value(&added).unwrap(),
            json!({ "added": [facility], "facilityIds": [facility] })
        );
        let removed = FacilityRemoved {
            removed: facility.clone(),
            facility_ids: vec![],
        };
        assert_eq!(
            serde_json::to_value(&removed).unwrap(),
            json!({ "removed": facility, "facilityIds": [] })
        );
        let overdue = MarkedOverdue {
            due_date: day,
            status_before: TrainingStatus::Assigned,
        };
        assert_eq!(
            serde_json::to_value(&overdue).unwrap(),
            json!({ "dueDate": day, "statusBefore": TrainingStatus::Assigned })
        );
        let skipped = RenewalSkipped {
            reason: "module_retired".into(),
            expires_at: Some(at),
        };
        assert_eq!(
            serde_json::to_value(&skipped).unwrap(),
            json!({ "reason": "module_retired", "expiresAt": at })
        );
    }
}
