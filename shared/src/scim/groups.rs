//! SCIM's Group (RFC 7643 §4.2) over a group of the token's organization: `displayName`,
//! `externalId` and `members` (each a member's `usr_…`). The roles a group grants are set
//! through the REST API (`docs/groups.md`), never by the directory.

use serde_json::{Map, Value, json};

use super::discovery::GROUP_SCHEMA;
use super::grammar::{matches, parse_patch_request};
use super::{ListQuery, Lookup, ScimError, lookup, project};
use crate::error::{ApiError, ApiResult};
use crate::ids::{GroupId, UserId};
use crate::model::groups::{
    Group, GroupEdit, MAX_MEMBERS_PER_CHANGE, MEMBERS_PER_TRANSACTION, MembersEdit, NewGroup, external_id, group_name,
};
use crate::model::principal::Principal;
use crate::operations::groups::{self, GroupLookup};
use crate::pagination::PageRequest;
use crate::permissions::Permission;
use crate::store::Store;

/// A group as a `POST`, `PUT` or patched resource gives it, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Each once, in the order given.
    pub members: Vec<UserId>,
}

const KNOWN: &[&str] = &["schemas", "id", "meta", "displayName", "externalId", "members"];

pub fn parse_group(body: &Value) -> ApiResult<GroupInput> {
    let Value::Object(object) = body else {
        return Err(ApiError::validation("body", "a Group must be a JSON object"));
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !KNOWN.iter().any(|known| known.eq_ignore_ascii_case(key)))
    {
        return Err(ApiError::validation(
            unknown,
            format!("this service does not keep `{unknown}` on a group"),
        ));
    }
    let field = |name: &str| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
            .filter(|value| !value.is_null())
    };
    let display_name = match field("displayName") {
        Some(Value::String(name)) => group_name(name)?,
        Some(_) => return Err(ApiError::validation("displayName", "`displayName` must be a string")),
        None => return Err(ApiError::validation("displayName", "`displayName` is required")),
    };
    let external = match field("externalId") {
        None => None,
        Some(Value::String(id)) => external_id(Some(id))?,
        Some(_) => return Err(ApiError::validation("externalId", "`externalId` must be a string")),
    };
    let mut members: Vec<UserId> = Vec::new();
    match field("members") {
        None => {}
        Some(Value::Array(entries)) => {
            for entry in entries {
                let id = entry
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::validation("members", "each member needs a `value`, a user's id"))?;
                let id = UserId::parse("members", id)?;
                if !members.contains(&id) {
                    members.push(id);
                }
            }
        }
        Some(_) => return Err(ApiError::validation("members", "`members` must be an array")),
    }
    Ok(GroupInput {
        display_name,
        external_id: external,
        members,
    })
}

/// The group's writable attributes, every one present: what a PATCH is applied to.
pub fn writable(group: &Group, members: &[UserId]) -> Value {
    json!({
        "displayName": group.display_name,
        "externalId": group.external_id,
        "members": members.iter().map(|id| json!({ "value": id })).collect::<Vec<_>>(),
    })
}

pub fn location(base: &str, group: &Group) -> String {
    format!("{base}/Groups/{}", group.id)
}

/// The group as a SCIM Group; `members` is left out when the caller excluded it (Entra
/// ID reads groups with `excludedAttributes=members`, and a large group's members are
/// then not read at all).
pub fn resource(group: &Group, members: Option<&[UserId]>, base: &str) -> Value {
    let mut resource = Map::new();
    resource.insert("schemas".into(), json!([GROUP_SCHEMA]));
    resource.insert("id".into(), json!(group.id));
    if let Some(external_id) = &group.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("displayName".into(), json!(group.display_name));
    if let Some(members) = members {
        let members: Vec<Value> = members
            .iter()
            .map(|id| json!({ "value": id, "$ref": super::users::location(base, id), "type": "User" }))
            .collect();
        resource.insert("members".into(), Value::Array(members));
    }
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": group.created_at,
            "lastModified": group.updated_at,
            "location": location(base, group),
            "version": super::etag(group.version),
        }),
    );
    Value::Object(resource)
}

