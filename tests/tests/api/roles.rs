use integration_tests::TestApi;
use serde_json::json;

#[tokio::test]
async fn roles_list_the_system_roles_then_custom_ones() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let listed = api.get("/roles", &org.admin_key).await.expect(200);
    let names: Vec<_> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("admin"), json!("auditor"), json!("developer"), json!("viewer")]
    );
    assert_eq!(listed["data"][3]["system"], true);
    assert!(
        listed["data"][3]["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("users:read"))
    );
}

#[tokio::test]
async fn a_custom_role_can_be_created_read_updated_assigned_and_deleted() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let role = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "LMS sync", "description": "Posts completions", "permissions": ["training:write", "training:read", "training:read"] }),
        )
        .await
        .expect(201);
    let id = role["id"].as_str().unwrap();
    assert!(id.starts_with("role_"));
    assert_eq!(role["permissions"], json!(["training:read", "training:write"]));
    assert_eq!(role["system"], false);
    assert_eq!(api.get(&format!("/roles/{id}"), &org.admin_key).await.expect(200), role);

    api.post(
        "/roles",
        &org.admin_key,
        json!({ "name": "lms SYNC", "permissions": [] }),
    )
    .await
    .expect_error(409, "conflict");

    let updated = api
        .patch(
            &format!("/roles/{id}"),
            &org.admin_key,
            json!({ "permissions": ["training:read"], "description": null }),
        )
        .await
        .expect(200);
    assert_eq!(updated["permissions"], json!(["training:read"]));
    assert_eq!(updated["description"], serde_json::Value::Null);

    // A member holding it gets its permissions; a held role cannot be deleted.
    let (user_id, key) = api.member_with_key(&org, "lms@utility.example", &[id]).await;
    let check = api
        .get("/users/me/check-access?permission=training:read", &key)
        .await
        .expect(200);
    assert_eq!(check["allowed"], true);
    assert_eq!(
        api.get(&format!("/roles/{id}"), &org.admin_key).await.expect(200)["memberCount"],
        1
    );
    api.delete(&format!("/roles/{id}"), &org.admin_key)
        .await
        .expect_error(409, "conflict");

    // Once nobody holds it, it can go; the member keeps a dangling reference granting nothing.
    api.patch(
        &format!("/users/{user_id}"),
        &org.admin_key,
        json!({ "roles": ["viewer"] }),
    )
    .await
    .expect(200);
    api.delete(&format!("/roles/{id}"), &org.admin_key).await.expect(200);
    api.get(&format!("/roles/{id}"), &org.admin_key)
        .await
        .expect_error(404, "not_found");

    let actions: Vec<_> = api
        .audit_trail_of(&org, id)
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(
        actions,
        vec![json!("role.deleted"), json!("role.updated"), json!("role.created")]
    );
}

#[tokio::test]
async fn deleting_a_member_releases_their_custom_role() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let role = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Reviewer", "permissions": ["cip:read"] }),
        )
        .await
        .expect(201);
    let role_id = role["id"].as_str().unwrap();
    let user = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": "r@utility.example", "displayName": "R", "roles": [role_id] }),
        )
        .await
        .expect(201);
    api.delete(&format!("/roles/{role_id}"), &org.admin_key)
        .await
        .expect_error(409, "conflict");
    api.delete(&format!("/users/{}", user["id"].as_str().unwrap()), &org.admin_key)
        .await
        .expect(200);
    api.delete(&format!("/roles/{role_id}"), &org.admin_key)
        .await
        .expect(200);
}

#[tokio::test]
async fn system_roles_cannot_be_changed_or_deleted() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    api.patch(
        "/roles/viewer",
        &org.admin_key,
        json!({ "permissions": ["users:write"] }),
    )
    .await
    .expect_error(403, "forbidden");
    api.delete("/roles/admin", &org.admin_key)
        .await
        .expect_error(403, "forbidden");
    assert_eq!(
        api.get("/roles/auditor", &org.admin_key).await.expect(200)["system"],
        true
    );
}

#[tokio::test]
async fn unknown_roles_are_refused_when_assigned() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let missing = raptor_shared::ids::RoleId::new();
    let body = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": "x@utility.example", "displayName": "X", "roles": [missing.as_str()] }),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(body["error"]["field"], "roles");
    api.get(&format!("/roles/{missing}"), &org.admin_key)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn a_role_being_assigned_while_it_is_deleted_is_never_left_held_and_deleted() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for round in 0..3 {
        let role = api
            .post(
                "/roles",
                &org.admin_key,
                json!({ "name": format!("Temp {round}"), "permissions": [] }),
            )
            .await
            .expect(201);
        let role_id = role["id"].as_str().unwrap().to_string();
        let assign = api.post(
            "/users",
            &org.admin_key,
            json!({ "email": format!("t{round}@utility.example"), "displayName": "T", "roles": [role_id] }),
        );
        let role_path = format!("/roles/{role_id}");
        let delete = api.delete(&role_path, &org.admin_key);
        let (assigned, deleted) = tokio::join!(assign, delete);
        // Either may win, or one may lose to the other with a conflict; never both.
        assert!(
            !(assigned.status == 201 && deleted.status == 200),
            "{assigned:?} {deleted:?}"
        );
        let role_now = api.get(&role_path, &org.admin_key).await;
        if assigned.status == 201 {
            assert_eq!(deleted.error_code(), "conflict");
            assert_eq!(role_now.expect(200)["memberCount"], 1);
        } else {
            // Lost to the deletion: either the commit conflicted or the role was already gone.
            assert!(
                ["conflict", "validation_error"].contains(&assigned.error_code()),
                "{assigned:?}"
            );
            let users = api.get("/users?limit=100", &org.admin_key).await.expect(200);
            assert!(
                users["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|u| u["roles"] != json!([role_id]))
            );
        }
    }
}

#[tokio::test]
async fn custom_roles_are_bounded_in_bytes_with_a_clear_conflict_not_a_500() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let description = "🔥".repeat(1000);
    let mut refused = None;
    for index in 0..100 {
        let name = format!("{index:02}{}", "🛡".repeat(97));
        let response = api
            .post(
                "/roles",
                &org.admin_key,
                json!({ "name": name, "description": description, "permissions": ["users:read"] }),
            )
            .await;
        match response.status {
            201 => continue,
            _ => {
                refused = Some((index, response.expect_error(409, "conflict")));
                break;
            }
        }
    }
    let (index, body) = refused.expect("100 roles of 4 KB each exceed what one organization may store");
    assert!(index > 50, "refused too early, at role {index}");
    assert!(body["error"]["message"].as_str().unwrap().contains("KB"));

    // The organization still works: roles list, users are created, a role can be deleted.
    let roles = api.get("/roles?limit=100", &org.admin_key).await.expect(200);
    assert_eq!(roles["data"].as_array().unwrap().len(), 4 + index);
    api.create_user(&org, "still@utility.example", "Still Works").await;
    let last = roles["data"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.delete(&format!("/roles/{last}"), &org.admin_key).await.expect(200);
}
