//! SCIM 2.0 (docs/scim.md), driven as Okta and Microsoft Entra ID drive it: the requests
//! below are the shapes each sends (issue 22, "What the IdPs actually send").

use integration_tests::{TestApi, TestOrg, TestResponse};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

pub(crate) async fn scim(api: &TestApi, method: &str, path: &str, token: &str, body: Option<Value>) -> TestResponse {
    scim_with(api, method, path, token, body, &[]).await
}

async fn scim_with(
    api: &TestApi,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let body = body.map(|body| body.to_string());
    let bearer = format!("Bearer {token}");
    let mut all = vec![
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/scim+json"),
    ];
    all.extend_from_slice(headers);
    api.call_with_headers(method, &format!("/scim/v2{path}"), None, body.as_deref(), &all)
        .await
}

#[track_caller]
fn scim_error(response: TestResponse, status: u16, scim_type: Option<&str>) -> Value {
    assert_eq!(response.status, status, "body: {}", response.body);
    assert_eq!(response.body["schemas"], json!([ERROR]), "{}", response.body);
    assert_eq!(response.body["status"], status.to_string());
    assert_eq!(response.body["scimType"].as_str(), scim_type, "{}", response.body);
    assert!(
        response.body["detail"]
            .as_str()
            .is_some_and(|detail| !detail.is_empty())
    );
    response.body
}

fn content_type(response: &TestResponse) -> &str {
    response
        .headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// A key for the directory: scoped to what provisioning needs, minted by the admin.
pub(crate) async fn provisioning_key(api: &TestApi, org: &TestOrg) -> String {
    let key = api
        .post(
            "/api-keys",
            &org.admin_key,
            json!({ "name": "Okta provisioning", "permissions": ["users:read", "users:write"] }),
        )
        .await
        .expect(201);
    key["secret"].as_str().expect("secret").to_string()
}

pub(crate) fn okta_user(email: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": email,
        "name": { "givenName": given, "familyName": family },
        "emails": [{ "primary": true, "value": email, "type": "work" }],
        "displayName": format!("{given} {family}"),
        "externalId": format!("00u{given}"),
        "groups": [],
        "active": true,
    })
}

