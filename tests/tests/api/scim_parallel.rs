//! An identity directory's initial import: many SCIM requests at once in one organization
//! (issue 22, "Provisioning in parallel"). The emulator serialises requests and never
//! raises a conflict, so the written keys show that creations share no item, and the fault
//! proxy answers a share of the calls as DynamoDB does under contention
//! (`TransactionConflict`, `ProvisionedThroughputExceededException`): every request lands
//! once or fails whole with `503` and `Retry-After`, and the directory's retry of those
//! completes the import with nothing lost or doubled.

use std::collections::BTreeSet;

use futures::future::join_all;
use integration_tests::fault_proxy::{Fault, Target, Times};
use integration_tests::{FaultProxy, TestApi, TestResponse};
use serde_json::{Value, json};

use crate::hot_items::shared_items;
use crate::scim::{okta_user, provisioning_key, scim};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PEOPLE: usize = 50;

fn email(n: usize) -> String {
    format!("import{n}@utility.example")
}

fn add_member(user: &str) -> Value {
    json!({
        "schemas": [PATCH],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": user }] }],
    })
}

/// A request that landed (`expected`), or failed whole as a dependency's failure.
#[track_caller]
fn landed_or_unavailable(answer: &TestResponse, expected: u16) -> bool {
    if answer.status == expected {
        return true;
    }
    assert_eq!(answer.status, 503, "neither {expected} nor 503: {}", answer.body);
    // SCIM's error shape, or the REST door's.
    let scim_shape = answer.body["status"] == "503";
    assert!(
        scim_shape || answer.body["error"]["code"] == "unavailable",
        "{}",
        answer.body
    );
    assert!(answer.headers.get("retry-after").is_some(), "503 without Retry-After");
    false
}

#[tokio::test]
async fn creations_share_no_item_and_members_joining_one_group_share_only_the_group() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let token = provisioning_key(&api, &org).await;
    let mut creations = Vec::new();
    let mut users = Vec::new();
    for n in 0..PEOPLE {
        api.dynamo_calls.reset();
        let user = scim(
            &api,
            "POST",
            "/Users",
            &token,
            Some(okta_user(&email(n), "Imported", "Person")),
        )
        .await
        .expect(201);
        creations.push(api.dynamo_calls.written_keys());
        users.push(user["id"].as_str().unwrap().to_string());
    }
    assert!(creations.iter().all(|keys| keys.len() >= 3), "{:?}", creations[0]);
    assert_eq!(shared_items(&creations), vec![], "SCIM creations wrote the same item");

    let group = scim(
        &api,
        "POST",
        "/Groups",
        &token,
        Some(json!({ "displayName": "Import crew" })),
    )
    .await
    .expect(201);
    let group_id = group["id"].as_str().unwrap();
    let mut joins = Vec::new();
    for user in &users {
        api.dynamo_calls.reset();
        scim(
            &api,
            "PATCH",
            &format!("/Groups/{group_id}"),
            &token,
            Some(add_member(user)),
        )
        .await
        .expect(200);
        joins.push(api.dynamo_calls.written_keys());
    }
    // The group's own item counts its version (its ETag moves with its members): the one
    // item membership changes of one group share, by design (docs/groups.md).
    let shared = shared_items(&joins);
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert_eq!(shared[0].0.1, format!("GRP#{group_id}"), "{shared:?}");
    assert_eq!(shared[0].1, PEOPLE);
}

