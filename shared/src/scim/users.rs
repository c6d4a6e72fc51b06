//! SCIM's User (RFC 7643 §4.1, and the enterprise extension §4.3) over a member of the
//! token's organization: how a member is shown, and how a `POST`/`PUT` body (or a PATCH
//! applied to the writable attributes) becomes the members commands' input.
//!
//! `id` is the member's `usr_…`; `userName` is their email (this service identifies
//! people by it, and keeps one: `emails` may only repeat it); `name.givenName`,
//! `name.familyName`, `employeeNumber`, `department` and `manager` are the member's
//! directory profile; `active` is `active` or `suspended` (a DELETE deletes).

use serde_json::{Map, Value, json};

use super::discovery::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use super::grammar::{coerce_bool, matches, parse_patch_request};
use super::{ListQuery, Lookup, ScimError, lookup, project};
use crate::error::{ApiError, ApiResult};
use crate::ids::{GroupId, UserId};
use crate::model::principal::Principal;
use crate::model::users::{
    DirectoryProfile, MAX_NAME_LENGTH, Member, MemberChanges, MemberStatus, NewMember, ProfileChanges, profile_text,
};
use crate::operations::users::{self, MemberLookup};
use crate::permissions::Permission;
use crate::store::Store;
use crate::validation::{self, DisplayName, Email};

/// A user as a `POST`, `PUT` or patched resource gives it, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub email: Email,
    pub display_name: DisplayName,
    pub title: Option<String>,
    pub external_id: Option<String>,
    /// `None` when the body leaves `active` out (a `PUT` then keeps the status).
    pub active: Option<bool>,
    pub profile: DirectoryProfile,
}

/// The attributes a body may carry; anything else is refused by name rather than dropped.
const KNOWN: &[&str] = &[
    "schemas",
    "id",
    "meta",
    "userName",
    "name",
    "displayName",
    "title",
    "emails",
    "active",
    "externalId",
    "groups",
    ENTERPRISE_USER_SCHEMA,
];

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(field, message)
}

fn text<'a>(object: &'a Map<String, Value>, field: &str) -> ApiResult<Option<&'a str>> {
    match object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(field))
        .map(|(_, value)| value)
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(invalid(field, format!("`{field}` must be a string"))),
    }
}

fn member_of<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(field))
        .map(|(_, value)| value)
        .filter(|value| !value.is_null())
}

/// Reads a User body (RFC 7643 §4.1): `userName` must be an email address, `emails` may
/// only repeat it, and an attribute this service does not keep is refused by name.
pub fn parse_user(body: &Value) -> ApiResult<UserInput> {
    let Value::Object(object) = body else {
        return Err(invalid("body", "a User must be a JSON object"));
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !KNOWN.iter().any(|known| known.eq_ignore_ascii_case(key)))
    {
        return Err(invalid(
            unknown,
            format!("this service does not keep `{unknown}`; leave it out of the attribute mappings"),
        ));
    }
    let user_name = text(object, "userName")?.ok_or_else(|| invalid("userName", "`userName` is required"))?;
    let email = Email::parse("userName", user_name)
        .map_err(|_| invalid("userName", "`userName` must be the person's email address"))?;
    if let Some(emails) = member_of(object, "emails") {
        let Value::Array(emails) = emails else {
            return Err(invalid("emails", "`emails` must be an array"));
        };
        for entry in emails {
            let value = entry.get("value").and_then(Value::as_str).unwrap_or_default();
            if !value.eq_ignore_ascii_case(email.as_str()) {
                return Err(invalid(
                    "emails",
                    format!("this service keeps one email per person, the `userName`; `{value}` is another"),
                ));
            }
        }
    }
    let name = match member_of(object, "name") {
        None => None,
        Some(Value::Object(name)) => Some(name),
        Some(_) => return Err(invalid("name", "`name` must be an object")),
    };
    let given_name = name.map(|name| text(name, "givenName")).transpose()?.flatten();
    let family_name = name.map(|name| text(name, "familyName")).transpose()?.flatten();
    let display_name = match text(object, "displayName")? {
        Some(name) => name.to_string(),
        None => match (given_name, family_name) {
            (None, None) => email.as_str().split('@').next().unwrap_or_default().to_string(),
            (given, family) => [given, family].into_iter().flatten().collect::<Vec<_>>().join(" "),
        },
    };
    let active = match member_of(object, "active") {
        None => None,
        Some(value) => Some(coerce_bool(value).ok_or_else(|| invalid("active", "`active` must be true or false"))?),
    };
    let enterprise = match member_of(object, ENTERPRISE_USER_SCHEMA) {
        None => None,
        Some(Value::Object(enterprise)) => Some(enterprise),
        Some(_) => {
            return Err(invalid(
                ENTERPRISE_USER_SCHEMA,
                "the enterprise extension must be an object",
            ));
        }
    };
    let manager = match enterprise.and_then(|enterprise| member_of(enterprise, "manager")) {
        None => None,
        // Entra ID sends the manager's id as a plain string; the RFC, an object.
        Some(Value::String(id)) => Some(id.as_str()),
        Some(Value::Object(manager)) => text(manager, "value")?,
        Some(_) => return Err(invalid("manager", "`manager` must be an object with a `value`")),
    };
    let manager_id = manager
        .filter(|id| !id.trim().is_empty())
        .map(|id| UserId::parse("manager", id))
        .transpose()?;
    let enterprise_text = |field: &str| -> ApiResult<Option<String>> {
        match enterprise {
            None => Ok(None),
            Some(enterprise) => profile_text(field, text(enterprise, field)?),
        }
    };
    Ok(UserInput {
        display_name: DisplayName::parse("displayName", &display_name)?,
        title: validation::optional_one_line_text("title", text(object, "title")?, MAX_NAME_LENGTH)?,
        external_id: validation::optional_one_line_text("externalId", text(object, "externalId")?, MAX_NAME_LENGTH)?,
        active,
        profile: DirectoryProfile {
            given_name: profile_text("givenName", given_name)?,
            family_name: profile_text("familyName", family_name)?,
            employee_number: enterprise_text("employeeNumber")?,
            department: enterprise_text("department")?,
            manager_id,
        },
        email,
    })
}

