use integration_tests::TestApi;
use serde_json::json;

#[tokio::test]
async fn every_mutation_leaves_an_audit_event_with_actor_key_and_target() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let user_id = api.create_user(&org, "a@utility.example", "A").await;
    api.patch(
        &format!("/users/{user_id}"),
        &org.admin_key,
        json!({ "displayName": "B" }),
    )
    .await
    .expect(200);
    let role = api
        .post("/roles", &org.admin_key, json!({ "name": "R", "permissions": [] }))
        .await
        .expect(201);
    let role_id = role["id"].as_str().unwrap();
    api.patch(&format!("/roles/{role_id}"), &org.admin_key, json!({ "name": "R2" }))
        .await
        .expect(200);
    api.delete(&format!("/roles/{role_id}"), &org.admin_key)
        .await
        .expect(200);
    let key = api
        .post("/api-keys", &org.admin_key, json!({ "name": "k" }))
        .await
        .expect(201);
    let key_id = key["id"].as_str().unwrap();
    api.delete(&format!("/api-keys/{key_id}"), &org.admin_key)
        .await
        .expect(200);
    api.delete(&format!("/users/{user_id}"), &org.admin_key)
        .await
        .expect(200);

    let events = api.get("/audit-events?limit=100", &org.admin_key).await.expect(200);
    let actions: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "user.deleted",
            "api_key.revoked",
            "api_key.created",
            "role.deleted",
            "role.updated",
            "role.created",
            "user.updated",
            "user.created",
            // bootstrap
            "api_key.created",
            "user.created",
            "organization.created",
        ]
    );
    let newest = &events["data"][0];
    assert_eq!(newest["targetType"], "user");
    assert_eq!(newest["targetId"], user_id);
    assert_eq!(newest["actorId"], org.admin_id.as_str());
    assert!(newest["actorApiKeyId"].as_str().unwrap().starts_with("key_"));
    assert!(newest["id"].as_str().unwrap().starts_with("evt_"));
    assert!(newest["occurredAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn audit_events_filter_by_target_actor_and_time() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (dev_id, dev_key) = api.member_with_key(&org, "dev@utility.example", &["developer"]).await;
    let by_dev = api
        .post(
            "/users",
            &dev_key,
            json!({ "email": "made-by-dev@utility.example", "displayName": "M" }),
        )
        .await
        .expect(201);

    let by_actor = api
        .get(&format!("/audit-events?actorId={dev_id}"), &org.admin_key)
        .await
        .expect(200);
    let data = by_actor["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["targetId"], by_dev["id"]);

    let target = by_dev["id"].as_str().unwrap();
    let both = api
        .get(
            &format!("/audit-events?targetId={target}&actorId={}", org.admin_id),
            &org.admin_key,
        )
        .await
        .expect(200);
    assert_eq!(both["data"].as_array().unwrap().len(), 0);

    let created_at = by_dev["createdAt"].as_str().unwrap();
    let after = api
        .get("/audit-events?from=2999-01-01T00:00:00Z", &org.admin_key)
        .await
        .expect(200);
    assert_eq!(after["data"].as_array().unwrap().len(), 0);
    let before = api
        .get("/audit-events?to=2000-01-01T00:00:00Z", &org.admin_key)
        .await
        .expect(200);
    assert_eq!(before["data"].as_array().unwrap().len(), 0);
    let window = api
        .get(
            &format!("/audit-events?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z&targetId={target}"),
            &org.admin_key,
        )
        .await
        .expect(200);
    assert_eq!(
        window["data"][0]["occurredAt"].as_str().unwrap()[..16],
        created_at[..16]
    );

    api.get("/audit-events?from=yesterday", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
    api.get(
        "/audit-events?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        &org.admin_key,
    )
    .await
    .expect_error(400, "validation_error");
    api.get("/audit-events?actorId=nobody", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn audit_events_page_newest_first_without_gaps() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for n in 0..5 {
        api.post(
            "/users",
            &org.admin_key,
            json!({ "email": format!("p{n}@utility.example"), "displayName": "P" }),
        )
        .await
        .expect(201);
    }
    // 3 bootstrap events + 5 = 8 events, in pages of 3.
    let mut ids = Vec::new();
    let mut path = "/audit-events?limit=3".to_string();
    loop {
        let page = api.get(&path, &org.admin_key).await.expect(200);
        ids.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/audit-events?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 8);
    let mut newest_first = ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);
}

#[tokio::test]
async fn reading_the_audit_trail_needs_audit_read() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (_, viewer) = api.member_with_key(&org, "v@utility.example", &["viewer"]).await;
    let body = api.get("/audit-events", &viewer).await.expect_error(403, "forbidden");
    assert_eq!(body["error"]["permission"], "audit:read");
    let (_, auditor) = api.member_with_key(&org, "a@utility.example", &["auditor"]).await;
    api.get("/audit-events", &auditor).await.expect(200);
}
