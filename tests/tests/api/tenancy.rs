use integration_tests::TestApi;
use serde_json::json;

#[tokio::test]
async fn another_organization_cannot_read_or_change_my_users() {
    let api = TestApi::new().await;
    let mine = api.new_organization().await;
    let theirs = api.new_organization().await;
    let user = api
        .post(
            "/users",
            &mine.admin_key,
            json!({ "email": "private@utility.example", "displayName": "Private" }),
        )
        .await
        .expect(201);
    let id = user["id"].as_str().unwrap();

    api.get(&format!("/users/{id}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    api.patch(
        &format!("/users/{id}"),
        &theirs.admin_key,
        json!({ "displayName": "Hacked" }),
    )
    .await
    .expect_error(404, "not_found");
    api.delete(&format!("/users/{id}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    let their_list = api.get("/users?limit=100", &theirs.admin_key).await.expect(200);
    assert!(their_list["data"].as_array().unwrap().iter().all(|u| u["id"] != id));
    let by_role = api.get("/users?role=viewer", &theirs.admin_key).await.expect(200);
    assert!(by_role["data"].as_array().unwrap().is_empty());

    // Unchanged for its own organization.
    assert_eq!(
        api.get(&format!("/users/{id}"), &mine.admin_key).await.expect(200),
        user
    );
}

#[tokio::test]
async fn another_organization_cannot_see_my_roles_or_audit_events() {
    let api = TestApi::new().await;
    let mine = api.new_organization().await;
    let theirs = api.new_organization().await;
    let role = api
        .post("/roles", &mine.admin_key, json!({ "name": "Mine", "permissions": [] }))
        .await
        .expect(201);
    let role_id = role["id"].as_str().unwrap();
    api.get(&format!("/roles/{role_id}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    api.patch(&format!("/roles/{role_id}"), &theirs.admin_key, json!({ "name": "x" }))
        .await
        .expect_error(404, "not_found");
    api.delete(&format!("/roles/{role_id}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    let their_roles = api.get("/roles", &theirs.admin_key).await.expect(200);
    assert!(
        their_roles["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != role_id)
    );

    let by_target = api
        .get(&format!("/audit-events?targetId={role_id}"), &theirs.admin_key)
        .await
        .expect(200);
    assert!(by_target["data"].as_array().unwrap().is_empty());
    let by_actor = api
        .get(&format!("/audit-events?actorId={}", mine.admin_id), &theirs.admin_key)
        .await
        .expect(200);
    assert!(by_actor["data"].as_array().unwrap().is_empty());
    let all = api.get("/audit-events?limit=100", &theirs.admin_key).await.expect(200);
    assert!(
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["organizationId"] == theirs.id.as_str())
    );
}

#[tokio::test]
async fn a_cursor_from_another_organization_or_query_reveals_nothing() {
    let api = TestApi::new().await;
    let mine = api.new_organization().await;
    let theirs = api.new_organization().await;
    for n in 0..3 {
        api.post(
            "/users",
            &mine.admin_key,
            json!({ "email": format!("c{n}@utility.example"), "displayName": "C" }),
        )
        .await
        .expect(201);
    }
    let page = api.get("/users?limit=1", &mine.admin_key).await.expect(200);
    let cursor = page["nextCursor"].as_str().unwrap();

    let body = api
        .get(&format!("/users?limit=1&cursor={cursor}"), &theirs.admin_key)
        .await
        .expect_error(400, "validation_error");
    assert_eq!(body["error"]["field"], "cursor");
    api.get(
        &format!("/users?limit=1&status=suspended&cursor={cursor}"),
        &mine.admin_key,
    )
    .await
    .expect_error(400, "validation_error");
    api.get(&format!("/audit-events?cursor={cursor}"), &mine.admin_key)
        .await
        .expect_error(400, "validation_error");
    api.get("/users?cursor=bm90LWEtY3Vyc29y", &mine.admin_key)
        .await
        .expect_error(400, "validation_error");

    // A hand-forged cursor naming their organization and their partition gets nothing either.
    let forged = forge_cursor(
        theirs.id.as_str(),
        "users?status=active,suspended&role=",
        &format!("ORG#{}", theirs.id),
        "MEMBER#",
    );
    api.get(&format!("/users?cursor={forged}"), &mine.admin_key)
        .await
        .expect_error(400, "validation_error");
    let forged = forge_cursor(
        mine.id.as_str(),
        "users?status=active,suspended&role=",
        &format!("ORG#{}", theirs.id),
        "MEMBER#",
    );
    api.get(&format!("/users?cursor={forged}"), &mine.admin_key)
        .await
        .expect_error(400, "validation_error");
}

fn forge_cursor(org: &str, query: &str, pk: &str, sk: &str) -> String {
    use base64::Engine;
    let content = json!({ "o": org, "q": query, "k": { "PK": pk, "SK": sk } }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(content)
}

#[tokio::test]
async fn a_tampered_cursor_in_my_own_organization_is_never_a_server_error() {
    use base64::Engine;
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let target = org.admin_id.as_str();
    let audit_query = format!("audit-events?targetId={target}&actorId=&from=&to=");
    let positions = [
        json!({ "PK": format!("ORG#{}#AUDIT", org.id), "SK": "evt_x", "GSI1PK": format!("ORG#{}#TARGET#{target}", org.id), "GSI1SK": "evt_01hx2m7k3q9v8c6b5n4m3k2j1h" }),
        json!({ "PK": "APIKEY#whatever", "SK": "", "GSI1PK": format!("ORG#{}#TARGET#{target}", org.id), "GSI1SK": "evt_01hx2m7k3q9v8c6b5n4m3k2j1h" }),
        json!({ "PK": "x".repeat(3000), "SK": "y", "GSI1PK": format!("ORG#{}#TARGET#{target}", org.id), "GSI1SK": "evt_01hx2m7k3q9v8c6b5n4m3k2j1h" }),
        json!({ "PK": 1, "SK": "y" }),
    ];
    for position in positions {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "o": org.id.as_str(), "q": audit_query, "k": position }).to_string());
        let response = api
            .get(
                &format!("/audit-events?targetId={target}&cursor={cursor}"),
                &org.admin_key,
            )
            .await;
        assert!(matches!(response.status, 200 | 400), "{position}: {response:?}");
    }
}
