//! DynamoDB round trips per operation, authentication included: every route of the route
//! table is called once on its success path and its calls are counted by the SDK
//! interceptor. The figures are the table in `docs/round-trips.md`; a route that costs
//! more (or less) than written there fails this test, and a route the test does not
//! call fails it too. `RAPTOR_WRITE_ROUND_TRIPS=1 scripts/test round_trips` rewrites the
//! table after a deliberate change.

use std::collections::BTreeMap;

use integration_tests::fault_proxy::{Fault, Target, Times};
use integration_tests::webhooks::Receiver;
use integration_tests::{FaultProxy, TestApi, TestOrg, TestResponse};
use raptor_shared::api_reference;
use raptor_shared::ids::UserId;
use raptor_shared::routes::{self, ROUTES};
use serde_json::{Value, json};

const TABLE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/round-trips.md");
const TABLE_START: &str = "| operation | route | DynamoDB calls |";

/// The DynamoDB calls that change the table.
const DYNAMODB_WRITES: [&str; 5] = [
    "DynamoDB.TransactWriteItems",
    "DynamoDB.PutItem",
    "DynamoDB.UpdateItem",
    "DynamoDB.DeleteItem",
    "DynamoDB.BatchWriteItem",
];

/// The deletes that raise a fence before they look for what still refers to the record.
const FENCED_FIRST: [&str; 3] = ["deleteRole", "deleteFacility", "deleteTrainingModule"];

/// Calls routes and keeps the DynamoDB calls each one made, by operation id.
struct Meter<'a> {
    api: &'a TestApi,
    key: String,
    measured: BTreeMap<&'static str, usize>,
    /// Calls each route first with its last DynamoDB call failing for good (the clean
    /// walk's counts say which call that is), expecting `503` and nothing written.
    fail_last_call_first: Option<(&'a FaultProxy, &'a BTreeMap<&'static str, usize>)>,
    /// The routes that answered `503` to that first call.
    failed_first: Vec<&'static str>,
}

impl Meter<'_> {
    async fn call(&mut self, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
        let key = self.key.clone();
        self.call_as(method, path, Some(&key), body, status).await
    }

    async fn call_as(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let raw_path = path.split_once('?').map_or(path, |(raw, _)| raw);
        let route = routes::match_path(method, raw_path).unwrap_or_else(|| panic!("no route for {method} {path}"));
        if let Some((proxy, clean_calls)) = self.fail_last_call_first {
            let calls = clean_calls.get(route.route.operation_id).copied().unwrap_or_default();
            if calls > 0 {
                proxy.forget_seen();
                proxy.fault(Target::AnyDynamoDb, Fault::InternalServerError, Times::After(calls - 1));
                let failed = Box::pin(send(self.api, method, path, key, body.clone())).await;
                proxy.heal();
                let landed = proxy
                    .seen()
                    .into_iter()
                    .filter(|seen| seen.fault.is_none() && DYNAMODB_WRITES.contains(&seen.call.as_str()))
                    .count();
                // A closing delete raises its fence first (`store::links`), which expires by
                // itself when it cannot be lowered; nothing else may land.
                let allowed = usize::from(FENCED_FIRST.contains(&route.route.operation_id));
                assert!(
                    landed <= allowed,
                    "{method} {path}: {landed} write(s) landed before the call that failed"
                );
                let retry_after = failed.headers.get("retry-after").cloned();
                if path.starts_with("/scim/") {
                    // SCIM's error shape (RFC 7644 §3.12).
                    assert_eq!(failed.status, 503, "{method} {path}: {}", failed.body);
                    assert_eq!(failed.body["status"], "503", "{method} {path}");
                } else {
                    failed.expect_error(503, "unavailable");
                }
                assert!(retry_after.is_some(), "{method} {path}: 503 without Retry-After");
                self.failed_first.push(route.route.operation_id);
            }
        }
        self.api.dynamo_calls.reset();
        // Boxed: the handlers' futures are large, and this test awaits some fifty of them.
        let answer = Box::pin(send(self.api, method, path, key, body)).await.expect(status);
        let calls = self.api.dynamo_calls.count();
        let operation = route.route.operation_id;
        assert!(
            self.measured.insert(operation, calls).is_none(),
            "{operation} measured twice"
        );
        answer
    }
}

