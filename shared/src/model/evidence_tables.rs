//! The rows of an evidence package's tables, each built from the records as read, and
//! each written as CSV and JSON (`evidence_files::EvidenceRow`). `docs/evidence.md`
//! lists the columns; a test below keeps that list and the JSON names the same.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::ids::{TrainingModuleId, UserId};
use crate::model::audit::AuditEvent;
use crate::model::cip_senior_manager::CsmAssignment;
use crate::model::csv_cells::{LIST_SEPARATOR, text};
use crate::model::evidence_files::EvidenceRow;
use crate::model::evidence_packages::{MemberOnDate, assignment_status_on};
use crate::model::training_assignments::TrainingAssignment;
use crate::model::training_modules::TrainingModule;
use crate::model::training_status::{Standing, TrainingVerdict};
use crate::model::users::Member;
use crate::time::{Date, Timestamp};

fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

fn list(values: impl IntoIterator<Item = impl ToString>) -> String {
    values
        .into_iter()
        .map(|value| value.to_string())
        .collect::<Vec<_>>()
        .join(LIST_SEPARATOR)
}

/// A module's title and CIP standard as they are now (a retired module keeps its title).
#[derive(Debug, Clone, Default)]
pub struct ModuleNames {
    pub title: String,
    pub cip_standard: Option<String>,
}

pub type ModuleIndex = HashMap<TrainingModuleId, ModuleNames>;

pub fn module_index(modules: &[TrainingModule]) -> ModuleIndex {
    modules
        .iter()
        .map(|module| {
            (
                module.id.clone(),
                ModuleNames {
                    title: module.title.clone(),
                    cip_standard: module.cip_standard.clone(),
                },
            )
        })
        .collect()
}

/// A member of the population on the package's date.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRow {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    pub external_id: Option<String>,
    /// System role names and custom role ids, as granted.
    pub roles: Vec<String>,
    pub status: String,
    pub member_since: Timestamp,
}

impl MemberRow {
    pub fn of(member: &MemberOnDate) -> Self {
        MemberRow {
            user_id: member.user_id.clone(),
            email: member.email.clone(),
            display_name: member.display_name.clone(),
            title: member.title.clone(),
            external_id: member.external_id.clone(),
            roles: member.roles.iter().map(ToString::to_string).collect(),
            status: member.status.as_str().to_string(),
            member_since: member.created_at,
        }
    }

    /// A member's record as it is now (a sampled person's own file).
    pub fn now(member: &Member) -> Self {
        MemberRow::of(&MemberOnDate::of(member))
    }
}

impl EvidenceRow for MemberRow {
    const COLUMNS: &'static [&'static str] = &[
        "userId",
        "email",
        "displayName",
        "title",
        "externalId",
        "roles",
        "status",
        "memberSince",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.user_id.to_string(),
            self.email.clone(),
            self.display_name.clone(),
            text(self.title.as_ref()),
            text(self.external_id.as_ref()),
            list(&self.roles),
            self.status.clone(),
            self.member_since.to_string(),
        ]
    }
}

/// One designation of the CIP Senior Manager's history.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesignationRow {
    pub assignment_id: String,
    pub user_id: UserId,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub effective_date: Date,
    pub end_date: Option<Date>,
    /// Whether this designation was in force on the package's date.
    pub in_force_on_as_of: bool,
    pub notes: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
    pub updated_by: UserId,
    pub updated_at: Timestamp,
}

impl DesignationRow {
    pub fn of(assignment: &CsmAssignment, designee: Option<&Member>, as_of: Date) -> Self {
        DesignationRow {
            assignment_id: assignment.id.to_string(),
            user_id: assignment.user_id.clone(),
            display_name: designee.map(|member| member.display_name.to_string()),
            email: designee.map(|member| member.email.to_string()),
            effective_date: assignment.effective_date,
            end_date: assignment.end_date,
            in_force_on_as_of: assignment.in_force_on(as_of),
            notes: assignment.notes.clone(),
            recorded_by: assignment.recorded_by.clone(),
            recorded_at: assignment.recorded_at,
            updated_by: assignment.updated_by.clone(),
            updated_at: assignment.updated_at,
        }
    }
}