/// Whether string comparisons on a Group attribute are case-sensitive.
pub fn case_exact(path: &super::grammar::AttrPath) -> bool {
    path.is("id") || path.is("externalId") || path.is_sub("members", "value")
}

// ---------------------------------------------------------------------------
// The door's requests over the groups commands.
// ---------------------------------------------------------------------------

/// The attribute whose `eq` a lookup by name serves.
pub const NAME_ATTRIBUTES: &[(&str, Option<&str>)] = &[("displayName", None)];

fn not_found(id: &str) -> ScimError {
    ScimError::new(404, None, format!("group `{id}` not found"))
}

fn group_id(id: &str) -> Result<GroupId, ScimError> {
    GroupId::parse("id", id).map_err(|_| not_found(id))
}

pub async fn get(store: &Store, principal: &Principal, id: &str) -> Result<Group, ScimError> {
    match groups::get_group(store, principal, &group_id(id)?).await {
        Err(ApiError::NotFoundId { .. }) => Err(not_found(id)),
        other => Ok(other?),
    }
}

/// The group as SCIM shows it, its members read unless the caller left them out.
pub async fn shown(
    store: &Store,
    principal: &Principal,
    group: &Group,
    base: &str,
    query: &ListQuery,
) -> Result<Value, ScimError> {
    let members = if query.excludes("members") {
        None
    } else {
        Some(groups::group_member_ids(store, principal, group).await?)
    };
    let mut resource = resource(group, members.as_deref(), base);
    project(&mut resource, &query.attributes, &query.excluded_attributes);
    Ok(resource)
}

/// `GET /Groups`: by name, `externalId` or id when filtered, else by creation.
pub async fn list(store: &Store, principal: &Principal, query: &ListQuery, base: &str) -> Result<Value, ScimError> {
    let candidates: Vec<Group> = match lookup(query.filter.as_ref(), NAME_ATTRIBUTES)? {
        Lookup::All => all_groups(store, principal).await?,
        Lookup::Id(id) => match get(store, principal, &id).await {
            Ok(group) => vec![group],
            Err(error) if error.status == 404 => Vec::new(),
            Err(error) => return Err(error),
        },
        Lookup::Name(name) => groups::find_groups(store, principal, &GroupLookup::DisplayName(name)).await?,
        Lookup::ExternalId(id) => groups::find_groups(store, principal, &GroupLookup::ExternalId(id)).await?,
    };
    let filter = query.filter.as_ref();
    // Filters name no member, so they are checked on the groups without them.
    let matching: Vec<&Group> = candidates
        .iter()
        .filter(|group| filter.is_none_or(|filter| matches(filter, &resource(group, None, base), &case_exact)))
        .collect();
    let mut resources = Vec::new();
    for group in matching.iter().skip(query.start_index - 1).take(query.count) {
        resources.push(shown(store, principal, group, base, query).await?);
    }
    Ok(super::discovery::list_response(
        matching.len(),
        query.start_index,
        resources,
    ))
}

/// Every group of the organization, page after page (an organization's groups are few:
/// a directory pushes the ones it assigns).
async fn all_groups(store: &Store, principal: &Principal) -> Result<Vec<Group>, ScimError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = PageRequest::parse(Some("100"), cursor.as_deref(), principal.org(), "scim/Groups".into())?;
        let listed = groups::list_groups(store, principal, &page).await?;
        all.extend(listed.data);
        match listed.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// Adds and removes members in requests the command takes (`MAX_MEMBERS_PER_CHANGE`).
async fn change_members(
    store: &Store,
    principal: &Principal,
    group: &GroupId,
    add: Vec<UserId>,
    remove: Vec<UserId>,
    mut expected_version: Option<u64>,
) -> Result<Option<Group>, ScimError> {
    let mut changed = None;
    let mut add = add.into_iter().peekable();
    let mut remove = remove.into_iter().peekable();
    while add.peek().is_some() || remove.peek().is_some() {
        let adding: Vec<UserId> = add.by_ref().take(MAX_MEMBERS_PER_CHANGE).collect();
        let removing: Vec<UserId> = remove.by_ref().take(MAX_MEMBERS_PER_CHANGE - adding.len()).collect();
        let edit = MembersEdit::new(adding, removing)?;
        let change = groups::change_members(store, principal, group, edit, expected_version.take()).await?;
        changed = Some(change.group);
    }
    Ok(changed)
}