/// A call as its client sends it: the xAPI door's with the version header LRS clients send.
/// The SCIM door's with its key as a bearer token, as identity directories send it.
async fn send(api: &TestApi, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> TestResponse {
    if path.starts_with("/scim/") {
        let body = body.map(|body| body.to_string());
        let bearer = key.map(|key| format!("Bearer {key}"));
        let headers: Vec<(&str, &str)> = bearer.iter().map(|bearer| ("Authorization", bearer.as_str())).collect();
        api.call_with_headers(method, path, None, body.as_deref(), &headers)
            .await
    } else if path.starts_with("/xapi/") {
        let body = body.map(|body| body.to_string());
        api.call_with_headers(
            method,
            path,
            key,
            body.as_deref(),
            &[("X-Experience-API-Version", "1.0.3")],
        )
        .await
    } else {
        api.call(method, path, key, body).await
    }
}

fn id(object: &Value) -> String {
    object["id"].as_str().expect("an id").to_string()
}

/// The documented figures: operation id → calls.
fn documented() -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(TABLE_PATH).unwrap_or_default();
    text.lines()
        .skip_while(|line| *line != TABLE_START)
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let operation = cells.get(1)?.trim_matches('`').to_string();
            Some((operation, cells.get(3)?.parse().ok()?))
        })
        .collect()
}

fn table(measured: &BTreeMap<&'static str, usize>) -> String {
    let mut text = String::from(
        "# DynamoDB round trips per operation\n\n\
         Each route's DynamoDB calls on its success path, authentication (2 calls: the key, then\n\
         the member, the creator and the roles document in one BatchGetItem) included.\n\
         Generated and enforced by `tests/tests/api/round_trips.rs`: a route that makes more or\n\
         fewer calls than written here fails the test suite. After a deliberate change, rewrite\n\
         the table with `RAPTOR_WRITE_ROUND_TRIPS=1 scripts/test round_trips` and say why in the\n\
         commit. A transaction (TransactWriteItems) is one call however many items it writes.\n\
         The invitation routes also make one SES call per email sent. A POST with an\n\
         `Idempotency-Key` makes 2 more (the claim and the kept response; docs/idempotency.md).\n\n",
    );
    text.push_str(TABLE_START);
    text.push_str("\n|---|---|---|\n");
    for route in ROUTES {
        let calls = measured.get(route.operation_id).copied().unwrap_or_default();
        text.push_str(&format!(
            "| `{}` | `{} {}` | {calls} |\n",
            route.operation_id, route.method, route.path
        ));
    }
    text
}

/// Calls every route of the route table once on its success path, each answered with the
/// status it must have; the DynamoDB calls of each, by operation id.
pub(crate) async fn walk_every_route(api: &TestApi, org: &TestOrg) -> BTreeMap<&'static str, usize> {
    walk(api, org, None).await.measured
}

