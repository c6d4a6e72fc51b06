//! No hot item on routine paths (`docs/access-patterns.md`, "No hot item"): parallel
//! writers of the same kind never write the same item, so on DynamoDB they never conflict
//! with each other. The emulator serialises everything and would never show a conflict;
//! the written keys, counted per request, show the cause instead.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::TestApi;
use serde_json::json;

use crate::training_program::{due_in, id_of, program};

/// Items written by more than one of the requests, with how many wrote each.
pub(crate) fn shared_items(writes_per_request: &[Vec<(String, String)>]) -> Vec<((String, String), usize)> {
    let mut writers: HashMap<(String, String), usize> = HashMap::new();
    for keys in writes_per_request {
        let mut keys = keys.clone();
        keys.sort();
        keys.dedup();
        for key in keys {
            *writers.entry(key).or_default() += 1;
        }
    }
    let mut shared: Vec<_> = writers.into_iter().filter(|(_, count)| *count > 1).collect();
    shared.sort();
    shared
}

#[tokio::test]
async fn fifty_members_given_one_custom_role_write_no_item_in_common() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let role = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Field technician", "permissions": ["training:read"] }),
        )
        .await
        .expect(201);
    let role_id = role["id"].as_str().unwrap();

    let mut creations = Vec::new();
    for n in 0..50 {
        api.dynamo_calls.reset();
        api.post(
            "/users",
            &org.admin_key,
            json!({
                "email": format!("tech{n}@utility.example"),
                "displayName": format!("Technician {n}"),
                "roles": [role_id],
            }),
        )
        .await
        .expect(201);
        creations.push(api.dynamo_calls.written_keys());
    }
    assert!(creations.iter().all(|keys| keys.len() >= 3), "{:?}", creations[0]);
    assert_eq!(shared_items(&creations), vec![], "member creations wrote the same item");

    // The holders are still counted, and still keep the role from being deleted.
    let shown = api.get(&format!("/roles/{role_id}"), &org.admin_key).await.expect(200);
    assert_eq!(shown["memberCount"], 50);
    api.delete(&format!("/roles/{role_id}"), &org.admin_key)
        .await
        .expect_error(409, "conflict");
}

#[tokio::test]
async fn fifty_assignments_of_one_module_at_one_facility_write_no_item_in_common() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let mut people = Vec::new();
    for n in 0..50 {
        people.push(
            api.create_user(&p.org, &format!("t{n}@utility.example"), &format!("Trainee {n}"))
                .await,
        );
    }

    let mut creations = Vec::new();
    let mut ids = Vec::new();
    for person in &people {
        api.dynamo_calls.reset();
        let created = api
            .post(
                "/training-assignments",
                key,
                json!({
                    "userId": person,
                    "trainingModuleId": p.module,
                    "dueDate": due_in(30),
                    "facilityIds": [p.alpha],
                }),
            )
            .await
            .expect(201);
        creations.push(api.dynamo_calls.written_keys());
        ids.push(id_of(&created));
    }
    assert!(creations.iter().all(|keys| keys.len() >= 3), "{:?}", creations[0]);
    assert_eq!(
        shared_items(&creations),
        vec![],
        "assignment creations wrote the same item"
    );

    let mut completions = Vec::new();
    for id in &ids {
        api.dynamo_calls.reset();
        api.post(
            &format!("/training-assignments/{id}/complete"),
            key,
            json!({ "completedAt": "2026-01-05T10:00:00Z" }),
        )
        .await
        .expect(200);
        completions.push(api.dynamo_calls.written_keys());
    }
    assert_eq!(shared_items(&completions), vec![], "completions wrote the same item");

    // With every assignment closed, no link is left: the module retires and the facility
    // goes, as they did when counters guarded them.
    api.delete(&format!("/training-modules/{}", p.module), key)
        .await
        .expect(200);
    api.delete(&format!("/facilities/{}", p.alpha), key).await.expect(200);
}

