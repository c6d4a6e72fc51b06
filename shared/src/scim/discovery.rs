//! SCIM 2.0 service provider discovery documents.
//!
//! * `/ServiceProviderConfig` — RFC 7643 §5, RFC 7644 §4
//! * `/ResourceTypes`         — RFC 7643 §6
//! * `/Schemas`               — RFC 7643 §7 (attribute characteristics: §2.2, §7)
//! * ListResponse             — RFC 7644 §3.4.2
//!
//! The schemas declare exactly the attributes the provider supports. The common
//! attributes `id`, `externalId` and `meta` (RFC 7643 §3.1) are part of every
//! resource and are deliberately NOT listed in the schemas' `attributes`:
//! RFC 7643 §3.1 says they "are considered to be part of every base resource
//! schema and do not use their own 'schemas' URI", and scim2-models (the model
//! library behind scim2-tester) already gives every resource built from a schema
//! the fields `id`, `externalId` and `meta`; re-declaring them would replace its
//! definitions (e.g. a redeclared `meta` drops `location`).

use serde_json::{Map, Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// `filter.maxResults` and the largest page the provider returns.
pub const MAX_RESULTS: u64 = 200;

const DOCUMENTATION_URI: &str = "https://docs.raptorcomply.example/scim";

// ---------------------------------------------------------------------------
// ServiceProviderConfig (RFC 7643 §5)
// ---------------------------------------------------------------------------

/// `base` is the absolute SCIM base URL without trailing slash, e.g. "https://api.example.com/scim/v2"
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": DOCUMENTATION_URI,
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "An API key of the organization, sent as `Authorization: Bearer <key>`",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    })
}

// ---------------------------------------------------------------------------
// ResourceTypes (RFC 7643 §6)
// ---------------------------------------------------------------------------

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "description": "User Account",
        "endpoint": "/Users",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{ "schema": ENTERPRISE_USER_SCHEMA, "required": false }],
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/User")
        }
    })
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "Group",
        "name": "Group",
        "description": "Group",
        "endpoint": "/Groups",
        "schema": GROUP_SCHEMA,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/Group")
        }
    })
}

/// User (with the enterprise extension, required=false), Group.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![user_resource_type(base), group_resource_type(base)]
}

/// "User" | "Group", case-sensitive.
pub fn resource_type(base: &str, id: &str) -> Option<Value> {
    match id {
        "User" => Some(user_resource_type(base)),
        "Group" => Some(group_resource_type(base)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Attribute definitions (RFC 7643 §2.2, §7)
// ---------------------------------------------------------------------------

/// Builder of one attribute definition with every §7 characteristic spelled out.
struct Attr(Map<String, Value>);

impl Attr {
    fn new(name: &str, ty: &str, description: &str) -> Attr {
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        m.insert("type".into(), json!(ty));
        m.insert("multiValued".into(), json!(false));
        m.insert("description".into(), json!(description));
        m.insert("required".into(), json!(false));
        m.insert("mutability".into(), json!("readWrite"));
        m.insert("returned".into(), json!("default"));
        m.insert("uniqueness".into(), json!("none"));
        Attr(m)
    }

    /// A string attribute, case-insensitive unless `.case_exact(true)`.
    fn string(name: &str, description: &str) -> Attr {
        Attr::new(name, "string", description).case_exact(false)
    }

    fn boolean(name: &str, description: &str) -> Attr {
        Attr::new(name, "boolean", description)
    }

    /// A reference; references are case-exact (RFC 7643 §2.3.7).
    fn reference(name: &str, reference_types: &[&str], description: &str) -> Attr {
        let mut a = Attr::new(name, "reference", description).case_exact(true);
        a.0.insert("referenceTypes".into(), json!(reference_types));
        a
    }

    fn complex(name: &str, description: &str, sub_attributes: Vec<Attr>) -> Attr {
        let mut a = Attr::new(name, "complex", description);
        let subs: Vec<Value> = sub_attributes.into_iter().map(Attr::build).collect();
        a.0.insert("subAttributes".into(), Value::Array(subs));
        a
    }

    fn multi_valued(mut self) -> Attr {
        self.0.insert("multiValued".into(), json!(true));
        self
    }

    fn required(mut self) -> Attr {
        self.0.insert("required".into(), json!(true));
        self
    }

    fn case_exact(mut self, exact: bool) -> Attr {
        self.0.insert("caseExact".into(), json!(exact));
        self
    }

    fn mutability(mut self, mutability: &str) -> Attr {
        self.0.insert("mutability".into(), json!(mutability));
        self
    }

    fn uniqueness(mut self, uniqueness: &str) -> Attr {
        self.0.insert("uniqueness".into(), json!(uniqueness));
        self
    }

    fn canonical_values(mut self, values: &[&str]) -> Attr {
        self.0.insert("canonicalValues".into(), json!(values));
        self
    }

    fn build(self) -> Value {
        Value::Object(self.0)
    }
}

// ---------------------------------------------------------------------------
// Schemas (RFC 7643 §7, §8.7.1)
// ---------------------------------------------------------------------------

fn schema_document(base: &str, id: &str, name: &str, description: &str, attrs: Vec<Attr>) -> Value {
    let attributes: Vec<Value> = attrs.into_iter().map(Attr::build).collect();
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{id}")
        }
    })
}

