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

/// `fac_01ha3x2` has the right prefix and the wrong length: the answer states the whole form,
/// in a path, a query and a body alike.
#[tokio::test]
async fn a_malformed_id_is_answered_with_the_whole_form_it_must_have() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = org.admin_key.as_str();
    let form = "`fac_` followed by exactly 26 characters of a ULID in lowercase Crockford base32 \
                (the digits 0-9 and the lowercase letters a-z other than i, l, o and u), \
                like `fac_01hx2m7k3q9v8c6b5n4m3k2j1h`";
    let in_path = api
        .get("/facilities/fac_01ha3x2", key)
        .await
        .expect_error(400, "validation_error");
    assert_eq!(in_path["error"]["field"], "id");
    assert_eq!(
        in_path["error"]["message"],
        format!("`id` must be a facility id: {form}").as_str()
    );
    let in_query = api
        .get("/training-assignments?facilityId=fac_01HX2M7K3Q9V8C6B5N4M3K2J1H", key)
        .await
        .expect_error(400, "validation_error");
    assert_eq!(in_query["error"]["field"], "facilityId");
    assert!(
        in_query["error"]["message"].as_str().unwrap().ends_with(form),
        "{in_query}"
    );
    let in_body = api
        .post(
            "/training-assignments",
            key,
            json!({ "userId": org.admin_id, "trainingModuleId": "tm_01ha3x2", "dueDate": "2030-01-01" }),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(in_body["error"]["field"], "trainingModuleId");
    assert!(
        in_body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`tm_` followed by exactly 26 characters of a ULID in lowercase Crockford base32"),
        "{in_body}"
    );
}

#[tokio::test]
async fn every_route_refuses_query_parameters_it_does_not_read() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = org.admin_key.as_str();
    let refused = api
        .call(
            "POST",
            "/users?dryRun=true",
            Some(key),
            Some(json!({ "email": "dry@utility.example", "displayName": "Dry Run" })),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(refused["error"]["field"], "dryRun");
    for path in [
        "/users/me?bogus=1",
        "/users/me/organizations?limit=5",
        "/roles/admin?expand=1",
        "/cip-senior-manager-assignments/current?date=2025-01-01",
    ] {
        api.get(path, key).await.expect_error(400, "validation_error");
    }
    // The dry run created nobody.
    let users = api.get("/users", key).await.expect(200);
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn null_is_refused_where_a_field_cannot_be_cleared() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = org.admin_key.as_str();
    let user = api.create_user(&org, "nul@utility.example", "Nul").await;
    for field in ["email", "displayName", "roles", "status"] {
        let mut body = serde_json::Map::new();
        body.insert(field.to_string(), serde_json::Value::Null);
        let error = api
            .patch(&format!("/users/{user}"), key, serde_json::Value::Object(body))
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], field);
        assert!(error["error"]["message"].as_str().unwrap().contains("null"));
    }
    api.post(
        "/users",
        key,
        json!({ "email": "b@utility.example", "displayName": "B", "roles": null }),
    )
    .await
    .expect_error(400, "validation_error");
    api.post("/api-keys", key, json!({ "name": "k", "permissions": null }))
        .await
        .expect_error(400, "validation_error");
    let csm = api
        .post(
            "/cip-senior-manager-assignments",
            key,
            json!({ "userId": user, "effectiveDate": "2024-01-01" }),
        )
        .await
        .expect(201);
    let csm_path = format!("/cip-senior-manager-assignments/{}", csm["id"].as_str().unwrap());
    for body in [json!({ "userId": null }), json!({ "effectiveDate": null })] {
        api.patch(&csm_path, key, body)
            .await
            .expect_error(400, "validation_error");
    }

    // A field that can be cleared still can.
    api.patch(&format!("/users/{user}"), key, json!({ "title": "Engineer" }))
        .await
        .expect(200);
    let cleared = api
        .patch(&format!("/users/{user}"), key, json!({ "title": null }))
        .await
        .expect(200);
    assert_eq!(cleared["title"], serde_json::Value::Null);
    let stored = api.get(&format!("/users/{user}"), key).await.expect(200);
    assert_eq!(stored["email"], "nul@utility.example");
    assert_eq!(stored["status"], "active");
}