#[tokio::test]
async fn okta_checks_creates_replaces_deactivates_pushes_a_group_and_deletes() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let token = provisioning_key(&api, &org).await;

    // Discovery needs no key and says what is supported.
    let config = api
        .call_with_headers("GET", "/scim/v2/ServiceProviderConfig", None, None, &[])
        .await;
    assert_eq!(content_type(&config), "application/scim+json");
    let config = config.expect(200);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["filter"]["maxResults"], 200);
    assert_eq!(config["etag"]["supported"], true);
    let types = scim(&api, "GET", "/ResourceTypes", &token, None).await.expect(200);
    assert_eq!(types["totalResults"], 2);
    scim(&api, "GET", &format!("/Schemas/{ENTERPRISE}"), &token, None)
        .await
        .expect(200);
    // The same URN with its colons percent-encoded, as some clients send a path segment.
    let encoded = scim(
        &api,
        "GET",
        &format!("/Schemas/{}", USER.replace(':', "%3A")),
        &token,
        None,
    )
    .await
    .expect(200);
    assert_eq!(encoded["id"], USER);

    // Okta's connection test, then its existence check before a create.
    let page = scim(&api, "GET", "/Users?startIndex=1&count=2", &token, None).await;
    assert_eq!(content_type(&page), "application/scim+json");
    let page = page.expect(200);
    assert_eq!(
        page["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(page["totalResults"], 1, "the bootstrap admin");
    assert_eq!(page["Resources"].as_array().unwrap().len(), 1);
    let none = scim(
        &api,
        "GET",
        "/Users?filter=userName eq \"jane@utility.example\"",
        &token,
        None,
    )
    .await
    .expect(200);
    assert_eq!(none["totalResults"], 0);
    assert_eq!(none["Resources"], json!([]));

    let created = scim(
        &api,
        "POST",
        "/Users",
        &token,
        Some(okta_user("jane@utility.example", "Jane", "Doe")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let location = created.headers["location"].to_str().unwrap().to_string();
    let etag = created.headers["etag"].to_str().unwrap().to_string();
    let user = created.body;
    let id = user["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("usr_"));
    assert_eq!(location, format!("https://api.raptorcomply.test/scim/v2/Users/{id}"));
    assert_eq!(user["meta"]["location"], location);
    assert_eq!(user["meta"]["resourceType"], "User");
    assert_eq!(user["meta"]["version"], etag);
    assert_eq!(user["name"], json!({ "givenName": "Jane", "familyName": "Doe" }));
    assert_eq!(user["active"], true);
    let found = scim(
        &api,
        "GET",
        "/Users?filter=userName eq \"JANE@utility.example\"",
        &token,
        None,
    )
    .await
    .expect(200);
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id);
    // The same member through the REST API, with what the directory said.
    let member = api.get(&format!("/users/{id}"), &org.admin_key).await.expect(200);
    assert_eq!(member["email"], "jane@utility.example");
    assert_eq!(member["givenName"], "Jane");
    assert_eq!(member["externalId"], "00uJane");
    // A directory provisions people, not access: no roles until a group grants some.
    assert_eq!(member["roles"], json!([]));

    // A PUT without `active` keeps the member active (it must not deactivate anyone).
    let mut replacement = okta_user("jane@utility.example", "Jane", "Smith");
    replacement.as_object_mut().unwrap().remove("active");
    let replaced = scim(&api, "PUT", &format!("/Users/{id}"), &token, Some(replacement))
        .await
        .expect(200);
    assert_eq!(replaced["name"]["familyName"], "Smith");
    assert_eq!(replaced["active"], true);
    // A stale If-Match is refused.
    let stale = scim_with(
        &api,
        "PUT",
        &format!("/Users/{id}"),
        &token,
        Some(okta_user("jane@utility.example", "Jane", "Jones")),
        &[("If-Match", &etag)],
    )
    .await;
    scim_error(stale, 412, None);

    // Okta deactivates with `active: false`: the member is suspended, still readable.
    let deactivated = scim(
        &api,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": false } }] })),
    )
    .await
    .expect(200);
    assert_eq!(deactivated["active"], false);
    let member = api.get(&format!("/users/{id}"), &org.admin_key).await.expect(200);
    assert_eq!(member["status"], "suspended");
    let still = scim(&api, "GET", &format!("/Users/{id}"), &token, None)
        .await
        .expect(200);
    assert_eq!(still["active"], false);

    // Group push: created, then members added.
    let group = scim(
        &api,
        "POST",
        "/Groups",
        &token,
        Some(json!({ "schemas": [GROUP], "displayName": "Substation Crew", "members": [] })),
    )
    .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let group_id = group.body["id"].as_str().unwrap().to_string();
    scim(
        &api,
        "PATCH",
        &format!("/Groups/{group_id}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": id, "display": "jane@utility.example" }] }] })),
    )
    .await
    .expect(200);
    let read = scim(&api, "GET", &format!("/Groups/{group_id}"), &token, None)
        .await
        .expect(200);
    assert_eq!(read["members"][0]["value"], id);
    let user = scim(&api, "GET", &format!("/Users/{id}"), &token, None)
        .await
        .expect(200);
    assert_eq!(user["groups"][0]["value"], group_id);

    // A DELETE removes the member: gone from SCIM, deleted in the API, out of the group.
    let deleted = scim(&api, "DELETE", &format!("/Users/{id}"), &token, None).await;
    assert_eq!(deleted.status, 204);
    scim_error(
        scim(&api, "GET", &format!("/Users/{id}"), &token, None).await,
        404,
        None,
    );
    let member = api.get(&format!("/users/{id}"), &org.admin_key).await.expect(200);
    assert_eq!(member["status"], "deleted");
    let read = scim(&api, "GET", &format!("/Groups/{group_id}"), &token, None)
        .await
        .expect(200);
    assert_eq!(read["members"], json!([]));
    scim_error(
        scim(&api, "DELETE", &format!("/Users/{id}"), &token, None).await,
        404,
        None,
    );
}

