use integration_tests::TestApi;
use serde_json::json;

#[tokio::test]
async fn requests_without_a_valid_key_are_unauthenticated() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    api.call("GET", "/users/me", None, None)
        .await
        .expect_error(401, "unauthenticated");
    let valid = org.admin_key.as_str();
    let (id_part, _) = valid.rsplit_once('_').unwrap();
    let unknown_id = format!(
        "rck_{}_{}",
        raptor_shared::ids::ApiKeyId::new().as_str().trim_start_matches("key_"),
        "x".repeat(43)
    );
    for bad in [
        "",
        "garbage",
        "rck_",
        &format!("{id_part}_wrongsecret"),
        &unknown_id,
        &format!("{valid}x"),
    ] {
        api.get("/users/me", bad).await.expect_error(401, "unauthenticated");
    }
    // An unknown route is a 404 before anything else.
    api.get("/nothing-here", valid).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn a_missing_permission_is_forbidden_and_named() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (_, viewer) = api.member_with_key(&org, "viewer@utility.example", &["viewer"]).await;
    let body = api
        .post(
            "/users",
            &viewer,
            json!({ "email": "x@utility.example", "displayName": "X" }),
        )
        .await
        .expect_error(403, "forbidden");
    assert_eq!(body["error"]["permission"], "users:write");
    assert!(body["error"]["message"].as_str().unwrap().contains("users:write"));
    api.post("/roles", &viewer, json!({ "name": "x", "permissions": [] }))
        .await
        .expect_error(403, "forbidden");
    api.get("/api-keys", &viewer).await.expect_error(403, "forbidden");
    // Reading is allowed.
    api.get("/users", &viewer).await.expect(200);
    api.get("/roles", &viewer).await.expect(200);
}

#[tokio::test]
async fn nobody_can_grant_permissions_they_do_not_hold() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    // A developer may manage users and keys, but holds no roles:write and no audit:read.
    let (dev_id, dev) = api.member_with_key(&org, "dev@utility.example", &["developer"]).await;

    // Not through roles given to new or existing users.
    api.post(
        "/users",
        &dev,
        json!({ "email": "boss@utility.example", "displayName": "Boss", "roles": ["admin"] }),
    )
    .await
    .expect_error(403, "forbidden");
    api.patch(&format!("/users/{dev_id}"), &dev, json!({ "roles": ["admin"] }))
        .await
        .expect_error(403, "forbidden");
    // Not through a custom role with more than they hold (the admin made it).
    let auditing = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Auditing", "permissions": ["audit:read"] }),
        )
        .await
        .expect(201);
    api.post(
        "/users",
        &dev,
        json!({ "email": "sneaky@utility.example", "displayName": "S", "roles": [auditing["id"]] }),
    )
    .await
    .expect_error(403, "forbidden");
    // Not through an API key scope.
    api.post(
        "/api-keys",
        &dev,
        json!({ "name": "wide", "permissions": ["audit:read"] }),
    )
    .await
    .expect_error(403, "forbidden");
    // Not by acting on someone more privileged.
    api.patch(
        &format!("/users/{}", org.admin_id),
        &dev,
        json!({ "status": "suspended" }),
    )
    .await
    .expect_error(403, "forbidden");
    api.delete(&format!("/users/{}", org.admin_id), &dev)
        .await
        .expect_error(403, "forbidden");

    // A key made without a scope never exceeds the key that made it.
    let narrow = api
        .post(
            "/api-keys",
            &org.admin_key,
            json!({ "name": "narrow", "userId": dev_id, "permissions": ["users:read", "api_keys:manage"] }),
        )
        .await
        .expect(201);
    let child = api
        .post(
            "/api-keys",
            narrow["secret"].as_str().unwrap(),
            json!({ "name": "child" }),
        )
        .await
        .expect(201);
    assert_eq!(child["permissions"], json!(["users:read", "api_keys:manage"]));

    // Nothing above changed the stored state.
    assert_eq!(
        api.get(&format!("/users/{dev_id}"), &org.admin_key).await.expect(200)["roles"],
        json!(["developer"])
    );
    assert_eq!(
        api.get("/users/me", &org.admin_key).await.expect(200)["status"],
        "active"
    );
}
