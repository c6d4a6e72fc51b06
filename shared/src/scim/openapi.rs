//! How the OpenAPI document (`crate::openapi`) describes the SCIM door: each operation's
//! body, answer and errors, and the JSON Schemas of SCIM's resources as this service writes
//! them. SCIM's own description of them is `/scim/v2/Schemas` (`discovery`); this one is
//! for OpenAPI's readers and for schemathesis, which checks every answer against it.

use serde_json::{Value, json};

use super::discovery::{ENTERPRISE_USER_SCHEMA, ERROR_SCHEMA};
use crate::routes::ScimOperation;

/// What one SCIM operation takes and answers.
pub struct ScimDescription {
    pub summary: &'static str,
    /// The body's JSON Schema, when the operation takes one.
    pub request: Option<Value>,
    pub success: u16,
    /// The success answer's JSON Schema (`None`: `204`, no body).
    pub response: Option<Value>,
    /// Error statuses beyond `400`, `404`, `500`, `503` (and `401`, `403` with a token).
    pub more_errors: &'static [u16],
    /// Takes `If-Match` (RFC 7644 §3.14): `412` when the resource has moved on.
    pub if_match: bool,
}

/// The schema components the descriptions refer to, by name.
pub fn components() -> Vec<(&'static str, Value)> {
    vec![
        // Answers always hold `schemas` and `id`; a create or replace needs the name.
        ("ScimUser", user(&["schemas", "id"])),
        ("ScimUserRequest", user(&["userName"])),
        ("ScimGroup", group(&["schemas", "id"])),
        ("ScimGroupRequest", group(&["displayName"])),
        ("ScimListResponse", list_response()),
        ("ScimPatchOp", patch_op()),
        ("ScimError", error()),
        ("ScimServiceProviderConfig", service_provider_config()),
        ("ScimResourceType", resource_type()),
        ("ScimSchema", schema_document()),
    ]
}

/// The name of the error body's component.
pub const ERROR_COMPONENT: &str = "ScimError";

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub fn describe(operation: ScimOperation) -> ScimDescription {
    use ScimOperation as S;
    let d = |summary, request: Option<&str>, success, response: Option<&str>, more_errors, if_match| ScimDescription {
        summary,
        request: request.map(reference),
        success,
        response: response.map(reference),
        more_errors,
        if_match,
    };
    match operation {
        S::GetServiceProviderConfig => d(
            "SCIM: what this service provider supports",
            None,
            200,
            Some("ScimServiceProviderConfig"),
            &[],
            false,
        ),
        S::ListResourceTypes => d(
            "SCIM: the resource types (User, Group)",
            None,
            200,
            Some("ScimListResponse"),
            &[],
            false,
        ),
        S::GetResourceType => d(
            "SCIM: one resource type",
            None,
            200,
            Some("ScimResourceType"),
            &[],
            false,
        ),
        S::ListSchemas => d(
            "SCIM: the schemas of the resources",
            None,
            200,
            Some("ScimListResponse"),
            &[],
            false,
        ),
        S::GetSchema => d(
            "SCIM: one schema, by its URN",
            None,
            200,
            Some("ScimSchema"),
            &[],
            false,
        ),
        S::ListUsers => d(
            "SCIM: list or find the organization's members",
            None,
            200,
            Some("ScimListResponse"),
            &[],
            false,
        ),
        S::CreateUser => d(
            "SCIM: provision a member (no roles; access comes from groups)",
            Some("ScimUserRequest"),
            201,
            Some("ScimUser"),
            &[409],
            false,
        ),
        S::GetUser => d("SCIM: one member", None, 200, Some("ScimUser"), &[], false),
        S::ReplaceUser => d(
            "SCIM: replace a member's attributes (`active` left out keeps the status)",
            Some("ScimUserRequest"),
            200,
            Some("ScimUser"),
            &[409, 412],
            true,
        ),
        S::PatchUser => d(
            "SCIM: change a member's attributes; `active: false` suspends",
            Some("ScimPatchOp"),
            200,
            Some("ScimUser"),
            &[409, 412],
            true,
        ),
        S::DeleteUser => d(
            "SCIM: remove a member from the organization",
            None,
            204,
            None,
            &[409, 412],
            true,
        ),
        S::ListGroups => d(
            "SCIM: list or find the organization's groups",
            None,
            200,
            Some("ScimListResponse"),
            &[],
            false,
        ),
        S::CreateGroup => d(
            "SCIM: create a group with its members",
            Some("ScimGroupRequest"),
            201,
            Some("ScimGroup"),
            &[409],
            false,
        ),
        S::GetGroup => d("SCIM: one group", None, 200, Some("ScimGroup"), &[], false),
        S::ReplaceGroup => d(
            "SCIM: replace a group's name and members",
            Some("ScimGroupRequest"),
            200,
            Some("ScimGroup"),
            &[409, 412],
            true,
        ),
        S::PatchGroup => d(
            "SCIM: rename a group, or add and remove members",
            Some("ScimPatchOp"),
            200,
            Some("ScimGroup"),
            &[409, 412],
            true,
        ),
        S::DeleteGroup => d(
            "SCIM: delete a group (its members stop holding its roles)",
            None,
            204,
            None,
            &[409, 412],
            true,
        ),
        // Not in the document (`Route::outside_openapi`): OpenAPI has no `ANY` method.
        S::NotServed => d(
            "SCIM: what no route serves",
            None,
            404,
            Some(ERROR_COMPONENT),
            &[],
            false,
        ),
    }
}

