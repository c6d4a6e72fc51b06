//! The users of the REST door: request bodies as clients send them, parsed once into the
//! commands' typed inputs (errors name the JSON fields), and the views clients read.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, GroupId, OrgId, UserId};
use crate::model::facilities::Facility;
use crate::model::principal::Principal;
use crate::model::roles::{RoleRef, RolesDocument, SystemRole};
use crate::model::users::{
    DirectoryProfile, FacilitiesEdit, MAX_NAME_LENGTH, Member, MemberChanges, MemberStatus, NewMember, ProfileChanges,
    RolesEdit, UserFilter, member_facility_ids, normalize_roles, profile_text,
};
use crate::operations::users;
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::Timestamp;
use crate::validation::{self, DisplayName, Email};

/// The user object of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    pub external_id: Option<String>,
    pub roles: Vec<RoleRef>,
    pub status: MemberStatus,
    /// The facilities the person is authorised for (CIP-004 R4); `GET /users/{id}/facilities`
    /// names them.
    pub facility_ids: Vec<FacilityId>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    /// The person's manager, another member.
    pub manager_id: Option<UserId>,
    /// The groups the person belongs to; each grants its roles.
    pub group_ids: Vec<GroupId>,
    /// Every role the person holds, from `roles` and from their groups, with where each
    /// comes from: what permission checks use.
    pub effective_roles: Vec<RoleGrantView>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

/// A role a person holds and where it comes from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleGrantView {
    pub role: RoleRef,
    /// Held in the person's own `roles`.
    pub direct: bool,
    /// The person's groups that grant it.
    pub group_ids: Vec<GroupId>,
}

impl UserView {
    /// The member as the API shows it, their effective roles read from `roles`, the
    /// organization's roles document.
    pub fn of(member: &Member, roles: &RolesDocument) -> Self {
        UserView {
            id: member.user_id.clone(),
            email: member.email.to_string(),
            display_name: member.display_name.to_string(),
            title: member.title.clone(),
            external_id: member.external_id.clone(),
            roles: member.roles.clone(),
            status: member.status,
            facility_ids: member.facility_ids.clone(),
            given_name: member.profile.given_name.clone(),
            family_name: member.profile.family_name.clone(),
            employee_number: member.profile.employee_number.clone(),
            department: member.profile.department.clone(),
            manager_id: member.profile.manager_id.clone(),
            group_ids: member.group_ids.clone(),
            effective_roles: member
                .role_grants(roles)
                .into_iter()
                .map(|grant| RoleGrantView {
                    role: grant.role,
                    direct: grant.direct,
                    group_ids: grant.group_ids,
                })
                .collect(),
            created_at: member.created_at,
            updated_at: member.updated_at,
            deleted_at: member.deleted_at,
        }
    }
}

/// An organization the caller's account belongs to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipView {
    pub id: OrgId,
    pub name: String,
    pub roles: Vec<RoleRef>,
    pub status: MemberStatus,
    pub current: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessCheck {
    pub permission: Permission,
    pub allowed: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    pub external_id: Option<String>,
    /// Defaults to `["viewer"]`.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub roles: Option<Vec<RoleRef>>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    /// Another member of the organization.
    pub manager_id: Option<UserId>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub external_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub roles: Option<Vec<RoleRef>>,
    /// `active` or `suspended`; deletion is `DELETE /users/{id}`.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub status: Option<MemberStatus>,
    /// The whole set of facilities the person is authorised for (at most 30; `[]` for none).
    #[serde(default, deserialize_with = "patch::not_null")]
    pub facility_ids: Option<Vec<FacilityId>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub employee_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub department: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub manager_id: Option<Option<UserId>>,
}

/// `POST /users/{id}/facilities`: facilities to authorise the person for, beside those held.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizeFacilities {
    pub facility_ids: Vec<FacilityId>,
}

/// A facility a person is authorised for, with its name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizedFacility {
    pub id: FacilityId,
    pub name: String,
}

/// The facilities a person is authorised for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserFacilities {
    pub user_id: UserId,
    pub facilities: Vec<AuthorizedFacility>,
}

impl UserFacilities {
    fn of(member: &Member, facilities: &[Facility]) -> Self {
        UserFacilities {
            user_id: member.user_id.clone(),
            facilities: facilities
                .iter()
                .map(|facility| AuthorizedFacility {
                    id: facility.id.clone(),
                    name: facility.name.clone(),
                })
                .collect(),
        }
    }
}