#[tokio::test]
async fn an_open_assignment_keeps_its_module_and_facility_until_it_closes() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let open = api
        .post(
            "/training-assignments",
            key,
            json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": due_in(30), "facilityIds": [p.alpha, p.beta] }),
        )
        .await
        .expect(201);
    let id = id_of(&open);
    api.delete(&format!("/training-modules/{}", p.module), key)
        .await
        .expect_error(409, "conflict");
    api.delete(&format!("/facilities/{}", p.alpha), key)
        .await
        .expect_error(409, "conflict");
    // A refused retirement lowered its fence: the module still takes new assignments.
    let second = api
        .post(
            "/training-assignments",
            key,
            json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": due_in(60) }),
        )
        .await
        .expect(201);

    // Dropping a facility from the scope releases it; the other stays held.
    api.delete(&format!("/training-assignments/{id}/facilities/{}", p.alpha), key)
        .await
        .expect(200);
    api.delete(&format!("/facilities/{}", p.alpha), key).await.expect(200);
    api.delete(&format!("/facilities/{}", p.beta), key)
        .await
        .expect_error(409, "conflict");

    api.post(
        &format!("/training-assignments/{id}/waive"),
        key,
        json!({ "reason": "Left the program" }),
    )
    .await
    .expect(200);
    api.delete(&format!("/training-assignments/{}", id_of(&second)), key)
        .await
        .expect(200);
    api.delete(&format!("/facilities/{}", p.beta), key).await.expect(200);
    api.delete(&format!("/training-modules/{}", p.module), key)
        .await
        .expect(200);
}

/// Writes a fence straight into the table, as a closing command would: `path` is where,
/// with its name placeholders.
async fn set_fence(api: &TestApi, (pk, sk): (String, String), path: &str, names: &[(&str, &str)], until: i64) {
    let store = api.store();
    let mut update = store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(pk))
        .key("SK", AttributeValue::S(sk))
        .update_expression(format!("SET {path} = :until"))
        .expression_attribute_values(":until", AttributeValue::N(until.to_string()));
    for (placeholder, name) in names {
        update = update.expression_attribute_names(*placeholder, *name);
    }
    update.send().await.expect("set the fence");
}

/// A fence left on a module (a retirement in progress, or one whose function died) keeps
/// new assignments out until it expires; the emulator evaluates the same condition
/// DynamoDB does.
#[tokio::test]
async fn a_fenced_module_takes_no_new_assignment_until_its_fence_expires() {
    let start = raptor_shared::time::Timestamp::parse("t", "2031-03-01T09:00:00Z").unwrap();
    let api = TestApi::new_at(start).await;
    let p = program(&api).await;
    let until = start.millis() + 30_000;
    let module_key = (format!("ORG#{}", p.org.id), format!("TM#{}", p.module));
    set_fence(&api, module_key, "closingUntil", &[], until).await;
    let body = json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": "2031-04-01" });
    let refused = api
        .post("/training-assignments", &p.org.admin_key, body.clone())
        .await
        .expect_error(409, "conflict");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retired meanwhile"),
        "{refused}"
    );

    api.clock().set(raptor_shared::time::Timestamp::from_millis(until + 1));
    api.post("/training-assignments", &p.org.admin_key, body)
        .await
        .expect(201);
}

/// A custom role being deleted (fenced in the roles document) cannot be given to anyone
/// until the fence is lifted or expires.
#[tokio::test]
async fn a_role_being_deleted_is_given_to_nobody() {
    let start = raptor_shared::time::Timestamp::parse("t", "2031-03-01T09:00:00Z").unwrap();
    let api = TestApi::new_at(start).await;
    let org = api.new_organization().await;
    let role = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Dispatcher", "permissions": ["training:read"] }),
        )
        .await
        .expect(201);
    let role_id = role["id"].as_str().unwrap();
    let until = start.millis() + 30_000;
    let document_key = (format!("ORG#{}", org.id), "ROLES".to_string());
    set_fence(
        &api,
        document_key,
        "#roles.#role.closingUntil",
        &[("#roles", "roles"), ("#role", role_id)],
        until,
    )
    .await;
    let body = json!({ "email": "d@utility.example", "displayName": "Dana Dispatcher", "roles": [role_id] });
    let refused = api
        .post("/users", &org.admin_key, body.clone())
        .await
        .expect_error(409, "conflict");
    assert!(
        refused["error"]["message"].as_str().unwrap().contains("being deleted"),
        "{refused}"
    );

    api.clock().set(raptor_shared::time::Timestamp::from_millis(until + 1));
    api.post("/users", &org.admin_key, body).await.expect(201);
}