async fn walk<'a>(
    api: &'a TestApi,
    org: &TestOrg,
    fail_last_call_first: Option<(&'a FaultProxy, &'a BTreeMap<&'static str, usize>)>,
) -> Meter<'a> {
    let mut meter = Meter {
        api,
        key: org.admin_key.clone(),
        measured: BTreeMap::new(),
        fail_last_call_first,
        failed_first: Vec::new(),
    };
    let m = &mut meter;

    // Users, roles, keys.
    m.call("GET", "/users/me", None, 200).await;
    m.call("GET", "/users/me/organizations", None, 200).await;
    m.call("GET", "/users/me/check-access?permission=users:read", None, 200)
        .await;
    let role = m
        .call(
            "POST",
            "/roles",
            Some(json!({ "name": "Auditors", "permissions": ["users:read"] })),
            201,
        )
        .await;
    let role = id(&role);
    m.call("GET", "/roles", None, 200).await;
    m.call("GET", &format!("/roles/{role}"), None, 200).await;
    m.call(
        "PATCH",
        &format!("/roles/{role}"),
        Some(json!({ "description": "External auditors" })),
        200,
    )
    .await;
    let user = m
        .call(
            "POST",
            "/users",
            Some(json!({ "email": "rt@utility.example", "displayName": "Rita Trip", "roles": ["developer", role] })),
            201,
        )
        .await;
    let user = id(&user);
    m.call("GET", "/users", None, 200).await;
    m.call("GET", "/users/export", None, 200).await;
    m.call("GET", &format!("/users/{user}"), None, 200).await;
    m.call(
        "PATCH",
        &format!("/users/{user}"),
        Some(json!({ "title": "Engineer" })),
        200,
    )
    .await;
    m.call(
        "POST",
        &format!("/users/{user}/roles"),
        Some(json!({ "roleId": "auditor" })),
        200,
    )
    .await;
    m.call("DELETE", &format!("/users/{user}/roles/auditor"), None, 200)
        .await;
    let key = m
        .call(
            "POST",
            "/api-keys",
            Some(json!({ "name": "Rita's LMS sync", "userId": user })),
            201,
        )
        .await;
    m.call("GET", "/api-keys", None, 200).await;
    m.call("DELETE", &format!("/api-keys/{}", id(&key)), None, 200).await;

    // CIP Senior Manager.
    let designation = m
        .call(
            "POST",
            "/cip-senior-manager-assignments",
            Some(json!({ "userId": org.admin_id, "effectiveDate": "2025-01-01" })),
            201,
        )
        .await;
    let designation = id(&designation);
    m.call("GET", "/cip-senior-manager-assignments", None, 200).await;
    m.call("GET", "/cip-senior-manager-assignments/current", None, 200)
        .await;
    m.call(
        "GET",
        &format!("/cip-senior-manager-assignments/{designation}"),
        None,
        200,
    )
    .await;
    m.call(
        "PATCH",
        &format!("/cip-senior-manager-assignments/{designation}"),
        Some(json!({ "effectiveDate": "2025-01-02" })),
        200,
    )
    .await;

    // Facilities and modules.
    let alpha = m
        .call(
            "POST",
            "/facilities",
            Some(json!({ "name": "Substation Alpha", "impactRating": "high" })),
            201,
        )
        .await;
    let alpha = id(&alpha);
    let beta = id(&api
        .post("/facilities", &org.admin_key, json!({ "name": "Substation Beta" }))
        .await
        .expect(201));
    m.call("GET", "/facilities", None, 200).await;
    m.call("GET", &format!("/facilities/{alpha}"), None, 200).await;
    // The facilities the member is authorised for.
    m.call(
        "POST",
        &format!("/users/{user}/facilities"),
        Some(json!({ "facilityIds": [alpha, beta] })),
        200,
    )
    .await;
    m.call("GET", &format!("/users/{user}/facilities"), None, 200).await;
    m.call("GET", &format!("/facilities/{alpha}/members"), None, 200).await;
    m.call("DELETE", &format!("/users/{user}/facilities/{beta}"), None, 200)
        .await;
    m.call(
        "PATCH",
        &format!("/facilities/{alpha}"),
        Some(json!({ "externalId": "SUB-A" })),
        200,
    )
    .await;
    let module = m
        .call(
            "POST",
            "/training-modules",
            Some(json!({ "title": "CIP-004 Awareness", "completionIntervalDays": 365 })),
            201,
        )
        .await;
    let module = id(&module);
    m.call("GET", "/training-modules", None, 200).await;
    m.call("GET", &format!("/training-modules/{module}"), None, 200).await;
    m.call(
        "PATCH",
        &format!("/training-modules/{module}"),
        Some(json!({ "cipStandard": "CIP-004" })),
        200,
    )
    .await;

    // Training assignments.
    let assign =
        || json!({ "userId": user, "trainingModuleId": module, "dueDate": "2999-12-31", "facilityIds": [alpha] });
    let assignment = m.call("POST", "/training-assignments", Some(assign()), 201).await;
    let assignment = id(&assignment);
    let path = format!("/training-assignments/{assignment}");
    m.call("GET", "/training-assignments", None, 200).await;
    m.call("GET", "/training-assignments/export", None, 200).await;
    m.call("GET", &path, None, 200).await;
    m.call("PATCH", &path, Some(json!({ "notes": "Annual" })), 200).await;
    m.call("GET", &format!("{path}/facilities"), None, 200).await;
    m.call(
        "POST",
        &format!("{path}/facilities"),
        Some(json!({ "facilityIds": [beta] })),
        200,
    )
    .await;
    m.call("DELETE", &format!("{path}/facilities/{beta}"), None, 200).await;
    m.call("POST", &format!("{path}/start"), None, 200).await;
    m.call("POST", &format!("{path}/complete"), Some(json!({ "score": 90 })), 200)
        .await;
    let waived = id(&api
        .post("/training-assignments", &org.admin_key, assign())
        .await
        .expect(201));
    m.call(
        "POST",
        &format!("/training-assignments/{waived}/waive"),
        Some(json!({ "reason": "Role changed before access" })),
        200,
    )
    .await;
    let mistaken = id(&api
        .post("/training-assignments", &org.admin_key, assign())
        .await
        .expect(201));
    m.call("DELETE", &format!("/training-assignments/{mistaken}"), None, 200)
        .await;
    m.call(
        "GET",
        &format!("/users/{user}/training-status?facilityId={alpha}"),
        None,
        200,
    )
    .await;
    // Training requirements, and the gaps they leave.
    let requirement = id(&m
        .call(
            "POST",
            "/training-requirements",
            Some(json!({ "trainingModuleId": module, "appliesTo": { "facilityIds": [alpha] }, "dueWithinDays": 30 })),
            201,
        )
        .await);
    m.call("GET", "/training-requirements", None, 200).await;
    m.call("GET", &format!("/training-requirements/{requirement}"), None, 200)
        .await;
    m.call(
        "PATCH",
        &format!("/training-requirements/{requirement}"),
        Some(json!({ "beforeAccess": true })),
        200,
    )
    .await;
    m.call(
        "GET",
        &format!("/training-requirements/gaps?facilityId={alpha}"),
        None,
        200,
    )
    .await;
    m.call("DELETE", &format!("/training-requirements/{requirement}"), None, 200)
        .await;
    m.call("DELETE", &format!("/facilities/{beta}"), None, 200).await;
    let spare = id(&api
        .post("/training-modules", &org.admin_key, json!({ "title": "Spare" }))
        .await
        .expect(201));
    m.call("DELETE", &format!("/training-modules/{spare}"), None, 200).await;

    // Invitations: by email, then without, for the invitee's two routes.
    let email = format!("rt-{}@utility.example", UserId::new().as_str());
    let invitation = m
        .call("POST", "/invitations", Some(json!({ "email": email })), 201)
        .await;
    let invitation = id(&invitation);
    m.call("GET", "/invitations", None, 200).await;
    m.call("POST", &format!("/invitations/{invitation}/resend"), None, 200)
        .await;
    m.call("DELETE", &format!("/invitations/{invitation}"), None, 200).await;
    let direct = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "email": format!("direct-{email}"), "sendEmail": false }),
        )
        .await
        .expect(201);
    let token = direct["token"].as_str().expect("a token").to_string();
    m.call_as("GET", &format!("/invitations/validate?token={token}"), None, None, 200)
        .await;
    m.call_as(
        "POST",
        "/invitations/accept",
        None,
        Some(json!({ "token": token, "displayName": "Dee Rect" })),
        201,
    )
    .await;

    m.call_as("GET", "/openapi.json", None, None, 200).await;
    m.call_as("GET", "/docs", None, None, 200).await;
    m.call_as("GET", api_reference::SCRIPT_PATH, None, None, 200).await;
    m.call("GET", &format!("/audit-events?targetId={user}"), None, 200)
        .await;
    m.call("GET", "/audit-events/digests", None, 200).await;
    m.call("GET", "/audit-events/verify", None, 200).await;
    m.call("GET", "/audit-events/public-key", None, 200).await;
    let today = api.clock().today().to_string();
    let package = m
        .call(
            "POST",
            "/evidence-packages",
            Some(json!({ "asOf": today, "from": today, "to": today, "sample": { "userIds": [user] } })),
            202,
        )
        .await;
    m.call("GET", "/evidence-packages", None, 200).await;
    m.call("GET", &format!("/evidence-packages/{}", id(&package)), None, 200)
        .await;
    // xAPI: a completion, then a start of the member's second open assignment of the module.
    let course = "https://lms.example.com/courses/rt";
    let lms_module = id(&api
        .post(
            "/training-modules",
            &org.admin_key,
            json!({ "title": "LMS course", "completionIntervalDays": 365, "externalModuleUrl": course }),
        )
        .await
        .expect(201));
    for due in ["2999-12-30", "2999-12-31"] {
        api.post(
            "/training-assignments",
            &org.admin_key,
            json!({ "userId": user, "trainingModuleId": lms_module, "dueDate": due }),
        )
        .await
        .expect(201);
    }
    let statement = |verb: &str| {
        json!({
            "actor": { "mbox": "mailto:rt@utility.example" },
            "verb": { "id": format!("http://adlnet.gov/expapi/verbs/{verb}") },
            "object": { "id": course },
            "result": { "score": { "scaled": 0.9 } }
        })
    };
    let ids = m
        .call("POST", "/xapi/statements", Some(statement("completed")), 200)
        .await;
    m.call(
        "PUT",
        "/xapi/statements?statementId=6e41c918-b88b-4b20-a0a5-a4c32391aaa0",
        Some(statement("launched")),
        204,
    )
    .await;
    m.call(
        "GET",
        &format!("/xapi/statements?statementId={}", ids[0].as_str().expect("an id")),
        None,
        200,
    )
    .await;
    m.call_as("GET", "/xapi/about", None, None, 200).await;

    // Webhooks: an endpoint on a receiver here, a change it wants delivered through the
    // stream, the dispatcher, the queue and the sender, then that delivery resent.
    let receiver = Receiver::start().await;
    let endpoint = id(&m
        .call(
            "POST",
            "/webhook-endpoints",
            Some(json!({ "url": receiver.url("/rt"), "eventTypes": ["user.updated"] })),
            201,
        )
        .await);
    m.call("GET", "/webhook-endpoints", None, 200).await;
    m.call("GET", &format!("/webhook-endpoints/{endpoint}"), None, 200)
        .await;
    m.call(
        "PATCH",
        &format!("/webhook-endpoints/{endpoint}"),
        Some(json!({ "description": "round trips" })),
        200,
    )
    .await;
    m.call(
        "POST",
        &format!("/webhook-endpoints/{endpoint}/rotate-secret"),
        Some(json!({})),
        200,
    )
    .await;
    api.patch(
        &format!("/users/{user}"),
        &org.admin_key,
        json!({ "displayName": "Round Trip" }),
    )
    .await
    .expect(200);
    api.run_webhooks().await;
    let deliveries = m
        .call("GET", &format!("/webhook-endpoints/{endpoint}/deliveries"), None, 200)
        .await;
    let event = deliveries["data"][0]["eventId"]
        .as_str()
        .expect("a delivery")
        .to_string();
    m.call(
        "POST",
        &format!("/webhook-endpoints/{endpoint}/deliveries/{event}/resend"),
        Some(json!({})),
        202,
    )
    .await;
    m.call("DELETE", &format!("/webhook-endpoints/{endpoint}"), None, 204)
        .await;

    // SCIM: discovery (no key), then a user and a group through their lives, as an
    // identity directory drives them.
    for path in [
        "/scim/v2/ServiceProviderConfig".to_string(),
        "/scim/v2/ResourceTypes".to_string(),
        "/scim/v2/ResourceTypes/User".to_string(),
        "/scim/v2/Schemas".to_string(),
        "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User".to_string(),
    ] {
        m.call_as("GET", &path, None, None, 200).await;
    }
    m.call_as("PUT", "/scim/v2/ServiceProviderConfig", None, None, 405)
        .await;
    let scim_email = format!("scim-{}@utility.example", UserId::new().as_str());
    let scim_user = id(&m
        .call(
            "POST",
            "/scim/v2/Users",
            Some(json!({ "userName": scim_email, "displayName": "Scim Person" })),
            201,
        )
        .await);
    m.call(
        "GET",
        &format!("/scim/v2/Users?filter=userName eq \"{scim_email}\""),
        None,
        200,
    )
    .await;
    m.call("GET", &format!("/scim/v2/Users/{scim_user}"), None, 200).await;
    m.call(
        "PUT",
        &format!("/scim/v2/Users/{scim_user}"),
        Some(json!({ "userName": scim_email, "displayName": "Scim Person", "title": "Operator" })),
        200,
    )
    .await;
    m.call(
        "PATCH",
        &format!("/scim/v2/Users/{scim_user}"),
        Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
        200,
    )
    .await;
    let scim_group = id(&m
        .call(
            "POST",
            "/scim/v2/Groups",
            Some(json!({ "displayName": "Scim Crew", "members": [{ "value": scim_user }] })),
            201,
        )
        .await);
    m.call("GET", "/scim/v2/Groups?filter=displayName eq \"Scim Crew\"", None, 200)
        .await;
    m.call("GET", &format!("/scim/v2/Groups/{scim_group}"), None, 200).await;
    m.call(
        "PATCH",
        &format!("/scim/v2/Groups/{scim_group}"),
        Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "remove", "path": format!("members[value eq \"{scim_user}\"]") }] })),
        200,
    )
    .await;
    m.call(
        "PUT",
        &format!("/scim/v2/Groups/{scim_group}"),
        Some(json!({ "displayName": "Scim Crew, renamed", "members": [] })),
        200,
    )
    .await;
    m.call("DELETE", &format!("/scim/v2/Groups/{scim_group}"), None, 204)
        .await;
    m.call("DELETE", &format!("/scim/v2/Users/{scim_user}"), None, 204)
        .await;

    // Groups: made with a member, changed, emptied, filled and deleted.
    let group = id(&m
        .call(
            "POST",
            "/groups",
            Some(json!({ "displayName": "Round trips", "roles": ["viewer"], "userIds": [user] })),
            201,
        )
        .await);
    m.call("GET", "/groups", None, 200).await;
    m.call("GET", &format!("/groups/{group}"), None, 200).await;
    m.call(
        "PATCH",
        &format!("/groups/{group}"),
        Some(json!({ "displayName": "Round trips, renamed" })),
        200,
    )
    .await;
    m.call("GET", &format!("/groups/{group}/members"), None, 200).await;
    m.call("DELETE", &format!("/groups/{group}/members/{user}"), None, 200)
        .await;
    m.call(
        "POST",
        &format!("/groups/{group}/members"),
        Some(json!({ "userIds": [user] })),
        200,
    )
    .await;
    m.call("DELETE", &format!("/groups/{group}"), None, 200).await;

    m.call("DELETE", &format!("/users/{user}"), None, 200).await;
    m.call("DELETE", &format!("/roles/{role}"), None, 200).await;

    meter
}

