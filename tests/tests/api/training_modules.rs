//! Training modules (seed 001): the curriculum.

use integration_tests::{TestApi, TestOrg};
use serde_json::{Value, json};

fn seed_module() -> Value {
    json!({
        "title": "CIP-004 Cyber Security Awareness Training",
        "description": "Annual security awareness training required for all personnel with access to BES Cyber Systems.",
        "cipStandard": "CIP-004",
        "completionIntervalDays": 365,
        "externalModuleUrl": "https://lms.yourcompany.com/courses/cip-004-awareness"
    })
}

async fn create(api: &TestApi, org: &TestOrg, body: Value) -> Value {
    api.post("/training-modules", &org.admin_key, body).await.expect(201)
}

fn keys_of(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn the_seed_sample_creates_a_module_field_for_field() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let created = create(&api, &org, seed_module()).await;
    // Seed 001's response: exactly these fields, and `renewalEnabled` (issue 10).
    assert_eq!(
        keys_of(&created),
        vec![
            "cipStandard",
            "completionIntervalDays",
            "createdAt",
            "description",
            "externalModuleUrl",
            "id",
            "renewalEnabled",
            "title",
            "updatedAt"
        ]
    );
    assert!(created["id"].as_str().unwrap().starts_with("tm_"));
    for field in [
        "title",
        "description",
        "cipStandard",
        "completionIntervalDays",
        "externalModuleUrl",
    ] {
        assert_eq!(created[field], seed_module()[field], "{field}");
    }
    assert_eq!(created["createdAt"], created["updatedAt"]);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        api.get(&format!("/training-modules/{id}"), &org.admin_key)
            .await
            .expect(200),
        created
    );
    let listed = api.get("/training-modules", &org.admin_key).await.expect(200);
    assert_eq!(listed["data"], json!([created]));
    let trail = api.audit_trail_of(&org, id).await;
    assert_eq!(trail[0]["action"], "training_module.created");
    assert_eq!(trail[0]["summary"]["title"], seed_module()["title"]);
}

#[tokio::test]
async fn a_module_is_updated_and_optional_fields_can_be_cleared() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let id = create(&api, &org, seed_module()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let updated = api
        .patch(
            &format!("/training-modules/{id}"),
            &org.admin_key,
            json!({ "title": "CIP-004 Awareness (2026)", "completionIntervalDays": null, "cipStandard": "CIP-004-7" }),
        )
        .await
        .expect(200);
    assert_eq!(updated["title"], "CIP-004 Awareness (2026)");
    assert_eq!(updated["completionIntervalDays"], Value::Null);
    assert_eq!(updated["cipStandard"], "CIP-004-7");
    assert_eq!(updated["description"], seed_module()["description"]);
    let trail = api.audit_trail_of(&org, &id).await;
    assert_eq!(trail[0]["action"], "training_module.updated");
    assert_eq!(
        trail[0]["summary"]["changes"]["completionIntervalDays"],
        json!({ "from": 365, "to": null })
    );
    api.patch(
        &format!("/training-modules/{id}"),
        &org.admin_key,
        json!({ "title": null }),
    )
    .await
    .expect_error(400, "validation_error");
}

#[tokio::test]
async fn bad_module_fields_are_validation_errors_naming_the_field() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for (change, field) in [
        (json!({ "title": " " }), "title"),
        (json!({ "completionIntervalDays": 0 }), "completionIntervalDays"),
        (json!({ "completionIntervalDays": 3651 }), "completionIntervalDays"),
        (json!({ "completionIntervalDays": -5 }), "completionIntervalDays"),
        (json!({ "completionIntervalDays": 1.5 }), "completionIntervalDays"),
        (
            json!({ "externalModuleUrl": "http://lms.example.com/x" }),
            "externalModuleUrl",
        ),
        (
            json!({ "externalModuleUrl": "javascript:alert(1)" }),
            "externalModuleUrl",
        ),
        (json!({ "cipStandard": "CIP 4" }), "cipStandard"),
        (json!({ "audience": "all" }), "audience"),
    ] {
        let mut body = seed_module();
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let refused = api
            .post("/training-modules", &org.admin_key, body)
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], field, "{change}");
    }
    let listed = api.get("/training-modules", &org.admin_key).await.expect(200);
    assert!(listed["data"].as_array().unwrap().is_empty());
    api.get("/training-modules/tm_nope", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
    api.get("/training-modules/tm_01hx2m7k3q9v8c6b5n4m3k2j1h", &org.admin_key)
        .await
        .expect_error(404, "not_found");
    api.get("/training-modules?includeRetired=yes", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn deleting_a_module_without_open_assignments_retires_it_and_keeps_it_readable() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let id = create(&api, &org, seed_module()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let retired = api
        .delete(&format!("/training-modules/{id}"), &org.admin_key)
        .await
        .expect(200);
    assert!(retired["retiredAt"].is_string());
    assert!(
        api.get("/training-modules", &org.admin_key).await.expect(200)["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = api
        .get("/training-modules?includeRetired=true", &org.admin_key)
        .await
        .expect(200);
    assert_eq!(all["data"][0]["id"], id.as_str());
    assert_eq!(
        api.get(&format!("/training-modules/{id}"), &org.admin_key)
            .await
            .expect(200)["retiredAt"],
        retired["retiredAt"]
    );
    api.patch(
        &format!("/training-modules/{id}"),
        &org.admin_key,
        json!({ "title": "Back" }),
    )
    .await
    .expect_error(409, "conflict");
    // Deleting again answers the same final state.
    assert_eq!(
        api.delete(&format!("/training-modules/{id}"), &org.admin_key)
            .await
            .expect(200)["retiredAt"],
        retired["retiredAt"]
    );
    let actions: Vec<Value> = api
        .audit_trail_of(&org, &id)
        .await
        .iter()
        .map(|event| event["action"].clone())
        .collect();
    assert_eq!(
        actions,
        vec![json!("training_module.retired"), json!("training_module.created")]
    );
}

#[tokio::test]
async fn only_training_writers_change_modules_and_other_organizations_see_nothing() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let other = api.new_organization().await;
    let id = create(&api, &org, seed_module()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, viewer) = api.member_with_key(&org, "viewer@utility.example", &["viewer"]).await;
    api.get(&format!("/training-modules/{id}"), &viewer).await.expect(200);
    api.post("/training-modules", &viewer, seed_module())
        .await
        .expect_error(403, "forbidden");
    api.patch(&format!("/training-modules/{id}"), &viewer, json!({ "title": "Mine" }))
        .await
        .expect_error(403, "forbidden");
    api.delete(&format!("/training-modules/{id}"), &viewer)
        .await
        .expect_error(403, "forbidden");
    for response in [
        api.get(&format!("/training-modules/{id}"), &other.admin_key).await,
        api.patch(
            &format!("/training-modules/{id}"),
            &other.admin_key,
            json!({ "title": "X" }),
        )
        .await,
        api.delete(&format!("/training-modules/{id}"), &other.admin_key).await,
    ] {
        response.expect_error(404, "not_found");
    }
    assert!(
        api.get("/training-modules", &other.admin_key).await.expect(200)["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        api.get(&format!("/training-modules/{id}"), &org.admin_key)
            .await
            .expect(200)["title"],
        seed_module()["title"]
    );
}
