//! No hot item on routine paths (`docs/access-patterns.md`, "No hot item"): parallel
//! writers of the same kind never write the same item, so on DynamoDB they never conflict
//! with each other. The emulator serialises everything and would never show a conflict;
//! the written keys, counted per request, show the cause instead.

use std::collections::HashMap;

use integration_tests::TestApi;
use serde_json::json;

use crate::training_program::{due_in, id_of, program};

/// Items written by more than one of the requests, with how many wrote each.
fn shared_items(writes_per_request: &[Vec<(String, String)>]) -> Vec<((String, String), usize)> {
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
