//! Roles through the REST door: the bodies, parsed into the commands' inputs (errors name
//! the JSON fields), and the one view of system and custom roles.

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::model::principal::Principal;
use crate::model::roles::{
    CustomRole, NewRole, Role, RoleEdit, SystemRole, permission_list, role_description, role_name_text,
};
use crate::operations::roles;
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::Timestamp;

/// A role as the API shows it: system roles and custom roles in one shape.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
    pub system: bool,
    pub member_count: Option<u64>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

impl RoleView {
    pub fn system(role: SystemRole) -> Self {
        RoleView {
            id: role.name().to_string(),
            name: role.name().to_string(),
            description: Some(role.description().to_string()),
            permissions: role.permissions().into_iter().collect(),
            system: true,
            member_count: None,
            created_at: None,
            updated_at: None,
        }
    }

    pub fn of(role: &Role) -> Self {
        match role {
            Role::System(role) => RoleView::system(*role),
            Role::Custom { role, holders } => RoleView::custom(role, *holders),
        }
    }

    /// A custom role with `member_count`, its holders (members not deleted).
    pub fn custom(role: &CustomRole, member_count: u64) -> Self {
        RoleView {
            id: role.id.to_string(),
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.clone(),
            system: false,
            member_count: Some(member_count),
            created_at: Some(role.created_at),
            updated_at: Some(role.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRole {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRole {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub permissions: Option<Vec<Permission>>,
}

impl CreateRole {
    pub fn parse(self) -> ApiResult<NewRole> {
        Ok(NewRole {
            name: role_name_text(&self.name)?,
            description: role_description(self.description.as_deref())?,
            permissions: permission_list(self.permissions),
        })
    }
}

impl UpdateRole {
    pub fn parse(self) -> ApiResult<RoleEdit> {
        Ok(RoleEdit {
            name: self.name.as_deref().map(role_name_text).transpose()?,
            description: self
                .description
                .map(|text| role_description(text.as_deref()))
                .transpose()?,
            permissions: self.permissions.map(permission_list),
        })
    }
}

/// `POST /roles`. The permission is checked before the body's fields, as the command
/// would, so a caller without it learns nothing from validation errors.
pub async fn create(store: &Store, principal: &Principal, body: CreateRole) -> ApiResult<RoleView> {
    principal.require(Permission::RolesWrite)?;
    let role = roles::create_role(store, principal, body.parse()?).await?;
    Ok(RoleView::of(&role))
}

/// `PATCH /roles/{id}`.
pub async fn update(store: &Store, principal: &Principal, id: &str, body: UpdateRole) -> ApiResult<RoleView> {
    principal.require(Permission::RolesWrite)?;
    let role = roles::update_role(store, principal, id, body.parse()?).await?;
    Ok(RoleView::of(&role))
}

pub async fn list(store: &Store, principal: &Principal, page: &PageRequest) -> ApiResult<ListPage<RoleView>> {
    let page = roles::list_roles(store, principal, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(RoleView::of).collect(),
        next_cursor: page.next_cursor,
    })
}