impl MembershipView {
    pub fn of(member: Member, current_org: &OrgId) -> Self {
        MembershipView {
            current: &member.organization_id == current_org,
            id: member.organization_id,
            name: member.organization_name,
            roles: member.roles,
            status: member.status,
        }
    }
}

impl CreateUser {
    /// The command's input; the first invalid field is the error, in body order.
    pub fn parse(self) -> ApiResult<NewMember> {
        Ok(NewMember {
            email: Email::parse("email", &self.email)?,
            display_name: DisplayName::parse("displayName", &self.display_name)?,
            title: validation::optional_one_line_text("title", self.title.as_deref(), MAX_NAME_LENGTH)?,
            external_id: validation::optional_one_line_text(
                "externalId",
                self.external_id.as_deref(),
                MAX_NAME_LENGTH,
            )?,
            roles: normalize_roles(self.roles.unwrap_or_else(|| vec![RoleRef::System(SystemRole::Viewer)]))?,
            profile: DirectoryProfile {
                given_name: profile_text("givenName", self.given_name.as_deref())?,
                family_name: profile_text("familyName", self.family_name.as_deref())?,
                employee_number: profile_text("employeeNumber", self.employee_number.as_deref())?,
                department: profile_text("department", self.department.as_deref())?,
                manager_id: self.manager_id,
            },
            suspended: false,
        })
    }
}

impl UpdateUser {
    pub fn parse(self) -> ApiResult<MemberChanges> {
        Ok(MemberChanges {
            email: self.email.map(|email| Email::parse("email", &email)).transpose()?,
            display_name: self
                .display_name
                .map(|name| DisplayName::parse("displayName", &name))
                .transpose()?,
            title: self
                .title
                .map(|title| validation::optional_one_line_text("title", title.as_deref(), MAX_NAME_LENGTH))
                .transpose()?,
            external_id: self
                .external_id
                .map(|id| validation::optional_one_line_text("externalId", id.as_deref(), MAX_NAME_LENGTH))
                .transpose()?,
            roles: self.roles.map(normalize_roles).transpose()?.map(RolesEdit::Replace),
            status: self.status,
            facilities: self
                .facility_ids
                .map(|ids| member_facility_ids("facilityIds", ids))
                .transpose()?
                .map(FacilitiesEdit::Replace),
            profile: ProfileChanges {
                given_name: clear_or_set("givenName", self.given_name)?,
                family_name: clear_or_set("familyName", self.family_name)?,
                employee_number: clear_or_set("employeeNumber", self.employee_number)?,
                department: clear_or_set("department", self.department)?,
                manager_id: self.manager_id,
            },
            expected_version: None,
        })
    }
}

/// A profile value a PATCH sets (`Some(Some)`), clears (`Some(None)`) or leaves.
fn clear_or_set(field: &str, value: Option<Option<String>>) -> ApiResult<Option<Option<String>>> {
    value.map(|value| profile_text(field, value.as_deref())).transpose()
}

/// `GET /users/me/access?permission=…`: whether the principal holds a permission.
pub fn check_access(principal: &Principal, permission: Option<&str>) -> ApiResult<AccessCheck> {
    let name = permission
        .ok_or_else(|| ApiError::validation("permission", "`permission` is required, e.g. ?permission=users:read"))?;
    let permission = Permission::parse(name)
        .ok_or_else(|| ApiError::validation("permission", format!("`{name}` is not a permission")))?;
    Ok(AccessCheck {
        permission,
        allowed: principal.has(permission),
    })
}

/// `POST /users`. The permission is checked before the body's fields, as the command
/// would, so a caller without `users:write` learns nothing from validation errors.
pub async fn create(store: &Store, principal: &Principal, body: CreateUser) -> ApiResult<UserView> {
    principal.require(Permission::UsersWrite)?;
    let member = users::create_member(store, principal, body.parse()?).await?;
    Ok(UserView::of(&member, &principal.roles))
}

/// `PATCH /users/{id}`.
pub async fn update(store: &Store, principal: &Principal, user: &UserId, body: UpdateUser) -> ApiResult<UserView> {
    principal.require(Permission::UsersWrite)?;
    let member = users::update_member(store, principal, user, body.parse()?).await?;
    Ok(UserView::of(&member, &principal.roles))
}

/// `POST /users/{id}/roles` (seed 004): `{ "roleId": "role_…" }`, or a system role's name.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignRole {
    /// A custom role's id (`role_…`) or a system role's name (`admin`, `auditor`, …).
    pub role_id: String,
}

