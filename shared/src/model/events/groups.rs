//! The events of groups (`group.*`); a member joining or leaving one is the member's
//! event (`user.groups_changed`), as their effective roles change.

use serde::Serialize;

use super::{OptionalTextChange, RolesChange, TextChange};
use crate::model::groups::Group;
use crate::model::roles::RoleRef;

/// A group was created.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupCreated {
    pub display_name: String,
    pub external_id: Option<String>,
    pub roles: Vec<RoleRef>,
}

impl GroupCreated {
    pub fn of(group: &Group) -> Self {
        GroupCreated {
            display_name: group.display_name.clone(),
            external_id: group.external_id.clone(),
            roles: group.roles.clone(),
        }
    }
}

/// A group's fields changed: only the changed ones are present. A change of `roles`
/// changes the effective roles of every member of the group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupUpdated {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<TextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesChange>,
}

impl GroupUpdated {
    pub fn between(before: &Group, after: &Group) -> Self {
        GroupUpdated {
            display_name: TextChange::of(&before.display_name, &after.display_name),
            external_id: OptionalTextChange::of(&before.external_id, &after.external_id),
            roles: RolesChange::of(&before.roles, &after.roles),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == GroupUpdated::default()
    }
}

/// A group was deleted: it grants nothing from now on, and its members leave it (each a
/// `user.groups_changed`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupDeleted {
    pub display_name: String,
    pub roles: Vec<RoleRef>,
}