#[tokio::test]
async fn entra_id_filters_patches_with_its_quirks_and_reads_a_deactivated_user() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let token = provisioning_key(&api, &org).await;
    let manager = scim(
        &api,
        "POST",
        "/Users",
        &token,
        Some(json!({ "schemas": [USER], "userName": "boss@utility.example", "displayName": "The Boss", "externalId": "aad-boss", "active": true })),
    )
    .await
    .expect(201);
    let manager_id = manager["id"].as_str().unwrap().to_string();
    let created = scim(
        &api,
        "POST",
        "/Users",
        &token,
        Some(json!({
            "schemas": [USER, ENTERPRISE],
            "externalId": "aad-0001",
            "userName": "sam@utility.example",
            "active": true,
            "displayName": "Sam Field",
            "title": "Technician",
            "emails": [{ "primary": true, "type": "work", "value": "sam@utility.example" }],
            "name": { "givenName": "Sam", "familyName": "Field" },
            ENTERPRISE: { "employeeNumber": "E-100", "department": "Substations", "manager": { "value": manager_id } },
        })),
    )
    .await
    .expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created[ENTERPRISE]["manager"]["value"], manager_id);
    assert_eq!(created[ENTERPRISE]["department"], "Substations");

    for filter in [
        "externalId eq \"aad-0001\"",
        "userName eq \"sam@utility.example\"",
        "emails[type eq \"work\"].value eq \"sam@utility.example\"",
        "externalId eq \"aad-0001\" and userName eq \"sam@utility.example\"",
    ] {
        let found = scim(&api, "GET", &format!("/Users?filter={filter}"), &token, None)
            .await
            .expect(200);
        assert_eq!(found["totalResults"], 1, "{filter}");
        assert_eq!(found["Resources"][0]["id"], id, "{filter}");
    }
    // An `and` whose other clause does not hold finds nothing; the case of an external
    // id matters.
    for filter in [
        "externalId eq \"aad-0001\" and userName eq \"other@utility.example\"",
        "externalId eq \"AAD-0001\"",
    ] {
        let found = scim(&api, "GET", &format!("/Users?filter={filter}"), &token, None)
            .await
            .expect(200);
        assert_eq!(found["totalResults"], 0, "{filter}");
    }

    // Entra ID's PATCH: capitalised ops, booleans as strings, a path-less replace with
    // dotted and URN keys, a manager as a plain id.
    let patched = scim(
        &api,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [
            { "op": "Replace", "path": "title", "value": "Senior Technician" },
            { "op": "Replace", "value": {
                "name.givenName": "Samuel",
                format!("{ENTERPRISE}:department"): "Control Center",
            } },
            { "op": "Add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "E-200" },
            { "op": "Remove", "path": format!("{ENTERPRISE}:manager") },
            { "op": "Replace", "path": "active", "value": "False" },
        ] })),
    )
    .await
    .expect(200);
    assert_eq!(patched["title"], "Senior Technician");
    assert_eq!(patched["name"]["givenName"], "Samuel");
    assert_eq!(patched["name"]["familyName"], "Field");
    assert_eq!(patched[ENTERPRISE]["department"], "Control Center");
    assert_eq!(patched[ENTERPRISE]["employeeNumber"], "E-200");
    assert!(patched[ENTERPRISE].get("manager").is_none());
    assert_eq!(patched["active"], false);
    // A deactivated user is still returned by GET and by filters; only DELETE removes.
    let found = scim(&api, "GET", "/Users?filter=externalId eq \"aad-0001\"", &token, None)
        .await
        .expect(200);
    assert_eq!(found["Resources"][0]["active"], false);
    let trail = api.audit_trail_of(&org, &id).await;
    assert_eq!(trail[0]["action"], "user.updated");
    assert_eq!(
        trail[0]["summary"]["status"],
        json!({ "from": "active", "to": "suspended" })
    );
    assert_eq!(trail[0]["summary"]["managerId"]["from"], manager_id);
    // A new userName is the member's new email; `emails` follows it.
    let moved = scim(
        &api,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Replace", "path": "userName", "value": "samuel@utility.example" }] })),
    )
    .await
    .expect(200);
    assert_eq!(moved["emails"][0]["value"], "samuel@utility.example");
    let member = api.get(&format!("/users/{id}"), &org.admin_key).await.expect(200);
    assert_eq!(member["email"], "samuel@utility.example");
    // Reactivated with the string "True".
    let back = scim(
        &api,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Replace", "path": "active", "value": "True" }] })),
    )
    .await
    .expect(200);
    assert_eq!(back["active"], true);

    // Groups: found by name, read without members, members removed both ways Entra ID does.
    let group = scim(
        &api,
        "POST",
        "/Groups",
        &token,
        Some(json!({ "schemas": [GROUP], "displayName": "Operators", "externalId": "aad-g1", "members": [{ "value": id }, { "value": manager_id }] })),
    )
    .await
    .expect(201);
    let group_id = group["id"].as_str().unwrap().to_string();
    assert_eq!(group["members"].as_array().unwrap().len(), 2);
    let by_name = scim(
        &api,
        "GET",
        "/Groups?filter=displayName eq \"operators\"&excludedAttributes=members",
        &token,
        None,
    )
    .await
    .expect(200);
    assert_eq!(by_name["totalResults"], 1);
    assert_eq!(by_name["Resources"][0]["id"], group_id);
    assert!(by_name["Resources"][0].get("members").is_none());
    let by_external = scim(&api, "GET", "/Groups?filter=externalId eq \"aad-g1\"", &token, None)
        .await
        .expect(200);
    assert_eq!(by_external["totalResults"], 1);
    scim(
        &api,
        "PATCH",
        &format!("/Groups/{group_id}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Remove", "path": "members", "value": [{ "value": manager_id }] }] })),
    )
    .await
    .expect(200);
    let renamed = scim(
        &api,
        "PATCH",
        &format!("/Groups/{group_id}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [
            { "op": "Remove", "path": format!("members[value eq \"{id}\"]") },
            { "op": "Replace", "path": "displayName", "value": "Field Operators" },
        ] })),
    )
    .await
    .expect(200);
    assert_eq!(renamed["displayName"], "Field Operators");
    assert_eq!(renamed["members"], json!([]));
    let deleted = scim(&api, "DELETE", &format!("/Groups/{group_id}"), &token, None).await;
    assert_eq!(deleted.status, 204);
    scim_error(
        scim(&api, "GET", &format!("/Groups/{group_id}"), &token, None).await,
        404,
        None,
    );
}