/// The member's writable attributes, every one present (`null` when unset): what a PATCH
/// is applied to before it is read back by `parse_user`.
pub fn writable(member: &Member) -> Value {
    json!({
        "userName": member.email.as_str(),
        "name": {
            "givenName": member.profile.given_name,
            "familyName": member.profile.family_name,
        },
        "displayName": member.display_name.as_str(),
        "title": member.title,
        "emails": [{ "value": member.email.as_str(), "type": "work", "primary": true }],
        "active": member.status == MemberStatus::Active,
        "externalId": member.external_id,
        ENTERPRISE_USER_SCHEMA: {
            "employeeNumber": member.profile.employee_number,
            "department": member.profile.department,
            "manager": member.profile.manager_id.as_ref().map(|id| json!({ "value": id })),
        },
    })
}

/// Where a user lives under the SCIM base URL.
pub fn location(base: &str, user: &UserId) -> String {
    format!("{base}/Users/{user}")
}

/// The member as a SCIM User, with its groups (ids) and `meta` (the ETag is the
/// member's version).
pub fn resource(member: &Member, base: &str) -> Value {
    let mut user = Map::new();
    let mut schemas = vec![json!(USER_SCHEMA)];
    let profile = &member.profile;
    let enterprise_used =
        profile.employee_number.is_some() || profile.department.is_some() || profile.manager_id.is_some();
    if enterprise_used {
        schemas.push(json!(ENTERPRISE_USER_SCHEMA));
    }
    user.insert("schemas".into(), Value::Array(schemas));
    user.insert("id".into(), json!(member.user_id));
    if let Some(external_id) = &member.external_id {
        user.insert("externalId".into(), json!(external_id));
    }
    user.insert("userName".into(), json!(member.email.as_str()));
    let mut name = Map::new();
    if let Some(given) = &profile.given_name {
        name.insert("givenName".into(), json!(given));
    }
    if let Some(family) = &profile.family_name {
        name.insert("familyName".into(), json!(family));
    }
    if !name.is_empty() {
        user.insert("name".into(), Value::Object(name));
    }
    user.insert("displayName".into(), json!(member.display_name.as_str()));
    if let Some(title) = &member.title {
        user.insert("title".into(), json!(title));
    }
    user.insert(
        "emails".into(),
        json!([{ "value": member.email.as_str(), "type": "work", "primary": true }]),
    );
    user.insert("active".into(), json!(member.status == MemberStatus::Active));
    if !member.group_ids.is_empty() {
        let groups: Vec<Value> = member
            .group_ids
            .iter()
            .map(|group: &GroupId| json!({ "value": group, "$ref": format!("{base}/Groups/{group}") }))
            .collect();
        user.insert("groups".into(), Value::Array(groups));
    }
    if enterprise_used {
        let mut enterprise = Map::new();
        if let Some(number) = &profile.employee_number {
            enterprise.insert("employeeNumber".into(), json!(number));
        }
        if let Some(department) = &profile.department {
            enterprise.insert("department".into(), json!(department));
        }
        if let Some(manager) = &profile.manager_id {
            enterprise.insert(
                "manager".into(),
                json!({ "value": manager, "$ref": location(base, manager) }),
            );
        }
        user.insert(ENTERPRISE_USER_SCHEMA.into(), Value::Object(enterprise));
    }
    user.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": member.created_at,
            "lastModified": member.updated_at,
            "location": location(base, &member.user_id),
            "version": super::etag(member.version),
        }),
    );
    Value::Object(user)
}