#[tokio::test]
async fn names_with_bidi_overrides_or_invisible_characters_are_refused() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = org.admin_key.as_str();
    for name in ["a\u{202e}b", "admin\u{200b}", "\u{2066}Ada\u{2069}"] {
        let error = api
            .post(
                "/users",
                key,
                json!({ "email": "spoof@utility.example", "displayName": name }),
            )
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], "displayName");
        api.post("/roles", key, json!({ "name": name, "permissions": [] }))
            .await
            .expect_error(400, "validation_error");
    }
    let users = api.get("/users", key).await.expect(200);
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_body_that_is_not_utf8_or_a_key_that_is_not_ascii_is_a_validation_error() {
    use base64::Engine;
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let user = api.create_user(&org, "utf@utility.example", "Utf").await;
    // API Gateway base64-encodes a body that is not UTF-8 text and says so in the event.
    let not_utf8 = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b'{', b'}']);
    for (method, path) in [
        ("POST", "/users".to_string()),
        ("PATCH", format!("/users/{user}")),
        ("POST", "/cip-senior-manager-assignments".to_string()),
        ("POST", "/roles".to_string()),
    ] {
        let mut event = integration_tests::api_gateway_event(method, &path, Some(&org.admin_key), None);
        event["body"] = json!(not_utf8);
        event["isBase64Encoded"] = json!(true);
        let error = api.call_event(event).await.expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], "body", "{method} {path}");
        assert!(error["error"]["message"].as_str().unwrap().contains("UTF-8"));
    }
    let mut event = integration_tests::api_gateway_event("GET", "/users/me", None, None);
    event["headers"]["x-api-key"] = json!("rck_é");
    let error = api.call_event(event).await.expect_error(400, "validation_error");
    assert_eq!(error["error"]["field"], "X-API-Key");
    // A well-formed base64 JSON body works, as API Gateway may also send one.
    let mut event =
        integration_tests::api_gateway_event("PATCH", &format!("/users/{user}"), Some(&org.admin_key), None);
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(r#"{"title":"Ünïcode"}"#));
    event["isBase64Encoded"] = json!(true);
    assert_eq!(api.call_event(event).await.expect(200)["title"], "Ünïcode");
}

/// Descriptions, notes and reasons are free text: they may span lines, as a reviewer writes
/// them, and read back exactly as sent.
const MULTI_LINE: &str = "First line:\tdetail\nSecond line\r\n\r\n\tIndented third line";

#[tokio::test]
async fn free_text_keeps_its_line_breaks_and_tabs_and_one_line_text_refuses_them() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = org.admin_key.as_str();

    let role = api
        .post(
            "/roles",
            key,
            json!({ "name": "Reviewer", "permissions": [], "description": MULTI_LINE }),
        )
        .await
        .expect(201);
    let role_path = format!("/roles/{}", role["id"].as_str().unwrap());
    assert_eq!(api.get(&role_path, key).await.expect(200)["description"], MULTI_LINE);
    let module = api
        .post(
            "/training-modules",
            key,
            json!({ "title": "CIP-011 Information Protection", "description": MULTI_LINE }),
        )
        .await
        .expect(201);
    let module_path = format!("/training-modules/{}", module["id"].as_str().unwrap());
    assert_eq!(api.get(&module_path, key).await.expect(200)["description"], MULTI_LINE);
    let grace = api.create_user(&org, "grace@utility.example", "Grace Hopper").await;
    let designation = api
        .post(
            "/cip-senior-manager-assignments",
            key,
            json!({ "userId": grace, "effectiveDate": "2024-01-15", "notes": MULTI_LINE }),
        )
        .await
        .expect(201);
    let designation_path = format!(
        "/cip-senior-manager-assignments/{}",
        designation["id"].as_str().unwrap()
    );
    assert_eq!(api.get(&designation_path, key).await.expect(200)["notes"], MULTI_LINE);

    // A lone CR or another control character is refused in free text too.
    for bad in ["overwrite\rthis line", "colour\u{1b}[31m", "bell\u{7}"] {
        let error = api
            .patch(&role_path, key, json!({ "description": bad }))
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], "description", "{bad:?}");
    }
    assert_eq!(api.get(&role_path, key).await.expect(200)["description"], MULTI_LINE);

    // Names, titles and other one-line text refuse a line break or a tab.
    for line_break in ["Two\nlines", "Two\r\nlines", "Tab\tbed"] {
        let refusals = [
            (
                "POST",
                "/users".to_string(),
                json!({ "email": "x@utility.example", "displayName": line_break }),
                "displayName",
            ),
            (
                "POST",
                "/users".to_string(),
                json!({ "email": "x@utility.example", "displayName": "X", "title": line_break }),
                "title",
            ),
            (
                "PATCH",
                format!("/users/{grace}"),
                json!({ "displayName": line_break }),
                "displayName",
            ),
            (
                "POST",
                "/roles".to_string(),
                json!({ "name": line_break, "permissions": [] }),
                "name",
            ),
            ("POST", "/facilities".to_string(), json!({ "name": line_break }), "name"),
            (
                "POST",
                "/training-modules".to_string(),
                json!({ "title": line_break }),
                "title",
            ),
            ("POST", "/api-keys".to_string(), json!({ "name": line_break }), "name"),
        ];
        for (method, path, body, field) in refusals {
            let error = api
                .call(method, &path, Some(key), Some(body))
                .await
                .expect_error(400, "validation_error");
            assert_eq!(error["error"]["field"], field, "{method} {path} {line_break:?}");
        }
    }
    let users = api.get("/users", key).await.expect(200);
    assert_eq!(users["data"].as_array().unwrap().len(), 2);
}
