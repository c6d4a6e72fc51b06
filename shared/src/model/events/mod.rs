//! Domain events: one enum of every change the product records, each with a payload type
//! and a version.
//!
//! A command decides its change and the event that records it; `store::audit::record`
//! writes the event into the same transaction as the change, as the audit event
//! (`action` = the event type, `summary` = the payload). The payload bytes are a public
//! contract (`GET /audit-events` today, webhooks and signed digests next), so each type
//! declares its version, `docs/events.json` holds every payload's schema, and
//! `shared/tests/events.rs` fails when a payload's schema changes without its version.
//!
//! Adding an event: a payload struct in the resource's module here (`Serialize`,
//! `ToSchema`, `camelCase`), one line in `domain_events!` below, then
//! `cargo run -p raptor-shared --bin events > docs/events.json` and a row in `docs/events.md`.
//! Changing a payload: bump its version in the line, then regenerate.

pub mod api_keys;
pub mod cip_senior_manager;
pub mod evidence_packages;
pub mod facilities;
pub mod groups;
pub mod invitations;
pub mod organizations;
pub mod roles;
pub mod training_assignments;
pub mod training_modules;
pub mod training_requirements;
pub mod users;
pub mod webhooks;

use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// Values an event reports as changed, `{from, to}`: one concrete type per value type,
/// so each payload's schema names what it holds. `of` answers `Some` only when the value
/// changed, for a payload field left out when nothing changed.
macro_rules! changes {
    ($($(#[$doc:meta])* $name:ident($value:ty);)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub from: $value,
            pub to: $value,
        }

        impl $name {
            pub fn of(before: &$value, after: &$value) -> Option<$name> {
                (before != after).then(|| $name { from: before.clone(), to: after.clone() })
            }
        }
    )*};
}

changes! {
    TextChange(String);
    OptionalTextChange(Option<String>);
    RolesChange(Vec<crate::model::roles::RoleRef>);
    MemberStatusChange(crate::model::users::MemberStatus);
    PermissionsChange(Vec<crate::permissions::Permission>);
    DateChange(crate::time::Date);
    OptionalDateChange(Option<crate::time::Date>);
    OptionalDaysChange(Option<u32>);
    FlagChange(bool);
    OptionalImpactRatingChange(Option<crate::model::facilities::ImpactRating>);
    ModuleIdChange(crate::ids::TrainingModuleId);
}

/// One event type as `docs/events.json` lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventType {
    pub action: &'static str,
    pub version: u32,
    pub target_type: &'static str,
    /// The payload's JSON schema, with the schemas it refers to under `components`.
    pub payload: Value,
    pub components: Value,
}

fn schema_of<T: utoipa::ToSchema>() -> (Value, Value) {
    let mut referenced = Vec::new();
    T::schemas(&mut referenced);
    let components: serde_json::Map<String, Value> = referenced
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or(Value::Null)))
        .collect();
    let payload = serde_json::to_value(T::schema()).unwrap_or(Value::Null);
    (payload, Value::Object(components))
}

/// `docs/events.json`: every event type with its version and payload schema, keyed by
/// action, in declaration order.
pub fn catalogue_json() -> String {
    let types: serde_json::Map<String, Value> = catalogue()
        .into_iter()
        .map(|event| {
            (
                event.action.to_string(),
                serde_json::to_value(&event).unwrap_or(Value::Null),
            )
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&types).unwrap_or_default();
    text.push('\n');
    text
}

macro_rules! domain_events {
    ($($(#[$doc:meta])* $variant:ident($payload:ty) = $action:literal, version $version:literal, target $target:literal;)*) => {
        /// Every change the product records.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $($(#[$doc])* $variant($payload),)*
        }

        impl Event {
            /// The event type, `<resource>.<verb>`: the audit event's `action`.
            pub fn action(&self) -> &'static str {
                match self {
                    $(Event::$variant(_) => $action,)*
                }
            }

            pub fn version(&self) -> u32 {
                match self {
                    $(Event::$variant(_) => $version,)*
                }
            }

            /// What kind of record the event is about: the audit event's `targetType`.
            pub fn target_type(&self) -> &'static str {
                match self {
                    $(Event::$variant(_) => $target,)*
                }
            }

            /// The payload as stored and published: the audit event's `summary`.
            pub fn payload(&self) -> ApiResult<Value> {
                let value = match self {
                    $(Event::$variant(payload) => serde_json::to_value(payload),)*
                };
                value.map_err(|error| ApiError::internal(format!("an event payload did not serialise: {error}")))
            }
        }

        /// Every event type's name (`action`), in declaration order.
        pub const ACTIONS: &[&str] = &[$($action,)*];

        /// Every event type, in declaration order.
        pub fn catalogue() -> Vec<EventType> {
            vec![$({
                let (payload, components) = schema_of::<$payload>();
                EventType { action: $action, version: $version, target_type: $target, payload, components }
            },)*]
        }
    };
}