#[tokio::test]
async fn every_route_makes_no_more_dynamodb_calls_than_documented() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let measured = walk_every_route(&api, &org).await;
    let unmeasured: Vec<&str> = ROUTES
        .iter()
        .map(|route| route.operation_id)
        .filter(|operation| !measured.contains_key(operation))
        .collect();
    assert!(unmeasured.is_empty(), "routes this test does not call: {unmeasured:?}");

    if std::env::var_os("RAPTOR_WRITE_ROUND_TRIPS").is_some() {
        std::fs::write(TABLE_PATH, table(&measured)).expect("write docs/round-trips.md");
    }
    let documented = documented();
    let mut wrong = Vec::new();
    for (operation, calls) in &measured {
        match documented.get(*operation) {
            Some(expected) if expected == calls => {}
            Some(expected) => wrong.push(format!("{operation}: {calls} calls, documented {expected}")),
            None => wrong.push(format!("{operation}: {calls} calls, not documented")),
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/round-trips.md is not what the routes do (rewrite it with RAPTOR_WRITE_ROUND_TRIPS=1 after a deliberate change): {wrong:#?}"
    );
    assert_eq!(
        documented.len(),
        ROUTES.len(),
        "docs/round-trips.md lists routes that do not exist"
    );
}

/// Every audit event of the organization, page after page.
async fn audit_actions(api: &TestApi, org: &TestOrg) -> Vec<String> {
    let mut actions = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/audit-events?limit=100&cursor={cursor}"),
            None => "/audit-events?limit=100".to_string(),
        };
        let page = api.get(&path, &org.admin_key).await.expect(200);
        for event in page["data"].as_array().unwrap() {
            actions.push(event["action"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    actions.sort();
    actions
}

#[tokio::test]
async fn every_route_answers_as_it_should_through_faults_that_clear() {
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    let api = TestApi::through(&proxy).await;
    let clean = api.new_organization().await;
    walk_every_route(&api, &clean).await;
    let faulted = api.new_organization().await;
    proxy.forget_seen();
    // One rule per call, the first that matches: every third transaction conflicts, every
    // third read is throttled, every other email is throttled; the retries get through.
    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::TransactionConflict(None),
        Times::OneIn(3),
    );
    proxy.fault(Target::AnyDynamoDb, Fault::ThroughputExceeded, Times::OneIn(3));
    proxy.fault(Target::Ses("SendEmail"), Fault::SesThrottling, Times::OneIn(2));
    walk_every_route(&api, &faulted).await;
    proxy.heal();
    assert!(
        proxy.faults_injected() >= 20,
        "faults injected: {}",
        proxy.faults_injected()
    );
    // Each change recorded exactly once, as in the run without faults.
    assert_eq!(audit_actions(&api, &faulted).await, audit_actions(&api, &clean).await);
}

#[tokio::test]
async fn every_route_whose_last_call_fails_for_good_answers_503_and_writes_nothing() {
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    let api = TestApi::through(&proxy).await;
    let clean = api.new_organization().await;
    let clean_calls = walk_every_route(&api, &clean).await;
    // Each route is called first with its last call (the commit after the reads, or the
    // last read) failing through every retry, then again with the fault healed.
    let faulted = api.new_organization().await;
    let failed_first = walk(&api, &faulted, Some((&proxy, &clean_calls))).await.failed_first;
    let touching_the_table = clean_calls.values().filter(|calls| **calls > 0).count();
    assert_eq!(failed_first.len(), touching_the_table, "{failed_first:?}");
    // The failed calls left no trace: the trail is the clean walk's, change for change.
    assert_eq!(audit_actions(&api, &faulted).await, audit_actions(&api, &clean).await);
}