#[tokio::test]
async fn one_organizations_directory_never_reaches_another_organizations_account() {
    let api = TestApi::new().await;
    let home = api.new_organization().await;
    let other = api.new_organization().await;
    let theirs = api.create_user(&other, "pat@shared.example", "Pat").await;
    let token = provisioning_key(&api, &home).await;

    // The email has an account in the other organization: created here exactly as new.
    let created = scim(
        &api,
        "POST",
        "/Users",
        &token,
        Some(json!({ "schemas": [USER], "userName": "pat@shared.example", "displayName": "Pat Here" })),
    )
    .await
    .expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    assert_ne!(id, theirs, "a new account, not the other organization's");
    assert_eq!(created["displayName"], "Pat Here");
    let text = created.to_string();
    assert!(!text.contains(other.id.as_str()) && !text.contains(&theirs));
    // Deactivating and deleting here leaves the other organization's member as it was.
    scim(
        &api,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
    )
    .await
    .expect(200);
    assert_eq!(
        scim(&api, "DELETE", &format!("/Users/{id}"), &token, None).await.status,
        204
    );
    let there = api.get(&format!("/users/{theirs}"), &other.admin_key).await.expect(200);
    assert_eq!(there["status"], "active");
    assert_eq!(there["displayName"], "Pat");
    // Nor can this directory read, change or delete the other organization's member.
    scim_error(
        scim(&api, "GET", &format!("/Users/{theirs}"), &token, None).await,
        404,
        None,
    );
    scim_error(
        scim(
            &api,
            "PUT",
            &format!("/Users/{theirs}"),
            &token,
            Some(json!({ "userName": "x@shared.example" })),
        )
        .await,
        404,
        None,
    );
    scim_error(
        scim(&api, "DELETE", &format!("/Users/{theirs}"), &token, None).await,
        404,
        None,
    );
    let listed = scim(
        &api,
        "GET",
        "/Users?filter=userName eq \"pat@shared.example\"",
        &token,
        None,
    )
    .await
    .expect(200);
    assert_eq!(listed["totalResults"], 0);
}