impl EvidenceRow for DesignationRow {
    const COLUMNS: &'static [&'static str] = &[
        "assignmentId",
        "userId",
        "displayName",
        "email",
        "effectiveDate",
        "endDate",
        "inForceOnAsOf",
        "notes",
        "recordedBy",
        "recordedAt",
        "updatedBy",
        "updatedAt",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.assignment_id.clone(),
            self.user_id.to_string(),
            text(self.display_name.as_ref()),
            text(self.email.as_ref()),
            self.effective_date.to_string(),
            text(self.end_date),
            self.in_force_on_as_of.to_string(),
            text(self.notes.as_ref()),
            self.recorded_by.to_string(),
            self.recorded_at.to_string(),
            self.updated_by.to_string(),
            self.updated_at.to_string(),
        ]
    }
}

/// A training assignment as it stood at the end of a date: its status then, and only the
/// completion or waiver recorded by then.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentRow {
    pub assignment_id: String,
    pub user_id: UserId,
    pub training_module_id: TrainingModuleId,
    pub module_title: String,
    pub cip_standard: Option<String>,
    pub facility_ids: Vec<String>,
    pub created_at: Timestamp,
    pub due_date: Date,
    /// The status on the date (`assigned`, `in_progress`, `complete`, `overdue`, `waived`).
    pub status: String,
    pub completed_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub score: Option<u8>,
    pub certificate_reference: Option<String>,
    pub waived_at: Option<Timestamp>,
    pub waived_by: Option<UserId>,
    pub waiver_reason: Option<String>,
    /// The completed assignment this one renews.
    pub renewal_of: Option<String>,
}

impl AssignmentRow {
    /// `None` for an assignment made after `date`.
    pub fn on(assignment: &TrainingAssignment, date: Date, modules: &ModuleIndex) -> Option<Self> {
        let status = assignment_status_on(assignment, date)?;
        let names = modules.get(&assignment.training_module_id).cloned().unwrap_or_default();
        let completion = assignment
            .state
            .completion()
            .filter(|completion| completion.completed_at.date() <= date);
        let waiver = assignment
            .state
            .waiver()
            .filter(|waiver| waiver.waived_at.date() <= date);
        Some(AssignmentRow {
            assignment_id: assignment.id.to_string(),
            user_id: assignment.user_id.clone(),
            training_module_id: assignment.training_module_id.clone(),
            module_title: names.title,
            cip_standard: names.cip_standard,
            facility_ids: assignment.facility_ids.iter().map(ToString::to_string).collect(),
            created_at: assignment.created_at,
            due_date: assignment.due_date,
            status: status.as_str().to_string(),
            completed_at: completion.map(|completion| completion.completed_at),
            expires_at: completion.and_then(|completion| completion.expiry.as_ref().map(|expiry| expiry.expires_at)),
            score: completion.and_then(|completion| completion.score),
            certificate_reference: completion.and_then(|completion| completion.certificate_reference.clone()),
            waived_at: waiver.map(|waiver| waiver.waived_at),
            waived_by: waiver.map(|waiver| waiver.waived_by.clone()),
            waiver_reason: waiver.map(|waiver| waiver.reason.clone()),
            renewal_of: assignment.renewal_of.as_ref().map(ToString::to_string),
        })
    }
}

impl EvidenceRow for AssignmentRow {
    const COLUMNS: &'static [&'static str] = &[
        "assignmentId",
        "userId",
        "trainingModuleId",
        "moduleTitle",
        "cipStandard",
        "facilityIds",
        "createdAt",
        "dueDate",
        "status",
        "completedAt",
        "expiresAt",
        "score",
        "certificateReference",
        "waivedAt",
        "waivedBy",
        "waiverReason",
        "renewalOf",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.assignment_id.clone(),
            self.user_id.to_string(),
            self.training_module_id.to_string(),
            self.module_title.clone(),
            text(self.cip_standard.as_ref()),
            list(&self.facility_ids),
            self.created_at.to_string(),
            self.due_date.to_string(),
            self.status.clone(),
            text(self.completed_at),
            text(self.expires_at),
            text(self.score),
            text(self.certificate_reference.as_ref()),
            text(self.waived_at),
            text(self.waived_by.as_ref()),
            text(self.waiver_reason.as_ref()),
            text(self.renewal_of.as_ref()),
        ]
    }
}

/// One person's CIP-004 standing in one module on the date (the `training-status` verdict).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StandingRow {
    pub user_id: UserId,
    pub display_name: String,
    pub training_module_id: TrainingModuleId,
    pub module_title: String,
    pub cip_standard: Option<String>,
    pub verdict: TrainingVerdict,
    pub latest_completed_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub waived_at: Option<Timestamp>,
}