fn user_schema(base: &str) -> Value {
    let attrs = vec![
        Attr::string(
            "userName",
            "The person's work email address; the provider identifies people by it.",
        )
        .required()
        .uniqueness("server"),
        Attr::complex(
            "name",
            "The components of the user's real name.",
            vec![
                Attr::string(
                    "givenName",
                    "The given name of the User, or first name in most Western languages.",
                ),
                Attr::string(
                    "familyName",
                    "The family name of the User, or last name in most Western languages.",
                ),
                Attr::string(
                    "formatted",
                    "The full name, composed by the provider from givenName and familyName.",
                )
                .mutability("readOnly"),
            ],
        ),
        // Every member has one (made from the names, or the email, when a client sends
        // none), so it is never removed.
        Attr::string(
            "displayName",
            "The name of the User, suitable for display to end-users.",
        )
        .required(),
        Attr::string("title", "The user's title, such as \"Vice President\"."),
        Attr::complex(
            "emails",
            "One work email: the same address as userName.",
            vec![
                Attr::string("value", "The email address."),
                Attr::string("type", "A label indicating the email's function.").canonical_values(&["work"]),
                Attr::boolean("primary", "Whether this is the primary email address."),
            ],
        )
        .multi_valued(),
        Attr::boolean("active", "A Boolean value indicating the User's administrative status."),
        Attr::complex(
            "groups",
            "A list of groups to which the user belongs. Managed through the Group resource.",
            vec![
                Attr::string("value", "The identifier of the User's group.")
                    .case_exact(true)
                    .mutability("readOnly"),
                Attr::reference("$ref", &["Group"], "The URI of the corresponding 'Group' resource.")
                    .mutability("readOnly"),
                Attr::string("display", "A human-readable name, primarily used for display purposes.")
                    .mutability("readOnly"),
            ],
        )
        .multi_valued()
        .mutability("readOnly"),
    ];
    schema_document(base, USER_SCHEMA, "User", "User Account", attrs)
}

fn enterprise_user_schema(base: &str) -> Value {
    let attrs = vec![
        Attr::string(
            "employeeNumber",
            "A string identifier, typically numeric or alphanumeric, assigned to a person.",
        ),
        Attr::string("department", "Identifies the name of a department."),
        Attr::complex(
            "manager",
            "The User's manager.",
            vec![
                Attr::string("value", "The id of the SCIM resource representing the User's manager.").case_exact(true),
                Attr::reference(
                    "$ref",
                    &["User"],
                    "The URI of the SCIM resource representing the User's manager.",
                ),
                Attr::string(
                    "displayName",
                    "The displayName of the User's manager, filled in by the provider.",
                )
                .mutability("readOnly"),
            ],
        ),
    ];
    schema_document(base, ENTERPRISE_USER_SCHEMA, "EnterpriseUser", "Enterprise User", attrs)
}

