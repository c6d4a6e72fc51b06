//! Users: members of an organization. One account (`usr_…`) may belong to several
//! organizations; each membership carries that organization's view of the person (profile,
//! roles, status), so an organization sees and manages only its own members.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, GroupId, OrgId, UserId};
use crate::model::roles::{RoleRef, RolesDocument, SystemRole};
use crate::time::Timestamp;
use crate::validation::{DisplayName, Email};

/// Titles, external ids and organization names: as long as a display name may be.
pub const MAX_NAME_LENGTH: usize = crate::validation::MAX_DISPLAY_NAME_LENGTH;
pub const MAX_ROLES_PER_MEMBER: usize = 20;
/// Facilities one member may be authorised for: replacing every one by others is a link
/// and a check per facility added and a delete per facility removed (90 items), which with
/// the member and its events fits one transaction of 100.
pub const MAX_FACILITIES_PER_MEMBER: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Suspended,
    /// Soft-deleted: access revoked, record and history kept.
    Deleted,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Suspended => "suspended",
            MemberStatus::Deleted => "deleted",
        }
    }

    pub fn parse(field: &str, text: &str) -> ApiResult<MemberStatus> {
        match text {
            "active" => Ok(MemberStatus::Active),
            "suspended" => Ok(MemberStatus::Suspended),
            "deleted" => Ok(MemberStatus::Deleted),
            _ => Err(ApiError::validation(
                field,
                format!("`{field}` must be active, suspended or deleted"),
            )),
        }
    }
}

/// A membership as stored. `version` counts its changes (an ETag can use it); the REST
/// view is `rest::users::UserView`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    #[serde(rename = "id")]
    pub user_id: UserId,
    pub organization_id: OrgId,
    pub organization_name: String,
    pub email: Email,
    pub display_name: DisplayName,
    pub title: Option<String>,
    /// The person's id in the customer's identity directory (Okta, Entra ID, HR system).
    pub external_id: Option<String>,
    pub roles: Vec<RoleRef>,
    pub status: MemberStatus,
    /// The facilities the person is authorised for (CIP-004 R4: where they have
    /// authorised access), each kept in use by a link (`store::facilities`); absent on
    /// members stored before they existed.
    #[serde(default)]
    pub facility_ids: Vec<FacilityId>,
    /// The groups the person belongs to (`model::groups`), each granting its roles; absent
    /// on members stored before groups existed.
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
    /// What the identity directory says of the person beyond the above (SCIM's `name` and
    /// enterprise extension), kept as sent; absent on members stored before it existed.
    #[serde(default)]
    pub profile: DirectoryProfile,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Member {
    /// An active member holding the `admin` system role themselves: every permission there
    /// is, so somebody can always grant roles, read the audit trail and manage keys. Admin
    /// through a group does not count: deleting a group must never leave an organization
    /// without one.
    pub fn is_active_admin(&self) -> bool {
        self.status == MemberStatus::Active && self.roles.contains(&RoleRef::System(SystemRole::Admin))
    }

    /// The roles the member holds: their own, then those of their groups, each once.
    pub fn effective_roles(&self, roles: &RolesDocument) -> Vec<RoleRef> {
        self.role_grants(roles).into_iter().map(|grant| grant.role).collect()
    }

    /// Each role the member holds with where it comes from: held directly, and/or through
    /// which groups.
    pub fn role_grants(&self, roles: &RolesDocument) -> Vec<RoleGrant> {
        let mut grants: Vec<RoleGrant> = self
            .roles
            .iter()
            .map(|role| RoleGrant {
                role: role.clone(),
                direct: true,
                group_ids: Vec::new(),
            })
            .collect();
        for group in &self.group_ids {
            for role in roles.granted_by(group) {
                match grants.iter_mut().find(|grant| grant.role == *role) {
                    Some(grant) => grant.group_ids.push(group.clone()),
                    None => grants.push(RoleGrant {
                        role: role.clone(),
                        direct: false,
                        group_ids: vec![group.clone()],
                    }),
                }
            }
        }
        grants
    }
}

/// A role a member holds and its sources.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleGrant {
    pub role: RoleRef,
    /// The member holds it themselves (`roles`).
    pub direct: bool,
    /// The member's groups that grant it.
    pub group_ids: Vec<GroupId>,
}

/// The person as their identity directory describes them, beyond email, display name,
/// title and external id: each value one line of at most `MAX_NAME_LENGTH` characters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryProfile {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    /// Another member of the same organization (checked by the command).
    pub manager_id: Option<UserId>,
}

impl DirectoryProfile {
    pub fn is_empty(&self) -> bool {
        *self == DirectoryProfile::default()
    }
}