#[tokio::test]
async fn errors_come_in_scims_shape_and_a_key_acts_only_with_its_permissions() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let token = provisioning_key(&api, &org).await;

    // No bearer token, or the key in X-API-Key: 401 with a challenge.
    let missing = api.call_with_headers("GET", "/scim/v2/Users", None, None, &[]).await;
    assert!(missing.headers.get("www-authenticate").is_some());
    scim_error(missing, 401, None);
    let wrong_header = api
        .call_with_headers("GET", "/scim/v2/Users", Some(&token), None, &[])
        .await;
    scim_error(wrong_header, 401, None);
    scim_error(scim(&api, "GET", "/Users", "key_nope.secret", None).await, 401, None);
    // A read-only key reads and changes nothing.
    let (_, viewer) = api.member_with_key(&org, "viewer@utility.example", &["viewer"]).await;
    scim(&api, "GET", "/Users", &viewer, None).await.expect(200);
    scim_error(
        scim(
            &api,
            "POST",
            "/Users",
            &viewer,
            Some(json!({ "userName": "a@utility.example" })),
        )
        .await,
        403,
        None,
    );

    scim(
        &api,
        "POST",
        "/Users",
        &token,
        Some(json!({ "userName": "dup@utility.example" })),
    )
    .await
    .expect(201);
    scim_error(
        scim(
            &api,
            "POST",
            "/Users",
            &token,
            Some(json!({ "userName": "DUP@utility.example" })),
        )
        .await,
        409,
        Some("uniqueness"),
    );
    scim(&api, "POST", "/Groups", &token, Some(json!({ "displayName": "Crew" })))
        .await
        .expect(201);
    scim_error(
        scim(&api, "POST", "/Groups", &token, Some(json!({ "displayName": "crew" }))).await,
        409,
        Some("uniqueness"),
    );
    for body in [
        json!({ "userName": "not an email" }),
        json!({ "userName": "a@utility.example", "phoneNumbers": [{ "value": "555" }] }),
        json!({ "userName": "a@utility.example", "emails": [{ "value": "b@utility.example" }] }),
        json!({ "displayName": "no userName" }),
    ] {
        scim_error(
            scim(&api, "POST", "/Users", &token, Some(body)).await,
            400,
            Some("invalidValue"),
        );
    }
    let bad_json = api
        .call_with_headers(
            "POST",
            "/scim/v2/Users",
            None,
            Some("{not json"),
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .await;
    scim_error(bad_json, 400, Some("invalidSyntax"));
    for filter in [
        "userName sw \"a\"",
        "userName eq",
        "title pr",
        "userName eq \"a\" or userName eq \"b\"",
    ] {
        scim_error(
            scim(&api, "GET", &format!("/Users?filter={filter}"), &token, None).await,
            400,
            Some("invalidFilter"),
        );
    }
    let user = scim(
        &api,
        "GET",
        "/Users?filter=userName eq \"dup@utility.example\"",
        &token,
        None,
    )
    .await
    .expect(200);
    let id = user["Resources"][0]["id"].as_str().unwrap().to_string();
    scim_error(
        scim(
            &api,
            "PATCH",
            &format!("/Users/{id}"),
            &token,
            Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "nickName", "value": "D" }] })),
        )
        .await,
        400,
        Some("invalidPath"),
    );
    // A read-only attribute: the service's own.
    scim_error(
        scim(
            &api,
            "PATCH",
            &format!("/Users/{id}"),
            &token,
            Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "id", "value": "usr_mine" }] })),
        )
        .await,
        400,
        Some("mutability"),
    );
    scim_error(
        scim(
            &api,
            "PATCH",
            &format!("/Users/{id}"),
            &token,
            Some(json!({ "Operations": [{ "op": "add", "path": "title", "value": "D" }] })),
        )
        .await,
        400,
        Some("invalidSyntax"),
    );
    scim_error(scim(&api, "GET", "/Users/usr_nope", &token, None).await, 404, None);
    scim_error(scim(&api, "GET", "/Schemas/urn:nope", &token, None).await, 404, None);
}