/// Whether string comparisons on a User attribute are case-sensitive (RFC 7643 §4.1:
/// `id` and `externalId` are, names and emails are not).
pub fn case_exact(path: &super::grammar::AttrPath) -> bool {
    path.is("id") || path.is("externalId")
}

// ---------------------------------------------------------------------------
// The door's requests over the members commands.
// ---------------------------------------------------------------------------

/// The attributes whose `eq` a lookup by email serves.
pub const NAME_ATTRIBUTES: &[(&str, Option<&str>)] = &[("userName", None), ("emails", Some("value"))];

fn not_found(id: &str) -> ScimError {
    ScimError::new(404, None, format!("user `{id}` not found"))
}

/// A member of the principal's organization that SCIM can see: a deleted one is gone.
async fn visible(store: &Store, principal: &Principal, id: &str) -> Result<Member, ScimError> {
    let user = UserId::parse("id", id).map_err(|_| not_found(id))?;
    match users::read_member(store, principal, &user).await {
        Ok(member) if member.status != MemberStatus::Deleted => Ok(member),
        Ok(_) | Err(ApiError::NotFound { .. }) => Err(not_found(id)),
        Err(error) => Err(error.into()),
    }
}

pub async fn get(store: &Store, principal: &Principal, id: &str) -> Result<Member, ScimError> {
    visible(store, principal, id).await
}

/// `GET /Users`: by a key or index when filtered, else a window of the members.
pub async fn list(store: &Store, principal: &Principal, query: &ListQuery, base: &str) -> Result<Value, ScimError> {
    let (members, total) = match lookup(query.filter.as_ref(), NAME_ATTRIBUTES)? {
        Lookup::All => {
            let (window, total) = users::members_window(store, principal, query.start_index - 1, query.count).await?;
            let total = usize::try_from(total).unwrap_or(usize::MAX);
            (window, total)
        }
        found => {
            let candidates = match found {
                Lookup::Id(id) => match visible(store, principal, &id).await {
                    Ok(member) => vec![member],
                    Err(error) if error.status == 404 => Vec::new(),
                    Err(error) => return Err(error),
                },
                Lookup::Name(email) => users::find_members(store, principal, &MemberLookup::Email(email)).await?,
                Lookup::ExternalId(id) => users::find_members(store, principal, &MemberLookup::ExternalId(id)).await?,
                Lookup::All => Vec::new(),
            };
            let filter = query.filter.as_ref();
            let matching: Vec<Member> = candidates
                .into_iter()
                .filter(|member| filter.is_none_or(|filter| matches(filter, &resource(member, base), &case_exact)))
                .collect();
            let total = matching.len();
            let window = matching
                .into_iter()
                .skip(query.start_index - 1)
                .take(query.count)
                .collect();
            (window, total)
        }
    };
    let resources = members
        .iter()
        .map(|member| {
            let mut user = resource(member, base);
            project(&mut user, &query.attributes, &query.excluded_attributes);
            user
        })
        .collect();
    Ok(super::discovery::list_response(total, query.start_index, resources))
}

/// `POST /Users`: a new member of the organization. An email that has an account in
/// another organization makes a new account here, exactly as a new email would: one
/// organization's directory proves nothing about another's account
/// (`model::account_linking`).
pub async fn create(store: &Store, principal: &Principal, body: &Value) -> Result<Member, ScimError> {
    principal.require(Permission::UsersWrite)?;
    let input = parse_user(body)?;
    let created = users::create_member(
        store,
        principal,
        NewMember {
            email: input.email,
            display_name: input.display_name,
            title: input.title,
            external_id: input.external_id,
            // A directory provisions people, not access: roles come from the groups it
            // pushes (whose roles an admin sets) or from the REST API.
            roles: Vec::new(),
            profile: input.profile,
            // A user provisioned inactive is created suspended, in the same change.
            suspended: input.active == Some(false),
        },
    )
    .await?;
    Ok(created)
}