impl StandingRow {
    pub fn of(user: &UserId, display_name: &str, standing: &Standing, modules: &ModuleIndex) -> Self {
        let names = modules.get(&standing.training_module_id).cloned().unwrap_or_default();
        StandingRow {
            user_id: user.clone(),
            display_name: display_name.to_string(),
            training_module_id: standing.training_module_id.clone(),
            module_title: names.title,
            cip_standard: names.cip_standard,
            verdict: standing.verdict,
            latest_completed_at: standing.latest_completion.as_ref().map(|c| c.completed_at),
            expires_at: standing.latest_completion.as_ref().and_then(|c| c.expires_at),
            waived_at: standing.waiver.as_ref().map(|w| w.waived_at),
        }
    }

    /// Whether the person may not count on this module on the date (CIP-004 R2.2).
    pub fn is_not_current(&self) -> bool {
        self.verdict.is_gap()
    }
}

impl EvidenceRow for StandingRow {
    const COLUMNS: &'static [&'static str] = &[
        "userId",
        "displayName",
        "trainingModuleId",
        "moduleTitle",
        "cipStandard",
        "verdict",
        "latestCompletedAt",
        "expiresAt",
        "waivedAt",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.user_id.to_string(),
            self.display_name.clone(),
            self.training_module_id.to_string(),
            self.module_title.clone(),
            text(self.cip_standard.as_ref()),
            name_of(&self.verdict),
            text(self.latest_completed_at),
            text(self.expires_at),
            text(self.waived_at),
        ]
    }
}

/// A completion of a sampled person, with its score and certificate reference.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionRow {
    pub assignment_id: String,
    pub training_module_id: TrainingModuleId,
    pub module_title: String,
    pub completed_at: Timestamp,
    /// Who recorded it (the person themself when their LMS reported it).
    pub completed_by: UserId,
    pub score: Option<u8>,
    pub certificate_reference: Option<String>,
    pub expires_at: Option<Timestamp>,
    /// The xAPI statement the LMS reported it with, if one did.
    pub source_statement_id: Option<String>,
}

impl CompletionRow {
    pub fn of(assignment: &TrainingAssignment, modules: &ModuleIndex) -> Option<Self> {
        let completion = assignment.state.completion()?;
        Some(CompletionRow {
            assignment_id: assignment.id.to_string(),
            training_module_id: assignment.training_module_id.clone(),
            module_title: modules
                .get(&assignment.training_module_id)
                .map(|names| names.title.clone())
                .unwrap_or_default(),
            completed_at: completion.completed_at,
            completed_by: completion.completed_by.clone(),
            score: completion.score,
            certificate_reference: completion.certificate_reference.clone(),
            expires_at: completion.expiry.as_ref().map(|expiry| expiry.expires_at),
            source_statement_id: completion.source_statement_id.clone(),
        })
    }
}

impl EvidenceRow for CompletionRow {
    const COLUMNS: &'static [&'static str] = &[
        "assignmentId",
        "trainingModuleId",
        "moduleTitle",
        "completedAt",
        "completedBy",
        "score",
        "certificateReference",
        "expiresAt",
        "sourceStatementId",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.assignment_id.clone(),
            self.training_module_id.to_string(),
            self.module_title.clone(),
            self.completed_at.to_string(),
            self.completed_by.to_string(),
            text(self.score),
            text(self.certificate_reference.as_ref()),
            text(self.expires_at),
            text(self.source_statement_id.as_ref()),
        ]
    }
}

/// A waiver of a sampled person, with who approved it and why.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaiverRow {
    pub assignment_id: String,
    pub training_module_id: TrainingModuleId,
    pub module_title: String,
    pub waived_at: Timestamp,
    pub waived_by: UserId,
    pub reason: String,
}

impl WaiverRow {
    pub fn of(assignment: &TrainingAssignment, modules: &ModuleIndex) -> Option<Self> {
        let waiver = assignment.state.waiver()?;
        Some(WaiverRow {
            assignment_id: assignment.id.to_string(),
            training_module_id: assignment.training_module_id.clone(),
            module_title: modules
                .get(&assignment.training_module_id)
                .map(|names| names.title.clone())
                .unwrap_or_default(),
            waived_at: waiver.waived_at,
            waived_by: waiver.waived_by.clone(),
            reason: waiver.reason.clone(),
        })
    }
}

