use integration_tests::TestApi;
use serde_json::json;

#[tokio::test]
async fn a_key_is_shown_once_then_listed_without_its_secret_and_can_be_revoked() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let created = api
        .post(
            "/api-keys",
            &org.admin_key,
            json!({ "name": "Okta sync", "permissions": ["users:read", "users:write"] }),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert!(id.starts_with("key_"));
    assert!(secret.starts_with("rck_"));
    assert_eq!(created["permissions"], json!(["users:read", "users:write"]));
    assert_eq!(created["status"], "active");
    assert!(secret.starts_with(created["keyPrefix"].as_str().unwrap()));

    let listed = api.get("/api-keys", &org.admin_key).await.expect(200);
    let listed_key = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .expect("listed")
        .clone();
    assert!(listed_key.get("secret").is_none() && listed_key.get("secretHash").is_none());
    assert!(!listed.to_string().contains(secret));

    // The new key works, within its scope.
    api.get("/users", secret).await.expect(200);
    api.get("/roles", secret).await.expect_error(403, "forbidden");

    let revoked = api.delete(&format!("/api-keys/{id}"), &org.admin_key).await.expect(200);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revokedBy"], org.admin_id.as_str());
    api.get("/users", secret).await.expect_error(401, "unauthenticated");
    // Revoking again is a safe retry.
    assert_eq!(
        api.delete(&format!("/api-keys/{id}"), &org.admin_key).await.expect(200)["status"],
        "revoked"
    );

    let actions: Vec<_> = api
        .audit_trail_of(&org, id)
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions, vec![json!("api_key.revoked"), json!("api_key.created")]);
    assert!(
        !api.audit_trail_of(&org, id)
            .await
            .iter()
            .any(|e| e.to_string().contains(secret))
    );
}

#[tokio::test]
async fn a_keys_permissions_are_its_scope_intersected_with_the_members_roles_now() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (user_id, key) = api.member_with_key(&org, "dev@utility.example", &["developer"]).await;
    let check = |permission: &'static str| {
        let api = &api;
        let key = key.clone();
        async move {
            api.get(&format!("/users/me/check-access?permission={permission}"), &key)
                .await
                .expect(200)["allowed"]
                .as_bool()
                .unwrap()
        }
    };
    assert!(check("training:write").await);
    // The member is demoted: the key loses what the new role lacks at the next request.
    api.patch(
        &format!("/users/{user_id}"),
        &org.admin_key,
        json!({ "roles": ["viewer"] }),
    )
    .await
    .expect(200);
    assert!(!check("training:write").await);
    assert!(check("training:read").await);
}

#[tokio::test]
async fn a_key_of_another_organization_cannot_be_revoked_or_seen() {
    let api = TestApi::new().await;
    let ours = api.new_organization().await;
    let theirs = api.new_organization().await;
    let their_key = api
        .post("/api-keys", &theirs.admin_key, json!({ "name": "theirs" }))
        .await
        .expect(201);
    let id = their_key["id"].as_str().unwrap();
    api.delete(&format!("/api-keys/{id}"), &ours.admin_key)
        .await
        .expect_error(404, "not_found");
    let ours_listed = api.get("/api-keys", &ours.admin_key).await.expect(200);
    assert!(ours_listed["data"].as_array().unwrap().iter().all(|k| k["id"] != id));
    // Still working for its owner.
    api.get("/users/me", their_key["secret"].as_str().unwrap())
        .await
        .expect(200);
}

#[tokio::test]
async fn a_key_cannot_be_issued_to_a_suspended_member_or_a_stranger() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let user_id = api.create_user(&org, "z@utility.example", "Z").await;
    api.patch(
        &format!("/users/{user_id}"),
        &org.admin_key,
        json!({ "status": "suspended" }),
    )
    .await
    .expect(200);
    api.post("/api-keys", &org.admin_key, json!({ "name": "k", "userId": user_id }))
        .await
        .expect_error(409, "conflict");
    let stranger = raptor_shared::ids::UserId::new();
    api.post(
        "/api-keys",
        &org.admin_key,
        json!({ "name": "k", "userId": stranger.as_str() }),
    )
    .await
    .expect_error(404, "not_found");
}