/// Seed 004's answer to a role given.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssigned {
    pub message: String,
    pub user_id: UserId,
    #[schema(value_type = String)]
    pub role_id: RoleRef,
    pub role_name: String,
}

/// Seed 004's answer to a role taken away.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleRemoved {
    pub message: String,
    pub user_id: UserId,
    #[schema(value_type = String)]
    pub role_id: RoleRef,
}

/// Gives one role, keeping the others (the same command as `PATCH`, with its escalation
/// rules); giving a role already held changes nothing and answers the same.
pub async fn assign_role(
    store: &Store,
    principal: &Principal,
    user: &UserId,
    body: AssignRole,
) -> ApiResult<RoleAssigned> {
    // Before the body's fields, as every command: a caller without it learns nothing.
    principal.require(Permission::UsersWrite)?;
    let role = RoleRef::parse("roleId", &body.role_id)?;
    let changes = MemberChanges {
        roles: Some(RolesEdit::Add(role.clone())),
        ..MemberChanges::default()
    };
    let member = users::update_member(store, principal, user, changes).await?;
    let role_name = match &role {
        RoleRef::System(system) => system.name().to_string(),
        RoleRef::Custom(id) => principal
            .roles
            .get(id)
            .map(|custom| custom.name.clone())
            .unwrap_or_default(),
    };
    Ok(RoleAssigned {
        message: "Role assigned successfully.".to_string(),
        user_id: member.user_id,
        role_id: role,
        role_name,
    })
}

/// Takes one role away, keeping the others; a role the member does not hold is a 404.
pub async fn remove_role(store: &Store, principal: &Principal, user: &UserId, role: RoleRef) -> ApiResult<RoleRemoved> {
    let changes = MemberChanges {
        roles: Some(RolesEdit::Remove(role.clone())),
        ..MemberChanges::default()
    };
    let member = users::update_member(store, principal, user, changes).await?;
    Ok(RoleRemoved {
        message: "Role removed successfully.".to_string(),
        user_id: member.user_id,
        role_id: role,
    })
}

/// `GET /users/{id}/facilities`.
pub async fn facilities(store: &Store, principal: &Principal, user: &UserId) -> ApiResult<UserFacilities> {
    let (member, facilities) = users::member_facilities(store, principal, user).await?;
    Ok(UserFacilities::of(&member, &facilities))
}

/// `POST /users/{id}/facilities`: authorises the person for more facilities, keeping those
/// held (the same command as `PATCH`).
pub async fn add_facilities(
    store: &Store,
    principal: &Principal,
    user: &UserId,
    body: AuthorizeFacilities,
) -> ApiResult<UserFacilities> {
    principal.require(Permission::UsersWrite)?;
    let ids = member_facility_ids("facilityIds", body.facility_ids)?;
    if ids.is_empty() {
        return Err(ApiError::validation(
            "facilityIds",
            "`facilityIds` must name at least one facility",
        ));
    }
    let changes = MemberChanges {
        facilities: Some(FacilitiesEdit::Add(ids)),
        ..MemberChanges::default()
    };
    facilities_after(users::update_member_and_facilities(store, principal, user, changes).await?)
}

fn facilities_after((member, held): (Member, Option<Vec<Facility>>)) -> ApiResult<UserFacilities> {
    let held = held.ok_or_else(|| ApiError::internal("a change of facilities answered none"))?;
    Ok(UserFacilities::of(&member, &held))
}

/// `DELETE /users/{id}/facilities/{facilityId}`; a facility the person is not authorised
/// for is a 404.
pub async fn remove_facility(
    store: &Store,
    principal: &Principal,
    user: &UserId,
    facility: FacilityId,
) -> ApiResult<UserFacilities> {
    let changes = MemberChanges {
        facilities: Some(FacilitiesEdit::Remove(facility)),
        ..MemberChanges::default()
    };
    facilities_after(users::update_member_and_facilities(store, principal, user, changes).await?)
}

pub async fn list(
    store: &Store,
    principal: &Principal,
    filter: &UserFilter,
    page: &PageRequest,
) -> ApiResult<ListPage<UserView>> {
    let page = users::list_members(store, principal, filter, page).await?;
    Ok(ListPage {
        data: page
            .data
            .iter()
            .map(|member| UserView::of(member, &principal.roles))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn my_organizations(store: &Store, principal: &Principal) -> ApiResult<Vec<MembershipView>> {
    let memberships = users::memberships(store, principal).await?;
    Ok(memberships
        .into_iter()
        .map(|member| MembershipView::of(member, principal.org()))
        .collect())
}
