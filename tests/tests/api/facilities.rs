//! Facilities: the sites training assignments are scoped to.

use integration_tests::{TestApi, TestOrg};
use serde_json::{Value, json};

async fn create(api: &TestApi, org: &TestOrg, body: Value) -> Value {
    api.post("/facilities", &org.admin_key, body).await.expect(201)
}

fn names(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|facility| facility["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_facility_is_created_read_renamed_and_soft_deleted_with_an_audit_trail() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let alpha = create(
        &api,
        &org,
        json!({ "name": "Substation Alpha", "impactRating": "high", "externalId": "SUB-001" }),
    )
    .await;
    let id = alpha["id"].as_str().unwrap();
    assert!(id.starts_with("fac_"));
    assert_eq!(alpha["name"], "Substation Alpha");
    assert_eq!(alpha["impactRating"], "high");
    assert_eq!(alpha["externalId"], "SUB-001");
    assert_eq!(alpha["deletedAt"], Value::Null);
    assert_eq!(
        api.get(&format!("/facilities/{id}"), &org.admin_key).await.expect(200),
        alpha
    );

    let renamed = api
        .patch(
            &format!("/facilities/{id}"),
            &org.admin_key,
            json!({ "name": "Substation Alpha North", "impactRating": null }),
        )
        .await
        .expect(200);
    assert_eq!(renamed["name"], "Substation Alpha North");
    assert_eq!(renamed["impactRating"], Value::Null);
    assert_eq!(renamed["externalId"], "SUB-001");
    // The old name is free again; the new one is taken.
    create(&api, &org, json!({ "name": "substation alpha" })).await;

    let deleted = api
        .delete(&format!("/facilities/{id}"), &org.admin_key)
        .await
        .expect(200);
    assert!(deleted["deletedAt"].is_string());
    assert_eq!(
        api.get(&format!("/facilities/{id}"), &org.admin_key).await.expect(200)["deletedAt"],
        deleted["deletedAt"]
    );
    api.patch(&format!("/facilities/{id}"), &org.admin_key, json!({ "name": "Back" }))
        .await
        .expect_error(409, "conflict");
    let listed = api.get("/facilities", &org.admin_key).await.expect(200);
    assert_eq!(names(&listed), vec!["substation alpha"]);
    // A deleted facility's name can be used again.
    create(&api, &org, json!({ "name": "Substation Alpha North" })).await;

    let trail = api.audit_trail_of(&org, id).await;
    let actions: Vec<&str> = trail.iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec!["facility.deleted", "facility.updated", "facility.created"]
    );
    assert_eq!(trail[1]["summary"]["changes"]["name"]["from"], "Substation Alpha");
}

#[tokio::test]
async fn names_are_unique_in_an_organization_ignoring_case_but_not_across_organizations() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let other = api.new_organization().await;
    create(&api, &org, json!({ "name": "Control Centre" })).await;
    let refused = api
        .post("/facilities", &org.admin_key, json!({ "name": "  CONTROL centre " }))
        .await
        .expect_error(409, "conflict");
    assert!(refused["error"]["message"].as_str().unwrap().contains("CONTROL centre"));
    let beta = create(&api, &org, json!({ "name": "Beta" })).await;
    api.patch(
        &format!("/facilities/{}", beta["id"].as_str().unwrap()),
        &org.admin_key,
        json!({ "name": "control CENTRE" }),
    )
    .await
    .expect_error(409, "conflict");
    // Renaming to a different case of its own name is allowed.
    let recased = api
        .patch(
            &format!("/facilities/{}", beta["id"].as_str().unwrap()),
            &org.admin_key,
            json!({ "name": "BETA" }),
        )
        .await
        .expect(200);
    assert_eq!(recased["name"], "BETA");
    create(&api, &other, json!({ "name": "Control Centre" })).await;
}

#[tokio::test]
async fn bad_input_is_a_validation_error_naming_the_field() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "   " }), "name"),
        (json!({ "name": "x".repeat(201) }), "name"),
        (json!({ "name": "A", "impactRating": "critical" }), "impactRating"),
        (json!({ "name": "A", "site": "typo" }), "site"),
        (json!({ "name": null }), "name"),
        (json!({ "name": "A\u{202e}B" }), "name"),
    ] {
        let refused = api
            .post("/facilities", &org.admin_key, body.clone())
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], field, "{body}");
    }
    let id = create(&api, &org, json!({ "name": "A" })).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = api
        .patch(&format!("/facilities/{id}"), &org.admin_key, json!({ "name": null }))
        .await
        .expect_error(400, "validation_error");
    assert_eq!(refused["error"]["field"], "name");
    api.get("/facilities/fac_nope", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
    api.get("/facilities/fac_01hx2m7k3q9v8c6b5n4m3k2j1h", &org.admin_key)
        .await
        .expect_error(404, "not_found");
    api.get("/facilities?sort=name", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn a_viewer_reads_facilities_and_only_training_writers_change_them() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let id = create(&api, &org, json!({ "name": "Substation Gamma" })).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, viewer) = api.member_with_key(&org, "viewer@utility.example", &["viewer"]).await;
    api.get(&format!("/facilities/{id}"), &viewer).await.expect(200);
    api.get("/facilities", &viewer).await.expect(200);
    let refused = api
        .post("/facilities", &viewer, json!({ "name": "Mine" }))
        .await
        .expect_error(403, "forbidden");
    assert_eq!(refused["error"]["permission"], "training:write");
    api.patch(&format!("/facilities/{id}"), &viewer, json!({ "name": "Renamed" }))
        .await
        .expect_error(403, "forbidden");
    api.delete(&format!("/facilities/{id}"), &viewer)
        .await
        .expect_error(403, "forbidden");
    assert_eq!(
        api.get(&format!("/facilities/{id}"), &viewer).await.expect(200)["name"],
        "Substation Gamma"
    );
}

#[tokio::test]
async fn another_organization_can_not_see_or_change_my_facilities_and_lists_page_without_gaps() {
    let api = TestApi::new().await;
    let mine = api.new_organization().await;
    let theirs = api.new_organization().await;
    let mut created = Vec::new();
    for index in 0..7 {
        created.push(create(&api, &mine, json!({ "name": format!("Site {index}") })).await);
    }
    let id = created[0]["id"].as_str().unwrap();
    api.get(&format!("/facilities/{id}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    api.patch(
        &format!("/facilities/{id}"),
        &theirs.admin_key,
        json!({ "name": "Taken" }),
    )
    .await
    .expect_error(404, "not_found");
    api.delete(&format!("/facilities/{id}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    assert!(names(&api.get("/facilities", &theirs.admin_key).await.expect(200)).is_empty());

    let mut seen = Vec::new();
    let mut path = "/facilities?limit=3".to_string();
    loop {
        let page = api.get(&path, &mine.admin_key).await.expect(200);
        seen.extend(names(&page).into_iter().map(str::to_string));
        let Some(cursor) = page["nextCursor"].as_str() else {
            break;
        };
        // My cursor means nothing to another organization.
        api.get(&format!("/facilities?limit=3&cursor={cursor}"), &theirs.admin_key)
            .await
            .expect_error(400, "validation_error");
        path = format!("/facilities?limit=3&cursor={cursor}");
    }
    let expected: Vec<String> = (0..7).map(|index| format!("Site {index}")).collect();
    assert_eq!(seen, expected);
}