/// `POST /Groups`: a group with its first members; more than one transaction holds are
/// added after it. Answers the group and its members (known, so nothing is read after the
/// change is written).
pub async fn create(store: &Store, principal: &Principal, body: &Value) -> Result<(Group, Vec<UserId>), ScimError> {
    principal.require(Permission::UsersWrite)?;
    let input = parse_group(body)?;
    let all = sorted(input.members.clone());
    let mut members = input.members;
    let later = members.split_off(members.len().min(MEMBERS_PER_TRANSACTION));
    let group = groups::create_group(
        store,
        principal,
        NewGroup {
            display_name: input.display_name,
            external_id: input.external_id,
            roles: Vec::new(),
            members,
        },
    )
    .await?;
    let added = change_members(store, principal, &group.id, later, Vec::new(), None).await?;
    Ok((added.unwrap_or(group), all))
}

/// Members in the order a group's links read them (by id).
fn sorted(mut members: Vec<UserId>) -> Vec<UserId> {
    members.sort();
    members
}

/// Makes `before` (with `members`) what `input` describes: its name and `externalId`,
/// then who belongs.
async fn become_(
    store: &Store,
    principal: &Principal,
    before: Group,
    members: &[UserId],
    input: GroupInput,
    expected_version: Option<u64>,
) -> Result<(Group, Vec<UserId>), ScimError> {
    let edit = GroupEdit {
        display_name: Some(input.display_name),
        external_id: Some(input.external_id),
        roles: None,
    };
    let mut group = groups::update_group(store, principal, &before.id, edit, expected_version).await?;
    // A change of name counts a version: the members follow the group as it is now.
    let version = if group.version == before.version {
        expected_version
    } else {
        None
    };
    let add: Vec<UserId> = input
        .members
        .iter()
        .filter(|id| !members.contains(id))
        .cloned()
        .collect();
    let remove: Vec<UserId> = members
        .iter()
        .filter(|id| !input.members.contains(id))
        .cloned()
        .collect();
    if let Some(changed) = change_members(store, principal, &group.id, add, remove, version).await? {
        group = changed;
    }
    Ok((group, sorted(input.members)))
}

/// `PUT /Groups/{id}`: name, `externalId` and members replaced by the body's.
pub async fn replace(
    store: &Store,
    principal: &Principal,
    id: &str,
    body: &Value,
    expected_version: Option<u64>,
) -> Result<(Group, Vec<UserId>), ScimError> {
    principal.require(Permission::UsersWrite)?;
    let input = parse_group(body)?;
    let before = get(store, principal, id).await?;
    let members = groups::group_member_ids(store, principal, &before).await?;
    become_(store, principal, before, &members, input, expected_version).await
}

/// `PATCH /Groups/{id}`: the operations applied to the group's writable attributes and
/// members, then the differences made.
pub async fn patch(
    store: &Store,
    principal: &Principal,
    id: &str,
    body: &Value,
    expected_version: Option<u64>,
) -> Result<(Group, Vec<UserId>), ScimError> {
    principal.require(Permission::UsersWrite)?;
    let operations = parse_patch_request(body)?;
    let before = get(store, principal, id).await?;
    let members = groups::group_member_ids(store, principal, &before).await?;
    let mut resource = writable(&before, &members);
    super::patch::apply(&mut resource, &operations)?;
    let input = parse_group(&resource)?;
    become_(store, principal, before, &members, input, expected_version).await
}

/// `DELETE /Groups/{id}`.
pub async fn delete(
    store: &Store,
    principal: &Principal,
    id: &str,
    expected_version: Option<u64>,
) -> Result<(), ScimError> {
    match groups::delete_group(store, principal, &group_id(id)?, expected_version).await {
        Err(ApiError::NotFoundId { .. }) => Err(not_found(id)),
        other => other.map(|_| ()).map_err(ScimError::from),
    }
}