#[tokio::test]
async fn fifty_parallel_creations_role_changes_and_joins_under_contention_land_once_each() {
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    let api = TestApi::through(&proxy).await;
    let org = api.new_organization().await;
    // The admin's key as the directory's token: members given `viewer` below hold more than
    // a `users:read`+`users:write` key, which may then no longer manage them (docs/scim.md).
    let token = org.admin_key.clone();
    let group = scim(
        &api,
        "POST",
        "/Groups",
        &token,
        Some(json!({ "displayName": "Line crew" })),
    )
    .await
    .expect(201);
    let group_id = group["id"].as_str().unwrap().to_string();
    let contention = || {
        proxy.fault(
            Target::DynamoDb("TransactWriteItems"),
            Fault::TransactionConflict(None),
            Times::OneIn(3),
        );
        proxy.fault(Target::AnyDynamoDb, Fault::ThroughputExceeded, Times::OneIn(7));
    };

    // 1. Fifty creations at once; then the directory retries what failed, as it does.
    contention();
    let first = join_all((0..PEOPLE).map(|n| {
        scim(
            &api,
            "POST",
            "/Users",
            &token,
            Some(okta_user(&email(n), "Crew", "Member")),
        )
    }))
    .await;
    let mut to_retry: Vec<usize> = Vec::new();
    for (n, answer) in first.iter().enumerate() {
        if !landed_or_unavailable(answer, 201) {
            to_retry.push(n);
        }
    }
    let faulted = proxy.seen().iter().filter(|seen| seen.fault.is_some()).count();
    assert!(faulted > 0, "the proxy faulted nothing");
    proxy.heal();
    for n in to_retry {
        scim(
            &api,
            "POST",
            "/Users",
            &token,
            Some(okta_user(&email(n), "Crew", "Member")),
        )
        .await
        .expect(201);
    }
    let listed = scim(&api, "GET", "/Users?count=200", &token, None).await.expect(200);
    // Every person once, beside the admin who minted the key.
    assert_eq!(listed["totalResults"], PEOPLE + 1);
    let imported: Vec<&Value> = listed["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|user| user["userName"].as_str().unwrap().starts_with("import"))
        .collect();
    let emails: BTreeSet<&str> = imported.iter().map(|user| user["userName"].as_str().unwrap()).collect();
    assert_eq!(
        emails,
        (0..PEOPLE)
            .map(email)
            .collect::<BTreeSet<_>>()
            .iter()
            .map(String::as_str)
            .collect()
    );
    let users: Vec<String> = imported
        .iter()
        .map(|user| user["id"].as_str().unwrap().to_string())
        .collect();
    for user in &users {
        assert_eq!(
            api.audit_trail_of(&org, user).await.len(),
            1,
            "{user}: one user.created"
        );
    }

    // 2. Fifty role changes at once (the REST door: SCIM carries no roles), and fifty joins
    // of one group, each retried after a 503 until it lands.
    contention();
    let (api_ref, admin_key) = (&api, org.admin_key.as_str());
    let roles = join_all(users.iter().map(|user| async move {
        let path = format!("/users/{user}/roles");
        api_ref.post(&path, admin_key, json!({ "roleId": "viewer" })).await
    }))
    .await;
    let group_path = format!("/Groups/{group_id}");
    let joins = join_all(
        users
            .iter()
            .map(|user| scim(&api, "PATCH", &group_path, &token, Some(add_member(user)))),
    )
    .await;
    let roles_to_retry: Vec<&String> = users
        .iter()
        .zip(&roles)
        .filter(|(_, answer)| !landed_or_unavailable(answer, 200))
        .map(|(user, _)| user)
        .collect();
    let joins_to_retry: Vec<&String> = users
        .iter()
        .zip(&joins)
        .filter(|(_, answer)| !landed_or_unavailable(answer, 200))
        .map(|(user, _)| user)
        .collect();
    proxy.heal();
    for user in roles_to_retry {
        api.post(
            &format!("/users/{user}/roles"),
            &org.admin_key,
            json!({ "roleId": "viewer" }),
        )
        .await
        .expect(200);
    }
    for user in joins_to_retry {
        scim(
            &api,
            "PATCH",
            &format!("/Groups/{group_id}"),
            &token,
            Some(add_member(user)),
        )
        .await
        .expect(200);
    }

    let group = scim(&api, "GET", &format!("/Groups/{group_id}"), &token, None)
        .await
        .expect(200);
    let members: BTreeSet<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, users.iter().map(String::as_str).collect::<BTreeSet<_>>());
    for user in &users {
        let shown = api.get(&format!("/users/{user}"), &org.admin_key).await.expect(200);
        assert_eq!(shown["roles"], json!(["viewer"]), "{user}");
        assert_eq!(shown["groupIds"], json!([group_id]), "{user}");
    }
}