/// What no route serves still answers in SCIM's shape, as a directory's client reads it:
/// another method on a served path is `405` with `Allow`, an unknown path `404`, and what
/// RFC 7644 defines but this service does not offer (`/.search`, `/Bulk`, `/Me`) `501`.
/// None of it takes a key or reads the table.
#[tokio::test]
async fn methods_and_paths_no_route_serves_answer_in_scims_shape() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let token = provisioning_key(&api, &org).await;
    for (method, path, allow) in [
        ("PUT", "/ServiceProviderConfig", "GET"),
        ("POST", "/Schemas", "GET"),
        ("DELETE", "/ResourceTypes/User", "GET"),
        ("DELETE", "/Users", "GET, POST"),
        (
            "POST",
            "/Groups/grp_01hx2m7k3q9v8c6b5n4m3k2j1h",
            "GET, PUT, PATCH, DELETE",
        ),
    ] {
        api.dynamo_calls.reset();
        let answer = scim(&api, method, path, &token, Some(json!({}))).await;
        let allowed = answer
            .headers
            .get("allow")
            .map(|value| value.to_str().unwrap().to_string());
        assert_eq!(content_type(&answer), "application/scim+json");
        scim_error(answer, 405, None);
        assert_eq!(allowed.as_deref(), Some(allow), "{method} {path}");
        assert_eq!(api.dynamo_calls.count(), 0, "{method} {path}");
    }
    for path in ["/Nope", "/Users/usr_01hx2m7k3q9v8c6b5n4m3k2j1h/extra", "/v1/Users"] {
        let body = scim_error(scim(&api, "GET", path, &token, None).await, 404, None);
        assert!(body["detail"].as_str().unwrap().contains(path), "{body}");
    }
    // A query string the route does not know does not turn the 404 into a 400.
    scim_error(scim(&api, "GET", "/Nope?filter=x", &token, None).await, 404, None);
    for (method, path) in [
        ("POST", "/.search"),
        ("POST", "/Users/.search"),
        ("POST", "/Bulk"),
        ("GET", "/Me"),
    ] {
        scim_error(scim(&api, method, path, &token, Some(json!({}))).await, 501, None);
    }
    // Without any key: the same answers (they hold nothing of an organization).
    let anonymous = api
        .call_with_headers("PATCH", "/scim/v2/Schemas", None, Some("{}"), &[])
        .await;
    scim_error(anonymous, 405, None);
}

