//! The events of members (`user.*`).

use serde::Serialize;

use super::{MemberStatusChange, OptionalTextChange, RolesChange, TextChange};
use crate::ids::{FacilityId, GroupId, InvitationId};
use crate::model::roles::RoleRef;
use crate::model::users::DirectoryProfile;

/// A member was added: by an admin, by accepting an invitation (`invitationId`), or as
/// the first admin of a new organization (no `displayName`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserCreated {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub roles: Vec<RoleRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub invitation_id: Option<InvitationId>,
    /// What the identity directory said of the person (name parts, employee number,
    /// department, manager), when it said anything.
    #[serde(skip_serializing_if = "DirectoryProfile::is_empty")]
    pub profile: DirectoryProfile,
    /// `true` when the member was created suspended (a directory's inactive user);
    /// absent when created active.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<bool>)]
    pub suspended: Option<bool>,
}

/// The facilities a member is authorised for changed: which were added and removed, and
/// the whole set after.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserFacilitiesChanged {
    pub added: Vec<FacilityId>,
    pub removed: Vec<FacilityId>,
    pub facility_ids: Vec<FacilityId>,
}

/// A member joined or left groups, changing their effective roles: the groups added,
/// those removed, and every group they belong to after.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserGroupsChanged {
    pub added: Vec<GroupId>,
    pub removed: Vec<GroupId>,
    pub group_ids: Vec<GroupId>,
}

/// A member's fields changed; only the changed ones are present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserUpdated {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<TextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<TextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<MemberStatusChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<OptionalTextChange>,
}

impl UserUpdated {
    pub fn is_empty(&self) -> bool {
        *self == UserUpdated::default()
    }
}

/// A member was (soft) deleted.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDeleted {
    pub email: String,
    pub status: MemberStatusChange,
}