/// Changes to a `DirectoryProfile`: `None` leaves a value, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileChanges {
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub employee_number: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub manager_id: Option<Option<UserId>>,
}

impl ProfileChanges {
    /// Every value replaced by `profile`'s (a full replacement, as SCIM's PUT).
    pub fn replacing_with(profile: DirectoryProfile) -> ProfileChanges {
        ProfileChanges {
            given_name: Some(profile.given_name),
            family_name: Some(profile.family_name),
            employee_number: Some(profile.employee_number),
            department: Some(profile.department),
            manager_id: Some(profile.manager_id),
        }
    }

    pub fn apply(&self, held: &DirectoryProfile) -> DirectoryProfile {
        fn pick<T: Clone>(change: &Option<Option<T>>, held: &Option<T>) -> Option<T> {
            change.clone().unwrap_or_else(|| held.clone())
        }
        DirectoryProfile {
            given_name: pick(&self.given_name, &held.given_name),
            family_name: pick(&self.family_name, &held.family_name),
            employee_number: pick(&self.employee_number, &held.employee_number),
            department: pick(&self.department, &held.department),
            manager_id: pick(&self.manager_id, &held.manager_id),
        }
    }
}

/// A directory profile's text value: one line, at most `MAX_NAME_LENGTH` characters.
pub fn profile_text(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    crate::validation::optional_one_line_text(field, value, MAX_NAME_LENGTH)
}

/// A new member as a command takes it: every value already parsed.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: Email,
    pub display_name: DisplayName,
    pub title: Option<String>,
    pub external_id: Option<String>,
    /// Each once, at most `MAX_ROLES_PER_MEMBER` (`normalize_roles`).
    pub roles: Vec<RoleRef>,
    pub profile: DirectoryProfile,
    /// Provisioned suspended (a directory's user sent `active: false`): created already
    /// unable to act, in the same change.
    pub suspended: bool,
}

/// The changes to a member a command takes; `None` leaves a field as it is, and
/// `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct MemberChanges {
    pub email: Option<Email>,
    pub display_name: Option<DisplayName>,
    pub title: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub roles: Option<RolesEdit>,
    /// `active` or `suspended`; deletion is its own command.
    pub status: Option<MemberStatus>,
    pub facilities: Option<FacilitiesEdit>,
    pub profile: ProfileChanges,
    /// The version the caller read (SCIM's `If-Match`): the change is refused (`412`) if
    /// the member is at another.
    pub expected_version: Option<u64>,
}

/// How a command changes the facilities a member is authorised for: the whole set
/// (`PATCH /users/{id}`), some added (`POST /users/{id}/facilities`) or one removed
/// (`DELETE /users/{id}/facilities/{facilityId}`), applied to what the member holds when
/// the command runs, as `RolesEdit`.
#[derive(Debug, Clone, PartialEq)]
pub enum FacilitiesEdit {
    /// Each once, at most `MAX_FACILITIES_PER_MEMBER` (`member_facility_ids`).
    Replace(Vec<FacilityId>),
    Add(Vec<FacilityId>),
    Remove(FacilityId),
}

impl FacilitiesEdit {
    pub fn apply(&self, held: &[FacilityId]) -> ApiResult<Vec<FacilityId>> {
        match self {
            FacilitiesEdit::Replace(ids) => Ok(ids.clone()),
            FacilitiesEdit::Add(ids) => member_facility_ids("facilityIds", held.iter().chain(ids).cloned().collect()),
            FacilitiesEdit::Remove(id) if !held.contains(id) => Err(ApiError::NotFoundId {
                resource: "facility this user is authorised for",
                id: id.to_string(),
            }),
            FacilitiesEdit::Remove(id) => Ok(held.iter().filter(|kept| *kept != id).cloned().collect()),
        }
    }
}

/// Facility ids as a member's authorisations take them: each once, in the order given, at
/// most `MAX_FACILITIES_PER_MEMBER`.
pub fn member_facility_ids(field: &str, ids: Vec<FacilityId>) -> ApiResult<Vec<FacilityId>> {
    let mut unique: Vec<FacilityId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    if unique.len() > MAX_FACILITIES_PER_MEMBER {
        return Err(ApiError::validation(
            field,
            format!("a member may be authorised for at most {MAX_FACILITIES_PER_MEMBER} facilities"),
        ));
    }
    Ok(unique)
}

/// How a command changes a member's roles: the whole list (`PATCH /users/{id}`), or one
/// role given or taken (`POST /users/{id}/roles`, `DELETE /users/{id}/roles/{roleId}`).
/// Applied to the roles the member holds when the command runs, so two single edits made
/// at the same time never undo each other.
#[derive(Debug, Clone, PartialEq)]
pub enum RolesEdit {
    /// Each once, at most `MAX_ROLES_PER_MEMBER` (`normalize_roles`).
    Replace(Vec<RoleRef>),
    Add(RoleRef),
    Remove(RoleRef),
}

