use integration_tests::{TestApi, TestOrg};
use serde_json::{Value, json};

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

/// A developer mints a key for a peer (a viewer); returns (developer id, developer key,
/// peer id, the key minted for the peer).
async fn key_minted_for_a_peer(api: &TestApi, org: &TestOrg) -> (String, String, String, String) {
    let (developer, developer_key) = api.member_with_key(org, "dev@utility.example", &["developer"]).await;
    let peer = api.create_user(org, "peer@utility.example", "Peer").await;
    let minted = api
        .post(
            "/api-keys",
            &developer_key,
            json!({ "name": "minted for peer", "userId": peer }),
        )
        .await
        .expect(201);
    assert_eq!(minted["createdBy"], developer.as_str());
    let secret = minted["secret"].as_str().unwrap().to_string();
    api.get("/users/me", &secret).await.expect(200);
    (developer, developer_key, peer, secret)
}

async fn listed_key(api: &TestApi, org: &TestOrg, user: &str) -> Value {
    let keys = api.get("/api-keys?limit=100", &org.admin_key).await.expect(200);
    keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["userId"] == user)
        .cloned()
        .expect("the key is listed")
}

#[tokio::test]
async fn a_key_stops_working_when_its_creator_is_deleted() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (developer, developer_key, peer, minted) = key_minted_for_a_peer(&api, &org).await;

    api.delete(&format!("/users/{developer}"), &org.admin_key)
        .await
        .expect(200);

    api.get("/users/me", &developer_key)
        .await
        .expect_error(401, "unauthenticated");
    api.get("/users/me", &minted).await.expect_error(401, "unauthenticated");
    api.post("/api-keys", &minted, json!({ "name": "escape hatch" }))
        .await
        .expect_error(401, "unauthenticated");
    let listed = listed_key(&api, &org, &peer).await;
    assert_eq!(listed["status"], "inactive");
    assert!(listed["inactiveReason"].as_str().unwrap().contains(&developer));
    let developer_own = listed_key(&api, &org, &developer).await;
    assert_eq!(developer_own["status"], "inactive");
    assert!(developer_own["inactiveReason"].as_str().unwrap().contains("deleted"));

    // The peer keeps their own access: the admin can mint them a new key.
    let fresh = api
        .post("/api-keys", &org.admin_key, json!({ "name": "fresh", "userId": peer }))
        .await
        .expect(201);
    api.get("/users/me", fresh["secret"].as_str().unwrap())
        .await
        .expect(200);
}

#[tokio::test]
async fn a_key_follows_its_creator_suspension_and_demotion() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (developer, _, peer, minted) = key_minted_for_a_peer(&api, &org).await;
    let developer_path = format!("/users/{developer}");

    api.patch(&developer_path, &org.admin_key, json!({ "status": "suspended" }))
        .await
        .expect(200);
    api.get("/users/me", &minted).await.expect_error(401, "unauthenticated");
    assert_eq!(listed_key(&api, &org, &peer).await["status"], "inactive");

    api.patch(&developer_path, &org.admin_key, json!({ "status": "active" }))
        .await
        .expect(200);
    api.get("/users/me", &minted).await.expect(200);
    assert_eq!(listed_key(&api, &org, &peer).await["status"], "active");

    // The peer is promoted to developer, but the key never outranks its creator now:
    // demote the creator to viewer and the key loses users:write.
    api.patch(
        &format!("/users/{peer}"),
        &org.admin_key,
        json!({ "roles": ["developer"] }),
    )
    .await
    .expect(200);
    let allowed = |body: Value| body["allowed"].as_bool().unwrap();
    assert!(allowed(
        api.get("/users/me/check-access?permission=users:write", &minted)
            .await
            .expect(200)
    ));
    api.patch(&developer_path, &org.admin_key, json!({ "roles": ["viewer"] }))
        .await
        .expect(200);
    assert!(!allowed(
        api.get("/users/me/check-access?permission=users:write", &minted)
            .await
            .expect(200)
    ));
    assert!(allowed(
        api.get("/users/me/check-access?permission=users:read", &minted)
            .await
            .expect(200)
    ));
}
