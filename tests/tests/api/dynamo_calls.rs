//! Authentication and authorization together cost at most two DynamoDB round trips: the
//! key by id, then the member and the roles document in one BatchGetItem.

use integration_tests::TestApi;
use serde_json::json;

#[tokio::test]
async fn authenticating_and_authorizing_a_request_costs_two_dynamodb_calls() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    // A custom role, so authorization needs its definition too.
    let role = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Custom", "permissions": ["users:read"] }),
        )
        .await
        .expect(201);
    let (_, key) = api
        .member_with_key(&org, "c@utility.example", &[role["id"].as_str().unwrap(), "viewer"])
        .await;

    api.dynamo_calls.reset();
    api.get("/users/me", &key).await.expect(200);
    assert_eq!(
        api.dynamo_calls.count(),
        2,
        "GET /users/me is authentication + authorization only"
    );

    api.dynamo_calls.reset();
    api.get("/users/me/check-access?permission=users:read", &key)
        .await
        .expect(200);
    assert_eq!(api.dynamo_calls.count(), 2);

    api.dynamo_calls.reset();
    api.get(&format!("/users/{}", org.admin_id), &key).await.expect(200);
    assert_eq!(api.dynamo_calls.count(), 3, "auth (2) + the user read (1)");

    api.dynamo_calls.reset();
    api.get("/users/me", "rck_01hx2m7k3q9v8c6b5n4m3k2j1h_unknown")
        .await
        .expect_error(401, "unauthenticated");
    assert_eq!(api.dynamo_calls.count(), 1, "an unknown key costs one read");

    api.dynamo_calls.reset();
    api.get("/users/me", "garbage")
        .await
        .expect_error(401, "unauthenticated");
    assert_eq!(api.dynamo_calls.count(), 0, "a malformed key costs nothing");
}