fn group_schema(base: &str) -> Value {
    let attrs = vec![
        Attr::string("displayName", "A human-readable name for the Group.")
            .required()
            .uniqueness("server"),
        Attr::complex(
            "members",
            "A list of members of the Group.",
            vec![
                Attr::string("value", "Identifier of the member of this Group.")
                    .case_exact(true)
                    .mutability("immutable"),
                Attr::reference(
                    "$ref",
                    &["User", "Group"],
                    "The URI corresponding to a SCIM resource that is a member of this Group.",
                )
                .mutability("immutable"),
                Attr::string("type", "A label indicating the type of resource.")
                    .canonical_values(&["User"])
                    .mutability("immutable"),
                Attr::string(
                    "display",
                    "A human-readable name for the member, filled in by the provider.",
                )
                .mutability("readOnly"),
            ],
        )
        .multi_valued(),
    ];
    schema_document(base, GROUP_SCHEMA, "Group", "Group", attrs)
}

/// User, EnterpriseUser, Group.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![user_schema(base), enterprise_user_schema(base), group_schema(base)]
}

/// The schema whose URN is `id` (exact match).
pub fn schema(base: &str, id: &str) -> Option<Value> {
    match id {
        USER_SCHEMA => Some(user_schema(base)),
        ENTERPRISE_USER_SCHEMA => Some(enterprise_user_schema(base)),
        GROUP_SCHEMA => Some(group_schema(base)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// ListResponse (RFC 7644 §3.4.2)
// ---------------------------------------------------------------------------

/// A ListResponse of `resources` (RFC 7644 §3.4.2): totalResults, startIndex, itemsPerPage, Resources.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources
    })
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://api.example.com/scim/v2";

    /// Serializes and re-parses, proving the document is valid JSON text.
    fn round_trip(v: &Value) -> Value {
        let text = serde_json::to_string(v).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn assert_envelope(doc: &Value, schema_urn: &str, resource_type: &str, location: &str) {
        let doc = round_trip(doc);
        assert_eq!(doc["schemas"], json!([schema_urn]), "{doc}");
        assert_eq!(doc["meta"]["resourceType"], json!(resource_type), "{doc}");
        assert_eq!(doc["meta"]["location"], json!(location), "{doc}");
    }

    #[test]
    fn service_provider_config_is_exact() {
        let spc = service_provider_config(BASE);
        assert_envelope(
            &spc,
            SERVICE_PROVIDER_CONFIG_SCHEMA,
            "ServiceProviderConfig",
            "https://api.example.com/scim/v2/ServiceProviderConfig",
        );
        assert_eq!(spc["documentationUri"], "https://docs.raptorcomply.example/scim");
        assert_eq!(spc["patch"], json!({"supported": true}));
        assert_eq!(
            spc["bulk"],
            json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 0})
        );
        assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(spc["changePassword"], json!({"supported": false}));
        assert_eq!(spc["sort"], json!({"supported": false}));
        assert_eq!(spc["etag"], json!({"supported": true}));
        let schemes = spc["authenticationSchemes"].as_array().unwrap();
        assert_eq!(schemes.len(), 1);
        assert_eq!(schemes[0]["type"], "oauthbearertoken");
        assert_eq!(schemes[0]["name"], "OAuth Bearer Token");
        assert_eq!(
            schemes[0]["description"],
            "An API key of the organization, sent as `Authorization: Bearer <key>`"
        );
        assert_eq!(schemes[0]["primary"], true);
        assert!(spc.get("id").is_none(), "ServiceProviderConfig has no id (RFC 7643 §5)");
    }

    #[test]
    fn resource_types_have_envelope_and_extension() {
        let rts = resource_types(BASE);
        assert_eq!(rts.len(), 2);
        for rt in &rts {
            let id = rt["id"].as_str().unwrap();
            assert_eq!(rt["name"], id);
            assert_envelope(
                rt,
                RESOURCE_TYPE_SCHEMA,
                "ResourceType",
                &format!("{BASE}/ResourceTypes/{id}"),
            );
        }
        assert_eq!(rts[0]["endpoint"], "/Users");
        assert_eq!(rts[0]["schema"], USER_SCHEMA);
        assert_eq!(
            rts[0]["schemaExtensions"],
            json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false}])
        );
        assert_eq!(rts[1]["endpoint"], "/Groups");
        assert_eq!(rts[1]["schema"], GROUP_SCHEMA);
    }

    #[test]
    fn schemas_have_envelope() {
        let all = schemas(BASE);
        let ids: Vec<&str> = all.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]);
        let names: Vec<&str> = all.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["User", "EnterpriseUser", "Group"]);
        for s in &all {
            let id = s["id"].as_str().unwrap();
            assert_envelope(s, SCHEMA_SCHEMA, "Schema", &format!("{BASE}/Schemas/{id}"));
            assert!(s["description"].is_string());
        }
    }

    #[test]
    fn every_resource_type_schema_and_extension_is_published() {
        let published: Vec<Value> = schemas(BASE).iter().map(|s| s["id"].clone()).collect();
        for rt in resource_types(BASE) {
            assert!(published.contains(&rt["schema"]), "{}", rt["schema"]);
            for ext in rt["schemaExtensions"].as_array().into_iter().flatten() {
                assert!(published.contains(&ext["schema"]), "{}", ext["schema"]);
                assert_eq!(ext["required"], false);
            }
        }
    }

    #[test]
    fn lookups_by_id() {
        for rt in resource_types(BASE) {
            assert_eq!(resource_type(BASE, rt["id"].as_str().unwrap()), Some(rt));
        }
        assert_eq!(resource_type(BASE, "user"), None, "case-sensitive");
        assert_eq!(resource_type(BASE, "Pet"), None);
        assert_eq!(resource_type(BASE, ""), None);
        for s in schemas(BASE) {
            assert_eq!(schema(BASE, s["id"].as_str().unwrap()), Some(s));
        }
        assert_eq!(schema(BASE, "urn:ietf:params:scim:schemas:core:2.0:Pet"), None);
        assert_eq!(schema(BASE, "User"), None);
        assert_eq!(schema(BASE, SCHEMA_SCHEMA), None);
    }

    /// Every attribute spells out all RFC 7643 §7 characteristics.
    fn check_attribute(a: &Value, depth: usize) {
        let name = a["name"].as_str().expect("name");
        for key in [
            "type",
            "multiValued",
            "description",
            "required",
            "mutability",
            "returned",
            "uniqueness",
        ] {
            assert!(a.get(key).is_some(), "{name}: missing {key}");
        }
        assert!(a["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}");
        assert!(["readOnly", "readWrite", "immutable", "writeOnly"].contains(&a["mutability"].as_str().unwrap()));
        assert!(["always", "never", "default", "request"].contains(&a["returned"].as_str().unwrap()));
        assert!(["none", "server", "global"].contains(&a["uniqueness"].as_str().unwrap()));
        let ty = a["type"].as_str().unwrap();
        assert!(
            [
                "string",
                "boolean",
                "decimal",
                "integer",
                "dateTime",
                "binary",
                "reference",
                "complex"
            ]
            .contains(&ty)
        );
        assert_eq!(
            a.get("caseExact").is_some(),
            ty == "string" || ty == "reference",
            "{name}: caseExact"
        );
        assert_eq!(
            a.get("referenceTypes").is_some(),
            ty == "reference",
            "{name}: referenceTypes"
        );
        if ty == "complex" {
            assert_eq!(
                depth, 0,
                "{name}: complex sub-attributes are not allowed (RFC 7643 §2.3.8)"
            );
            let subs = a["subAttributes"].as_array().expect("subAttributes");
            assert!(!subs.is_empty());
            for s in subs {
                check_attribute(s, depth + 1);
            }
        } else {
            assert!(a.get("subAttributes").is_none(), "{name}");
        }
        if let Some(cv) = a.get("canonicalValues") {
            assert!(cv.as_array().is_some_and(|v| !v.is_empty()), "{name}");
        }
    }

    fn attr<'a>(list: &'a Value, name: &str) -> &'a Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn attributes_are_fully_characterized() {
        for s in schemas(BASE) {
            let attrs = s["attributes"].as_array().unwrap();
            let mut names: Vec<&str> = attrs.iter().map(|a| a["name"].as_str().unwrap()).collect();
            for a in attrs {
                check_attribute(a, 0);
            }
            // Common attributes (RFC 7643 §3.1) are not declared in the schemas.
            for common in ["id", "externalId", "meta", "schemas"] {
                assert!(!names.contains(&common), "{common} declared in {}", s["id"]);
            }
            names.sort_unstable_by_key(|n| n.to_lowercase());
            names.dedup_by_key(|n| n.to_lowercase());
            assert_eq!(names.len(), attrs.len(), "duplicate attribute in {}", s["id"]);
        }
    }

    #[test]
    fn attribute_sets_match_what_the_provider_supports() {
        let names = |s: &Value| -> Vec<String> {
            s["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let user = schema(BASE, USER_SCHEMA).unwrap();
        assert_eq!(
            names(&user),
            ["userName", "name", "displayName", "title", "emails", "active", "groups"]
        );
        let ua = &user["attributes"];
        let user_name = attr(ua, "userName");
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["mutability"], "readWrite");
        assert_eq!(
            user_name["description"],
            "The person's work email address; the provider identifies people by it."
        );
        let name = attr(ua, "name");
        assert_eq!(
            names(&json!({"attributes": name["subAttributes"]})),
            ["givenName", "familyName", "formatted"]
        );
        assert_eq!(attr(&name["subAttributes"], "formatted")["mutability"], "readOnly");
        let emails = attr(ua, "emails");
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["description"], "One work email: the same address as userName.");
        assert_eq!(
            attr(&emails["subAttributes"], "type")["canonicalValues"],
            json!(["work"])
        );
        assert_eq!(attr(&emails["subAttributes"], "primary")["type"], "boolean");
        assert_eq!(attr(ua, "active")["type"], "boolean");
        let groups = attr(ua, "groups");
        assert_eq!(groups["mutability"], "readOnly");
        for sub in groups["subAttributes"].as_array().unwrap() {
            assert_eq!(sub["mutability"], "readOnly");
        }
        assert_eq!(
            attr(&groups["subAttributes"], "$ref")["referenceTypes"],
            json!(["Group"])
        );

        let ent = schema(BASE, ENTERPRISE_USER_SCHEMA).unwrap();
        assert_eq!(names(&ent), ["employeeNumber", "department", "manager"]);
        let manager = attr(&ent["attributes"], "manager");
        assert_eq!(
            attr(&manager["subAttributes"], "$ref")["referenceTypes"],
            json!(["User"])
        );
        assert_eq!(attr(&manager["subAttributes"], "value")["mutability"], "readWrite");
        assert_eq!(attr(&manager["subAttributes"], "displayName")["mutability"], "readOnly");

        let group = schema(BASE, GROUP_SCHEMA).unwrap();
        assert_eq!(names(&group), ["displayName", "members"]);
        let display_name = attr(&group["attributes"], "displayName");
        assert_eq!(display_name["required"], true);
        assert_eq!(display_name["uniqueness"], "server");
        assert_eq!(display_name["caseExact"], false);
        let members = attr(&group["attributes"], "members");
        assert_eq!(members["multiValued"], true);
        let ms = &members["subAttributes"];
        assert_eq!(attr(ms, "value")["mutability"], "immutable");
        assert_eq!(attr(ms, "$ref")["referenceTypes"], json!(["User", "Group"]));
        assert_eq!(attr(ms, "$ref")["mutability"], "immutable");
        assert_eq!(attr(ms, "type")["canonicalValues"], json!(["User"]));
        assert_eq!(attr(ms, "type")["mutability"], "immutable");
        assert_eq!(attr(ms, "display")["mutability"], "readOnly");
    }

    #[test]
    fn list_response_shape() {
        let rts = resource_types(BASE);
        let lr = round_trip(&list_response(7, 3, rts.clone()));
        assert_eq!(lr["schemas"], json!([LIST_RESPONSE_SCHEMA]));
        assert_eq!(lr["totalResults"], 7);
        assert_eq!(lr["startIndex"], 3);
        assert_eq!(lr["itemsPerPage"], 2);
        assert_eq!(lr["Resources"], Value::Array(rts));

        let empty = list_response(0, 1, vec![]);
        assert_eq!(empty["totalResults"], 0);
        assert_eq!(empty["itemsPerPage"], 0);
        assert_eq!(empty["Resources"], json!([]));
    }
}