impl EvidenceRow for WaiverRow {
    const COLUMNS: &'static [&'static str] = &[
        "assignmentId",
        "trainingModuleId",
        "moduleTitle",
        "waivedAt",
        "waivedBy",
        "reason",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.assignment_id.clone(),
            self.training_module_id.to_string(),
            self.module_title.clone(),
            self.waived_at.to_string(),
            self.waived_by.to_string(),
            self.reason.clone(),
        ]
    }
}

/// A change of a sampled person's roles or status, from their audit events.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleChangeRow {
    pub event_id: String,
    pub occurred_at: Timestamp,
    pub action: String,
    pub roles_before: Option<Vec<String>>,
    pub roles_after: Option<Vec<String>>,
    pub status_before: Option<String>,
    pub status_after: Option<String>,
    pub actor_id: UserId,
}

impl RoleChangeRow {
    /// The row of a `user.created`, `user.updated` or `user.deleted` event that set the
    /// person's roles or status; `None` for any other event.
    pub fn of(event: &AuditEvent) -> Option<Self> {
        let strings = |value: &Value| -> Option<Vec<String>> {
            value
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        };
        let summary = &event.summary;
        let (roles_before, roles_after, status_before, status_after) = match event.action.as_str() {
            "user.created" => (
                None,
                summary.get("roles").and_then(strings),
                None,
                summary.get("status").and_then(Value::as_str).map(str::to_string),
            ),
            "user.updated" | "user.deleted" => {
                let change = |field: &str, end: &str| summary.get(field).and_then(|change| change.get(end));
                (
                    change("roles", "from").and_then(strings),
                    change("roles", "to").and_then(strings),
                    change("status", "from").and_then(Value::as_str).map(str::to_string),
                    change("status", "to").and_then(Value::as_str).map(str::to_string),
                )
            }
            _ => return None,
        };
        if roles_after.is_none() && status_after.is_none() {
            return None;
        }
        Some(RoleChangeRow {
            event_id: event.id.to_string(),
            occurred_at: event.occurred_at,
            action: event.action.clone(),
            roles_before,
            roles_after,
            status_before,
            status_after,
            actor_id: event.actor_id.clone(),
        })
    }
}

impl EvidenceRow for RoleChangeRow {
    const COLUMNS: &'static [&'static str] = &[
        "eventId",
        "occurredAt",
        "action",
        "rolesBefore",
        "rolesAfter",
        "statusBefore",
        "statusAfter",
        "actorId",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.event_id.clone(),
            self.occurred_at.to_string(),
            self.action.clone(),
            text(self.roles_before.as_ref().map(list)),
            text(self.roles_after.as_ref().map(list)),
            text(self.status_before.as_ref()),
            text(self.status_after.as_ref()),
            self.actor_id.to_string(),
        ]
    }
}

/// An audit event, its summary as JSON text in the CSV.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRow {
    pub id: String,
    pub occurred_at: Timestamp,
    pub actor_id: UserId,
    pub actor_api_key_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub summary: Value,
}

impl EventRow {
    pub fn of(event: &AuditEvent) -> Self {
        EventRow {
            id: event.id.to_string(),
            occurred_at: event.occurred_at,
            actor_id: event.actor_id.clone(),
            actor_api_key_id: event.actor_api_key_id.as_ref().map(ToString::to_string),
            action: event.action.clone(),
            target_type: event.target_type.clone(),
            target_id: event.target_id.clone(),
            summary: event.summary.clone(),
        }
    }
}