/// The changes that make `before` what `input` describes; `active` left out keeps the
/// status (a `PUT` from Okta omits it, and must not deactivate anyone).
fn changes_to(input: UserInput, expected_version: Option<u64>) -> MemberChanges {
    MemberChanges {
        email: Some(input.email),
        display_name: Some(input.display_name),
        title: Some(input.title),
        external_id: Some(input.external_id),
        status: input.active.map(|active| {
            if active {
                MemberStatus::Active
            } else {
                MemberStatus::Suspended
            }
        }),
        profile: ProfileChanges::replacing_with(input.profile),
        expected_version,
        ..MemberChanges::default()
    }
}

/// `PUT /Users/{id}`: the member replaced by the body.
pub async fn replace(
    store: &Store,
    principal: &Principal,
    id: &str,
    body: &Value,
    expected_version: Option<u64>,
) -> Result<Member, ScimError> {
    principal.require(Permission::UsersWrite)?;
    let before = visible(store, principal, id).await?;
    let input = parse_user(body)?;
    Ok(users::update_member(store, principal, &before.user_id, changes_to(input, expected_version)).await?)
}

/// `PATCH /Users/{id}`: the operations applied to the member's writable attributes, read
/// back as a replacement.
pub async fn patch(
    store: &Store,
    principal: &Principal,
    id: &str,
    body: &Value,
    expected_version: Option<u64>,
) -> Result<Member, ScimError> {
    principal.require(Permission::UsersWrite)?;
    let operations = parse_patch_request(body)?;
    let before = visible(store, principal, id).await?;
    let mut resource = writable(&before);
    let emails_before = resource["emails"].clone();
    super::patch::apply(&mut resource, &operations)?;
    // `emails` shows the `userName`: operations that leave it as it was let it follow a
    // new `userName` rather than hold the old address against it.
    if resource["emails"] == emails_before
        && let Some(object) = resource.as_object_mut()
    {
        object.remove("emails");
    }
    let input = parse_user(&resource)?;
    // The operations were applied to the member as read: a change made since would be
    // undone, so the member must still be at that version (a retryable `409` when the
    // caller named none, a `412` when its `If-Match` is stale).
    let read = Some(expected_version.unwrap_or(before.version));
    match users::update_member(store, principal, &before.user_id, changes_to(input, read)).await {
        Err(ApiError::PreconditionFailed { .. }) if expected_version.is_none() => Err(ScimError::new(
            409,
            None,
            "the user was changed by a concurrent request; retry",
        )),
        other => Ok(other?),
    }
}

/// `DELETE /Users/{id}`: the member is deleted (access revoked, history kept); SCIM no
/// longer finds them.
pub async fn delete(
    store: &Store,
    principal: &Principal,
    id: &str,
    expected_version: Option<u64>,
) -> Result<(), ScimError> {
    let member = visible(store, principal, id).await?;
    users::delete_member_at(store, principal, &member.user_id, expected_version).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reads_into_the_commands_input_and_refuses_what_it_cannot_keep() {
        let input = parse_user(&json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "Jane.Doe@Utility.example",
            "name": { "givenName": "Jane", "familyName": "Doe" },
            "emails": [{ "value": "jane.doe@utility.example", "type": "work", "primary": true }],
            "active": "False",
            ENTERPRISE_USER_SCHEMA: { "department": "Substations", "manager": "usr_01hx2m7k3q9v8c6b5n4m3k2j1h" },
        }))
        .unwrap();
        assert_eq!(input.display_name.as_str(), "Jane Doe");
        assert_eq!(input.active, Some(false));
        assert_eq!(input.profile.department.as_deref(), Some("Substations"));
        assert!(input.profile.manager_id.is_some());

        for body in [
            json!({ "userName": "not-an-email" }),
            json!({ "userName": "a@b.example", "emails": [{ "value": "c@d.example" }] }),
            json!({ "userName": "a@b.example", "phoneNumbers": [] }),
            json!({ "userName": "a@b.example", "active": "maybe" }),
            json!({ "userName": "a@b.example", ENTERPRISE_USER_SCHEMA: { "manager": { "value": "42" } } }),
            json!([]),
        ] {
            assert!(parse_user(&body).is_err(), "{body}");
        }
    }
}