/// Deprovisioning as CIP-004 R5 needs it: `active: false` stops every key of the person at
/// once, `DELETE` revokes them and ends their groups, each change is an audit event naming
/// the directory's key, and our own rules still refuse (the sole admin, the current CIP
/// Senior Manager) with the reason, in SCIM's shape.
#[tokio::test]
async fn deprovisioning_stops_keys_at_once_and_our_rules_still_refuse_in_scims_shape() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let token = provisioning_key(&api, &org).await;
    let keys = api.get("/api-keys", &org.admin_key).await.expect(200);
    let token_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["name"] == "Okta provisioning")
        .and_then(|key| key["id"].as_str())
        .unwrap()
        .to_string();

    // A person with a key of their own (a script of theirs), in a group.
    let (person, their_key) = api.member_with_key(&org, "leaver@utility.example", &[]).await;
    api.get("/users/me", &their_key).await.expect(200);
    let group = scim(
        &api,
        "POST",
        "/Groups",
        &token,
        Some(json!({ "displayName": "Leavers", "members": [{ "value": person }] })),
    )
    .await
    .expect(201);

    // Deactivated: the key stops at once; the audit event names the directory's key.
    scim(
        &api,
        "PATCH",
        &format!("/Users/{person}"),
        &token,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
    )
    .await
    .expect(200);
    api.get("/users/me", &their_key)
        .await
        .expect_error(401, "unauthenticated");
    let trail = api.audit_trail_of(&org, &person).await;
    assert_eq!(trail[0]["action"], "user.updated");
    assert_eq!(trail[0]["actorApiKeyId"], token_id.as_str(), "{}", trail[0]);

    // Deleted: the key is revoked, the group lets them go, and the events name the key too.
    scim(&api, "DELETE", &format!("/Users/{person}"), &token, None)
        .await
        .expect(204);
    let keys = api.get("/api-keys", &org.admin_key).await.expect(200);
    let theirs: Vec<&Value> = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| key["userId"] == person.as_str())
        .collect();
    // Stopped for good without a write per key (docs/authorization.md): a deleted member
    // is never active again.
    assert!(
        theirs
            .iter()
            .all(|key| key["status"] == "inactive" && key["inactiveReason"].as_str().unwrap().contains("deleted")),
        "every key of theirs stops: {theirs:?}"
    );
    let read = scim(
        &api,
        "GET",
        &format!("/Groups/{}", group["id"].as_str().unwrap()),
        &token,
        None,
    )
    .await
    .expect(200);
    assert_eq!(read["members"], json!([]));
    let trail = api.audit_trail_of(&org, &person).await;
    // Everything since their creation (by the admin, through the REST API) was the directory.
    let since: Vec<&Value> = trail.iter().filter(|event| event["action"] != "user.created").collect();
    assert!(since.len() >= 3, "{trail:?}");
    assert!(
        since.iter().all(|event| event["actorApiKeyId"] == token_id.as_str()),
        "{trail:?}"
    );
    api.get("/users/me", &their_key)
        .await
        .expect_error(401, "unauthenticated");
    // Provisioned again (a rehire): a new member; the old key stays stopped.
    let again = scim(
        &api,
        "POST",
        "/Users",
        &token,
        Some(okta_user("leaver@utility.example", "Leaver", "Again")),
    )
    .await
    .expect(201);
    assert_ne!(again["id"], person.as_str());
    api.get("/users/me", &their_key)
        .await
        .expect_error(401, "unauthenticated");

    // Our rules refuse in SCIM's shape, with the reason: the sole admin (through a key that
    // may manage them: one holding every permission, without being an admin), and the
    // current CIP Senior Manager.
    let admin = api.get("/roles/admin", &org.admin_key).await.expect(200);
    let everything = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Directory sync", "permissions": admin["permissions"] }),
        )
        .await
        .expect(201);
    let (_, full_token) = api
        .member_with_key(&org, "sync@utility.example", &[everything["id"].as_str().unwrap()])
        .await;
    let refused = scim_error(
        scim(&api, "DELETE", &format!("/Users/{}", org.admin_id), &full_token, None).await,
        409,
        None,
    );
    assert!(refused["detail"].as_str().unwrap().contains("admin"), "{refused}");
    let manager = api.create_user(&org, "csm@utility.example", "Senior Manager").await;
    api.post(
        "/cip-senior-manager-assignments",
        &org.admin_key,
        json!({ "userId": manager, "effectiveDate": api.clock().today().to_string() }),
    )
    .await
    .expect(201);
    let refused = scim_error(
        scim(&api, "DELETE", &format!("/Users/{manager}"), &full_token, None).await,
        409,
        None,
    );
    assert!(
        refused["detail"].as_str().unwrap().contains("CIP Senior Manager"),
        "{refused}"
    );
    api.get(&format!("/users/{manager}"), &org.admin_key).await.expect(200);

    // A user the directory sends already inactive is created suspended, in one change.
    let mut inactive = okta_user("contractor@utility.example", "Off", "Boarded");
    inactive["active"] = json!(false);
    let created = scim(&api, "POST", "/Users", &token, Some(inactive)).await.expect(201);
    assert_eq!(created["active"], false);
    let id = created["id"].as_str().unwrap();
    let member = api.get(&format!("/users/{id}"), &org.admin_key).await.expect(200);
    assert_eq!(member["status"], "suspended");
    let trail = api.audit_trail_of(&org, id).await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0]["action"], "user.created");
    assert_eq!(trail[0]["summary"]["suspended"], true);
}