domain_events! {
    UserCreated(users::UserCreated) = "user.created", version 3, target "user";
    UserUpdated(users::UserUpdated) = "user.updated", version 2, target "user";
    UserDeleted(users::UserDeleted) = "user.deleted", version 1, target "user";
    UserFacilitiesChanged(users::UserFacilitiesChanged) = "user.facilities_changed", version 1, target "user";
    UserGroupsChanged(users::UserGroupsChanged) = "user.groups_changed", version 1, target "user";
    OrganizationCreated(organizations::OrganizationCreated) = "organization.created", version 1, target "organization";
    ApiKeyCreated(api_keys::ApiKeyCreated) = "api_key.created", version 1, target "api_key";
    ApiKeyRevoked(api_keys::ApiKeyRevoked) = "api_key.revoked", version 1, target "api_key";
    RoleCreated(roles::RoleDefinition) = "role.created", version 1, target "role";
    RoleUpdated(roles::RoleUpdated) = "role.updated", version 1, target "role";
    RoleDeleted(roles::RoleDefinition) = "role.deleted", version 1, target "role";
    InvitationCreated(invitations::InvitationCreated) = "invitation.created", version 1, target "invitation";
    InvitationAccepted(invitations::InvitationAccepted) = "invitation.accepted", version 1, target "invitation";
    InvitationCancelled(invitations::InvitationCancelled) = "invitation.cancelled", version 1, target "invitation";
    InvitationResent(invitations::InvitationResent) = "invitation.resent", version 1, target "invitation";
    CsmDesignated(cip_senior_manager::CsmDesignated) = "cip_senior_manager.designated", version 1, target "cip_senior_manager_assignment";
    CsmEnded(cip_senior_manager::CsmEnded) = "cip_senior_manager.ended", version 1, target "cip_senior_manager_assignment";
    CsmCorrected(cip_senior_manager::CsmCorrected) = "cip_senior_manager.corrected", version 1, target "cip_senior_manager_assignment";
    FacilityCreated(facilities::FacilityCreated) = "facility.created", version 1, target "facility";
    FacilityUpdated(facilities::FacilityUpdated) = "facility.updated", version 1, target "facility";
    FacilityDeleted(facilities::FacilityDeleted) = "facility.deleted", version 1, target "facility";
    GroupCreated(groups::GroupCreated) = "group.created", version 1, target "group";
    GroupUpdated(groups::GroupUpdated) = "group.updated", version 1, target "group";
    GroupDeleted(groups::GroupDeleted) = "group.deleted", version 1, target "group";
    TrainingModuleCreated(training_modules::TrainingModuleCreated) = "training_module.created", version 1, target "training_module";
    TrainingModuleUpdated(training_modules::TrainingModuleUpdated) = "training_module.updated", version 1, target "training_module";
    TrainingModuleRetired(training_modules::TrainingModuleRetired) = "training_module.retired", version 1, target "training_module";
    AssignmentCreated(training_assignments::AssignmentCreated) = "training_assignment.created", version 1, target "training_assignment";
    AssignmentRenewed(training_assignments::AssignmentRenewed) = "training_assignment.renewed", version 1, target "training_assignment";
    AssignmentUpdated(training_assignments::AssignmentUpdated) = "training_assignment.updated", version 1, target "training_assignment";
    AssignmentStarted(training_assignments::AssignmentStarted) = "training_assignment.started", version 1, target "training_assignment";
    AssignmentCompleted(training_assignments::AssignmentCompleted) = "training_assignment.completed", version 1, target "training_assignment";
    AssignmentWaived(training_assignments::AssignmentWaived) = "training_assignment.waived", version 1, target "training_assignment";
    AssignmentDeleted(training_assignments::AssignmentDeleted) = "training_assignment.deleted", version 1, target "training_assignment";
    AssignmentFacilitiesAdded(training_assignments::FacilitiesAdded) = "training_assignment.facilities_added", version 1, target "training_assignment";
    AssignmentFacilityRemoved(training_assignments::FacilityRemoved) = "training_assignment.facility_removed", version 1, target "training_assignment";
    AssignmentMarkedOverdue(training_assignments::MarkedOverdue) = "training_assignment.marked_overdue", version 1, target "training_assignment";
    AssignmentRenewalSkipped(training_assignments::RenewalSkipped) = "training_assignment.renewal_skipped", version 1, target "training_assignment";
    TrainingRequirementCreated(training_requirements::TrainingRequirementCreated) = "training_requirement.created", version 1, target "training_requirement";
    TrainingRequirementUpdated(training_requirements::TrainingRequirementUpdated) = "training_requirement.updated", version 1, target "training_requirement";
    TrainingRequirementDeleted(training_requirements::TrainingRequirementDeleted) = "training_requirement.deleted", version 1, target "training_requirement";
    EvidencePackageRequested(evidence_packages::EvidencePackageRequested) = "evidence_package.requested", version 1, target "evidence_package";
    EvidencePackageReady(evidence_packages::EvidencePackageReady) = "evidence_package.ready", version 1, target "evidence_package";
    EvidencePackageFailed(evidence_packages::EvidencePackageFailed) = "evidence_package.failed", version 1, target "evidence_package";
    WebhookEndpointCreated(webhooks::WebhookEndpointCreated) = "webhook_endpoint.created", version 1, target "webhook_endpoint";
    WebhookEndpointUpdated(webhooks::WebhookEndpointUpdated) = "webhook_endpoint.updated", version 1, target "webhook_endpoint";
    WebhookEndpointDeleted(webhooks::WebhookEndpointDeleted) = "webhook_endpoint.deleted", version 1, target "webhook_endpoint";
    WebhookSecretRotated(webhooks::WebhookSecretRotated) = "webhook_endpoint.secret_rotated", version 1, target "webhook_endpoint";
    WebhookDeliveryResent(webhooks::WebhookDeliveryResent) = "webhook_endpoint.delivery_resent", version 1, target "webhook_endpoint";
}
