use integration_tests::TestApi;
use serde_json::json;

#[tokio::test]
async fn bad_bodies_are_validation_errors_naming_the_field() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = org.admin_key.as_str();
    let cases: Vec<(Option<&str>, &str)> = vec![
        (None, "body"),
        (Some("not json"), "body"),
        (Some("[1,2]"), "body"),
        (Some(r#"{"email":"a@utility.example"}"#), "displayName"),
        (
            Some(r#"{"email":"a@utility.example","displayName":"A","emial":"typo"}"#),
            "emial",
        ),
        (Some(r#"{"email":42,"displayName":"A"}"#), "email"),
        (Some(r#"{"email":"not-an-email","displayName":"A"}"#), "email"),
        (
            Some(r#"{"email":"a@utility.example","displayName":"   "}"#),
            "displayName",
        ),
        (
            Some(r#"{"email":"a@utility.example","displayName":"A","roles":["superuser"]}"#),
            "roles[0]",
        ),
        (
            Some(r#"{"email":"a@utility.example","displayName":"A","roles":"admin"}"#),
            "roles",
        ),
        (
            Some(r#"{"email":"a@utility.example","displayName":"A"} trailing"#),
            "body",
        ),
    ];
    for (body, field) in cases {
        let response = api.call_raw("POST", "/users", Some(key), body).await;
        let error = response.expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], field, "body {body:?} gave {error}");
    }
    let long_name = "n".repeat(201);
    let error = api
        .post(
            "/users",
            key,
            json!({ "email": "a@utility.example", "displayName": long_name }),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(error["error"]["field"], "displayName");

    // Nothing was stored by any of these.
    let users = api.get("/users", key).await.expect(200);
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_body_over_one_megabyte_is_refused() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let huge = format!(
        r#"{{"email":"a@utility.example","displayName":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    let error = api
        .call_raw("POST", "/users", Some(&org.admin_key), Some(&huge))
        .await
        .expect_error(400, "validation_error");
    assert_eq!(error["error"]["field"], "body");
}

#[tokio::test]
async fn bad_query_parameters_are_validation_errors() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for (path, field) in [
        ("/users?limit=0", "limit"),
        ("/users?limit=101", "limit"),
        ("/users?limit=ten", "limit"),
        ("/users?limit=-1", "limit"),
        ("/users?statsu=active", "statsu"),
        ("/users?status=", "status"),
        ("/audit-events?targetId=../../x", "targetId"),
        ("/roles?limit=1000", "limit"),
        ("/api-keys?cursor=%%%", "cursor"),
    ] {
        let error = api
            .get(path, &org.admin_key)
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], field, "{path}");
    }
    api.get("/users?limit=100", &org.admin_key).await.expect(200);
    api.get("/users?limit=1", &org.admin_key).await.expect(200);
}

#[tokio::test]
async fn malformed_ids_in_paths_and_bodies_are_validation_errors() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for path in [
        "/users/usr_x",
        "/users/org_01hx2m7k3q9v8c6b5n4m3k2j1h",
        "/roles/role_nope",
        "/roles/root",
    ] {
        let error = api
            .get(path, &org.admin_key)
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], "id", "{path}");
    }
    let error = api
        .delete("/api-keys/key_%20", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
    assert_eq!(error["error"]["field"], "id");
    let error = api
        .post("/api-keys", &org.admin_key, json!({ "name": "k", "userId": "someone" }))
        .await
        .expect_error(400, "validation_error");
    assert_eq!(error["error"]["field"], "userId");
    let error = api
        .post(
            "/api-keys",
            &org.admin_key,
            json!({ "name": "k", "permissions": ["users:fly"] }),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(error["error"]["field"], "permissions[0]");
}