impl EvidenceRow for EventRow {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "occurredAt",
        "actorId",
        "actorApiKeyId",
        "action",
        "targetType",
        "targetId",
        "summary",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.occurred_at.to_string(),
            self.actor_id.to_string(),
            text(self.actor_api_key_id.as_ref()),
            self.action.clone(),
            self.target_type.clone(),
            self.target_id.clone(),
            self.summary.to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrgId, TrainingAssignmentId};
    use crate::model::assignment_state::{AssignmentState, Waiver};
    use crate::model::training_assignments::TrainingStatus;

    /// The JSON of a row names exactly its CSV columns, and its cells are as many.
    fn columns_match<Row: EvidenceRow>(row: &Row) {
        let json = serde_json::to_value(row).unwrap();
        let mut names: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut columns = Row::COLUMNS.to_vec();
        names.sort_unstable();
        columns.sort_unstable();
        assert_eq!(names, columns);
        assert_eq!(row.cells().len(), Row::COLUMNS.len());
    }

    fn assignment() -> TrainingAssignment {
        let at = Timestamp::parse("t", "2026-01-10T09:00:00Z").unwrap();
        TrainingAssignment {
            id: TrainingAssignmentId::new(),
            organization_id: OrgId::new(),
            user_id: UserId::new(),
            training_module_id: TrainingModuleId::new(),
            state: AssignmentState::Waived {
                started_at: None,
                waiver: Waiver {
                    waived_at: Timestamp::parse("t", "2026-02-01T09:00:00Z").unwrap(),
                    waived_by: UserId::new(),
                    reason: "left the CIP program".into(),
                },
            },
            status: TrainingStatus::Waived,
            due_date: Date::parse("d", "2026-03-01").unwrap(),
            notes: None,
            facility_ids: Vec::new(),
            created_by: UserId::new(),
            created_at: at,
            updated_at: at,
            version: 2,
            renewal_of: None,
            requirement_id: None,
            marked_overdue_at: None,
        }
    }

    #[test]
    fn every_table_names_its_columns_in_json_and_csv_alike() {
        let assignment = assignment();
        let modules = ModuleIndex::new();
        columns_match(&AssignmentRow::on(&assignment, Date::parse("d", "2026-02-10").unwrap(), &modules).unwrap());
        columns_match(&WaiverRow::of(&assignment, &modules).unwrap());
        columns_match(&CompletionRow {
            assignment_id: "tra_x".into(),
            training_module_id: assignment.training_module_id.clone(),
            module_title: "t".into(),
            completed_at: assignment.created_at,
            completed_by: assignment.user_id.clone(),
            score: Some(90),
            certificate_reference: None,
            expires_at: None,
            source_statement_id: Some("fd41c918-b88b-4b20-a0a5-a4c32391aaa0".into()),
        });
        columns_match(&StandingRow {
            user_id: assignment.user_id.clone(),
            display_name: "A".into(),
            training_module_id: assignment.training_module_id.clone(),
            module_title: "t".into(),
            cip_standard: None,
            verdict: TrainingVerdict::Waived,
            latest_completed_at: None,
            expires_at: None,
            waived_at: None,
        });
        columns_match(&RoleChangeRow {
            event_id: "evt_x".into(),
            occurred_at: assignment.created_at,
            action: "user.updated".into(),
            roles_before: None,
            roles_after: Some(vec!["admin".into()]),
            status_before: None,
            status_after: None,
            actor_id: assignment.user_id.clone(),
        });
        columns_match(&MemberRow {
            user_id: assignment.user_id.clone(),
            email: "a@example.com".into(),
            display_name: "A".into(),
            title: None,
            external_id: None,
            roles: vec![],
            status: "active".into(),
            member_since: assignment.created_at,
        });
        columns_match(&DesignationRow {
            assignment_id: "csm_x".into(),
            user_id: assignment.user_id.clone(),
            display_name: None,
            email: None,
            effective_date: assignment.due_date,
            end_date: None,
            in_force_on_as_of: true,
            notes: None,
            recorded_by: assignment.user_id.clone(),
            recorded_at: assignment.created_at,
            updated_by: assignment.user_id.clone(),
            updated_at: assignment.created_at,
        });
        columns_match(&EventRow {
            id: "evt_x".into(),
            occurred_at: assignment.created_at,
            actor_id: assignment.user_id.clone(),
            actor_api_key_id: None,
            action: "user.created".into(),
            target_type: "user".into(),
            target_id: "usr_x".into(),
            summary: Value::Null,
        });
    }

    #[test]
    fn an_assignment_shows_only_what_was_recorded_by_the_date() {
        let assignment = assignment();
        let modules = ModuleIndex::new();
        let before = AssignmentRow::on(&assignment, Date::parse("d", "2026-01-20").unwrap(), &modules).unwrap();
        assert_eq!(before.status, "assigned");
        assert_eq!(before.waived_at, None);
        assert_eq!(before.waiver_reason, None);
        let after = AssignmentRow::on(&assignment, Date::parse("d", "2026-02-01").unwrap(), &modules).unwrap();
        assert_eq!(after.status, "waived");
        assert_eq!(after.waiver_reason.as_deref(), Some("left the CIP program"));
        assert!(AssignmentRow::on(&assignment, Date::parse("d", "2026-01-09").unwrap(), &modules).is_none());
    }
}
