//! Groups through the REST door: the bodies, parsed into the commands' inputs (errors name
//! the JSON fields), and the view.

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ids::{GroupId, UserId};
use crate::model::groups::{Group, GroupEdit, MembersEdit, NewGroup, external_id, group_name, group_roles};
use crate::model::principal::Principal;
use crate::model::roles::RoleRef;
use crate::operations::groups;
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::Timestamp;

/// The group object of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub id: GroupId,
    pub display_name: String,
    /// The group's id in the customer's identity directory.
    pub external_id: Option<String>,
    /// The roles every member of the group holds through it.
    pub roles: Vec<RoleRef>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl GroupView {
    pub fn of(group: &Group) -> Self {
        GroupView {
            id: group.id.clone(),
            display_name: group.display_name.clone(),
            external_id: group.external_id.clone(),
            roles: group.roles.clone(),
            created_at: group.created_at,
            updated_at: group.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateGroup {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Roles the group grants; only roles whose permissions the caller holds.
    #[serde(default)]
    pub roles: Vec<RoleRef>,
    /// Its first members (at most 30); more through `POST /groups/{id}/members`.
    #[serde(default)]
    pub user_ids: Vec<UserId>,
}

impl CreateGroup {
    pub fn parse(self) -> ApiResult<NewGroup> {
        let members = MembersEdit::new(self.user_ids, Vec::new())?;
        Ok(NewGroup {
            display_name: group_name(&self.display_name)?,
            external_id: external_id(self.external_id.as_deref())?,
            roles: group_roles(self.roles)?,
            members: members.add,
        })
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateGroup {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub external_id: Option<Option<String>>,
    /// The whole list of roles the group grants.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub roles: Option<Vec<RoleRef>>,
}

impl UpdateGroup {
    pub fn parse(self) -> ApiResult<GroupEdit> {
        Ok(GroupEdit {
            display_name: self.display_name.as_deref().map(group_name).transpose()?,
            external_id: self.external_id.map(|id| external_id(id.as_deref())).transpose()?,
            roles: self.roles.map(group_roles).transpose()?,
        })
    }
}

/// `POST /groups/{id}/members`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddGroupMembers {
    /// At most 100 members; one already in the group is left as it is.
    pub user_ids: Vec<UserId>,
}

/// What `POST /groups/{id}/members` did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupMembersAdded {
    pub group: GroupView,
    /// Those who joined; those already members are not named.
    pub added: Vec<UserId>,
}

/// `POST /groups`. The permission is checked before the body's fields, as the command
/// would, so a caller without it learns nothing from validation errors.
pub async fn create(store: &Store, principal: &Principal, body: CreateGroup) -> ApiResult<GroupView> {
    principal.require(Permission::UsersWrite)?;
    let group = groups::create_group(store, principal, body.parse()?).await?;
    Ok(GroupView::of(&group))
}

/// `PATCH /groups/{id}`.
pub async fn update(store: &Store, principal: &Principal, id: &GroupId, body: UpdateGroup) -> ApiResult<GroupView> {
    principal.require(Permission::UsersWrite)?;
    let group = groups::update_group(store, principal, id, body.parse()?, None).await?;
    Ok(GroupView::of(&group))
}

pub async fn add_members(
    store: &Store,
    principal: &Principal,
    id: &GroupId,
    body: AddGroupMembers,
) -> ApiResult<GroupMembersAdded> {
    principal.require(Permission::UsersWrite)?;
    let edit = MembersEdit::new(body.user_ids, Vec::new())?;
    let change = groups::change_members(store, principal, id, edit, None).await?;
    Ok(GroupMembersAdded {
        group: GroupView::of(&change.group),
        added: change.added,
    })
}

/// `DELETE /groups/{id}/members/{userId}`: a 404 when the user is not in the group.
pub async fn remove_member(store: &Store, principal: &Principal, id: &GroupId, user: &UserId) -> ApiResult<GroupView> {
    let edit = MembersEdit::new(Vec::new(), vec![user.clone()])?;
    let change = groups::change_members(store, principal, id, edit, None).await?;
    if change.removed.is_empty() {
        return Err(crate::error::ApiError::NotFoundId {
            resource: "member of this group",
            id: user.to_string(),
        });
    }
    Ok(GroupView::of(&change.group))
}

pub async fn list(store: &Store, principal: &Principal, page: &PageRequest) -> ApiResult<ListPage<GroupView>> {
    let page = groups::list_groups(store, principal, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(GroupView::of).collect(),
        next_cursor: page.next_cursor,
    })
}