impl RolesEdit {
    /// The roles after the edit. Giving a role already held changes nothing; taking one
    /// that is not held is a 404, as removing anything else that is not there.
    pub fn apply(&self, held: &[RoleRef]) -> ApiResult<Vec<RoleRef>> {
        match self {
            RolesEdit::Replace(roles) => Ok(roles.clone()),
            RolesEdit::Add(role) if held.contains(role) => Ok(held.to_vec()),
            RolesEdit::Add(role) => normalize_roles(held.iter().chain([role]).cloned().collect()),
            RolesEdit::Remove(role) if !held.contains(role) => Err(ApiError::NotFound { resource: "role" }),
            RolesEdit::Remove(role) => Ok(held.iter().filter(|kept| *kept != role).cloned().collect()),
        }
    }
}

/// Which members a list shows; by default those not deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct UserFilter {
    pub statuses: Vec<MemberStatus>,
    pub role: Option<RoleRef>,
    /// The groups that grant `role` (`with_groups_of`): a member of one holds it too.
    pub role_groups: Vec<GroupId>,
}

impl UserFilter {
    pub fn parse(status: Option<&str>, role: Option<&str>) -> ApiResult<UserFilter> {
        let statuses = match status {
            None => vec![MemberStatus::Active, MemberStatus::Suspended],
            Some(text) => vec![MemberStatus::parse("status", text)?],
        };
        let role = role.map(|text| RoleRef::parse("role", text)).transpose()?;
        Ok(UserFilter {
            statuses,
            role,
            role_groups: Vec::new(),
        })
    }

    /// The filter with the groups that grant its role, so it selects by effective roles.
    pub fn with_groups_of(mut self, roles: &RolesDocument) -> UserFilter {
        self.role_groups = match &self.role {
            Some(role) => roles.groups_granting(role),
            None => Vec::new(),
        };
        self
    }

    /// Names the query for cursor binding.
    pub fn fingerprint(&self) -> String {
        let statuses: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
        let role = self.role.as_ref().map(ToString::to_string).unwrap_or_default();
        format!("users?status={}&role={role}", statuses.join(","))
    }
}

/// At most `MAX_ROLES_PER_MEMBER` roles, each once, in the order given.
pub fn normalize_roles(roles: Vec<RoleRef>) -> ApiResult<Vec<RoleRef>> {
    if roles.len() > MAX_ROLES_PER_MEMBER {
        return Err(ApiError::validation(
            "roles",
            format!("a member can hold at most {MAX_ROLES_PER_MEMBER} roles"),
        ));
    }
    let mut unique: Vec<RoleRef> = Vec::with_capacity(roles.len());
    for role in roles {
        if !unique.contains(&role) {
            unique.push(role);
        }
    }
    Ok(unique)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::roles::SystemRole;

    #[test]
    fn a_single_edit_keeps_the_other_roles_in_order() {
        let (admin, auditor, viewer) = (
            RoleRef::System(SystemRole::Admin),
            RoleRef::System(SystemRole::Auditor),
            RoleRef::System(SystemRole::Viewer),
        );
        let held = vec![viewer.clone(), auditor.clone()];
        assert_eq!(
            RolesEdit::Add(admin.clone()).apply(&held).unwrap(),
            vec![viewer.clone(), auditor.clone(), admin.clone()]
        );
        assert_eq!(RolesEdit::Add(auditor.clone()).apply(&held).unwrap(), held);
        assert_eq!(
            RolesEdit::Remove(viewer.clone()).apply(&held).unwrap(),
            vec![auditor.clone()]
        );
        assert!(matches!(
            RolesEdit::Remove(admin.clone()).apply(&held),
            Err(ApiError::NotFound { resource: "role" })
        ));
        assert_eq!(
            RolesEdit::Replace(vec![admin.clone()]).apply(&held).unwrap(),
            vec![admin]
        );
    }

    #[test]
    fn adding_past_the_limit_is_refused() {
        let full: Vec<RoleRef> = (0..MAX_ROLES_PER_MEMBER)
            .map(|_| RoleRef::Custom(crate::ids::RoleId::new()))
            .collect();
        let refused = RolesEdit::Add(RoleRef::Custom(crate::ids::RoleId::new())).apply(&full);
        assert!(refused.is_err());
        // One already held is no addition.
        assert_eq!(RolesEdit::Add(full[0].clone()).apply(&full).unwrap(), full);
    }
}