fn strings() -> Value {
    json!({ "type": "array", "items": { "type": "string" } })
}

fn meta() -> Value {
    json!({
        "type": "object",
        "properties": {
            "resourceType": { "type": "string" },
            "created": { "type": "string", "format": "date-time" },
            "lastModified": { "type": "string", "format": "date-time" },
            "location": { "type": "string" },
            "version": { "type": "string", "description": "The ETag, `W/\"<version>\"`." }
        }
    })
}

/// A member, as SCIM's User (docs/scim.md, "The mapping"). Only `schemas`, `id` and `meta`
/// are always returned: `attributes` and `excludedAttributes` may leave the rest out.
fn user(required: &[&str]) -> Value {
    let reference = json!({
        "type": "object",
        "properties": {
            "value": { "type": "string" },
            "$ref": { "type": "string" },
            "display": { "type": "string" },
            "displayName": { "type": "string" }
        }
    });
    json!({
        "type": "object",
        "description": "A member of the organization. `userName` is their work email; `emails` may only repeat it.",
        "required": required,
        "properties": {
            "schemas": strings(),
            "id": { "type": "string", "readOnly": true },
            "externalId": { "type": "string" },
            "userName": { "type": "string", "description": "The member's work email." },
            "name": {
                "type": "object",
                "properties": {
                    "givenName": { "type": "string" },
                    "familyName": { "type": "string" },
                    "formatted": { "type": "string" }
                }
            },
            "displayName": { "type": "string" },
            "title": { "type": "string" },
            "active": { "type": "boolean" },
            "emails": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "value": { "type": "string" },
                        "type": { "type": "string" },
                        "primary": { "type": "boolean" }
                    }
                }
            },
            "groups": { "type": "array", "items": reference },
            ENTERPRISE_USER_SCHEMA: {
                "type": "object",
                "properties": {
                    "employeeNumber": { "type": "string" },
                    "department": { "type": "string" },
                    "manager": reference
                }
            },
            "meta": meta()
        }
    })
}

fn group(required: &[&str]) -> Value {
    json!({
        "type": "object",
        "description": "A group of the organization; the roles it grants are set through `/groups`.",
        "required": required,
        "properties": {
            "schemas": strings(),
            "id": { "type": "string", "readOnly": true },
            "externalId": { "type": "string" },
            "displayName": { "type": "string" },
            "members": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["value"],
                    "properties": {
                        "value": { "type": "string", "description": "A member's `usr_…` id." },
                        "$ref": { "type": "string" },
                        "display": { "type": "string" }
                    }
                }
            },
            "meta": meta()
        }
    })
}

fn list_response() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "totalResults"],
        "properties": {
            "schemas": strings(),
            "totalResults": { "type": "integer", "minimum": 0 },
            "startIndex": { "type": "integer", "minimum": 1 },
            "itemsPerPage": { "type": "integer", "minimum": 0 },
            "Resources": { "type": "array", "items": { "type": "object" } }
        }
    })
}

fn patch_op() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "Operations"],
        "properties": {
            "schemas": strings(),
            "Operations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["op"],
                    "properties": {
                        "op": { "type": "string", "description": "`add`, `replace` or `remove`, in any case." },
                        "path": { "type": "string" },
                        "value": {
                            "description": "The attribute's new value, or an object of attributes.",
                            "anyOf": [
                                { "type": "string" },
                                { "type": "boolean" },
                                { "type": "number" },
                                { "type": "object" },
                                { "type": "array", "items": { "type": "object" } }
                            ]
                        }
                    }
                }
            }
        }
    })
}

fn error() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "status", "detail"],
        "properties": {
            "schemas": { "type": "array", "items": { "type": "string", "enum": [ERROR_SCHEMA] } },
            "status": { "type": "string", "description": "The HTTP status, as a string." },
            "scimType": { "type": "string" },
            "detail": { "type": "string" }
        }
    })
}

fn service_provider_config() -> Value {
    let supported = json!({
        "type": "object",
        "required": ["supported"],
        "properties": { "supported": { "type": "boolean" } }
    });
    json!({
        "type": "object",
        "required": ["schemas", "patch", "bulk", "filter", "changePassword", "sort", "etag", "authenticationSchemes"],
        "properties": {
            "schemas": strings(),
            "patch": supported,
            "bulk": supported,
            "filter": supported,
            "changePassword": supported,
            "sort": supported,
            "etag": supported,
            "authenticationSchemes": { "type": "array", "items": { "type": "object" } }
        }
    })
}

fn resource_type() -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "id", "name", "endpoint", "schema"],
        "properties": {
            "schemas": strings(),
            "id": { "type": "string" },
            "name": { "type": "string" },
            "endpoint": { "type": "string" },
            "schema": { "type": "string" }
        }
    })
}

fn schema_document() -> Value {
    json!({
        "type": "object",
        "required": ["id", "attributes"],
        "properties": {
            "id": { "type": "string" },
            "name": { "type": "string" },
            "attributes": { "type": "array", "items": { "type": "object" } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::{RefOr, schema::Schema};

    /// utoipa reads a JSON Schema it cannot hold by dropping the part silently (an array's
    /// `items` with an untyped property vanished once): each schema must come back whole.
    #[test]
    fn every_schema_survives_utoipa_unchanged() {
        for (name, schema) in components() {
            let held: RefOr<Schema> = serde_json::from_value(schema.clone()).unwrap();
            assert_eq!(serde_json::to_value(&held).unwrap(), schema, "{name}");
        }
    }
}
