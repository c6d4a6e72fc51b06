//! Webhooks (issue 23, part 2): audit events reach the endpoints that want them, signed as
//! docs/webhooks.md says, through the same stream, queue and functions as on AWS; failures
//! are retried on the backoff, nothing leaks to another organization, and no delivery goes
//! where a deployed sender must not send.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::webhooks::{Answer, Received, Receiver};
use integration_tests::{TestApi, TestOrg, WEBHOOK_ATTEMPT_TIMEOUT};
use raptor_shared::model::webhooks::DestinationPolicy;
use raptor_shared::time::Timestamp;
use raptor_shared::webhook_client::WebhookClient;
use serde_json::{Value, json};

use crate::training_program::id_of;

/// The receiver's check, written from docs/webhooks.md alone: `t=<seconds>` and one
/// `v1=<hex>` per live secret, each the HMAC-SHA256 of `<t>.<body>` with the secret.
fn signed_with(received: &Received, secret: &str) -> bool {
    let header = received.header("raptor-signature");
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = Some(value.to_string()),
            Some(("v1", value)) => signatures.push(value.to_string()),
            _ => panic!("an unexpected part {part:?} in {header:?}"),
        }
    }
    let timestamp = timestamp.expect("a timestamp");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = timestamp.into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(&received.body);
    let expected: String = aws_lc_rs::hmac::sign(&key, &signed)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    signatures.contains(&expected)
}

fn signature_count(received: &Received) -> usize {
    received.header("raptor-signature").matches("v1=").count()
}

/// A test API whose clock stands at 2026-11-02T09:00:00Z, after an organization was
/// bootstrapped a second earlier (its events predate every endpoint of the test).
async fn organization_at_nine() -> (TestApi, TestOrg) {
    let api = TestApi::new_at(Timestamp::parse("t", "2026-11-02T08:59:59Z").unwrap()).await;
    let org = api.new_organization().await;
    api.clock().set(Timestamp::parse("t", "2026-11-02T09:00:00Z").unwrap());
    (api, org)
}

async fn register(api: &TestApi, org: &TestOrg, url: &str, types: &[&str]) -> (String, String) {
    let endpoint = api
        .post(
            "/webhook-endpoints",
            &org.admin_key,
            json!({ "url": url, "eventTypes": types, "description": "LMS sync" }),
        )
        .await
        .expect(201);
    (
        id_of(&endpoint),
        endpoint["secret"].as_str().expect("the secret").to_string(),
    )
}

fn event_id_of(delivery: &Value) -> String {
    delivery["eventId"].as_str().expect("an event id").to_string()
}

async fn deliveries(api: &TestApi, org: &TestOrg, endpoint: &str) -> Vec<Value> {
    let page = api
        .get(&format!("/webhook-endpoints/{endpoint}/deliveries"), &org.admin_key)
        .await
        .expect(200);
    page["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_audit_event_reaches_the_endpoint_that_wants_it_signed_as_documented() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = register(&api, &org, &receiver.url("/hooks/raptor"), &["user.created"]).await;
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    let shown = api
        .get(&format!("/webhook-endpoints/{endpoint}"), &org.admin_key)
        .await
        .expect(200);
    assert!(shown.get("secret").is_none(), "the secret is shown once: {shown}");
    assert_eq!(shown["eventTypes"], json!(["user.created"]));
    assert_eq!(shown["enabled"], json!(true));
    let registered = api.audit_trail_of(&org, &endpoint).await;
    assert_eq!(registered[0]["action"], "webhook_endpoint.created");
    assert!(
        !registered[0].to_string().contains(&secret),
        "no secret in the audit trail"
    );

    let user = api.create_user(&org, "new.hire@example.com", "New Hire").await;
    api.post("/facilities", &org.admin_key, json!({ "name": "Substation 9" }))
        .await
        .expect(201);
    api.run_webhooks().await;

    let received = receiver.received();
    assert_eq!(
        received.len(),
        1,
        "user.created only, not facility.created: {received:?}"
    );
    let delivery = &received[0];
    assert_eq!(delivery.path, "/hooks/raptor");
    assert_eq!(delivery.header("content-type"), "application/json");
    assert!(signed_with(delivery, &secret), "{:?}", delivery.headers);
    assert!(!signed_with(delivery, "whsec_another"));
    // The body is the audit event as the audit trail holds it: same id, type, time,
    // actor, target and data.
    let audited = api.audit_trail_of(&org, &user).await;
    assert_eq!(delivery.json(), audited[0]);
    assert_eq!(delivery.header("raptor-event-id"), audited[0]["id"].as_str().unwrap());
    assert_eq!(delivery.header("raptor-event-type"), "user.created");
    assert_eq!(delivery.header("raptor-delivery-attempt"), "1");

    let listed = deliveries(&api, &org, &endpoint).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["eventId"], audited[0]["id"]);
    assert_eq!(listed[0]["status"], "succeeded");
    assert_eq!(listed[0]["attemptCount"], 1);
    assert_eq!(listed[0]["attempts"][0]["statusCode"], 200);
    assert_eq!(listed[0]["nextAttemptAt"], Value::Null);

    // A second run finds nothing new: the stream's records are dispatched once. A change
    // refused (its transaction cancelled) leaves no event to deliver.
    api.post(
        "/users",
        &org.admin_key,
        json!({ "email": "new.hire@example.com", "displayName": "Twice" }),
    )
    .await
    .expect_error(409, "conflict");
    api.run_webhooks().await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn another_organizations_events_and_endpoints_stay_its_own() {
    let api = TestApi::new().await;
    let ours = api.new_organization().await;
    let theirs = api.new_organization().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&api, &ours, &receiver.url("/ours"), &["user.created"]).await;
    api.create_user(&theirs, "someone@theirs.example.com", "Someone").await;
    api.run_webhooks().await;
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());

    api.get(&format!("/webhook-endpoints/{endpoint}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    api.get(&format!("/webhook-endpoints/{endpoint}/deliveries"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    api.patch(
        &format!("/webhook-endpoints/{endpoint}"),
        &theirs.admin_key,
        json!({ "url": receiver.url("/stolen") }),
    )
    .await
    .expect_error(404, "not_found");
    let theirs_listed = api.get("/webhook-endpoints", &theirs.admin_key).await.expect(200);
    assert_eq!(theirs_listed["data"], json!([]));
}

#[tokio::test]
async fn a_failed_attempt_is_retried_on_the_backoff_and_a_stall_is_a_failure() {
    let (api, org) = organization_at_nine().await;
    let receiver = Receiver::start().await;
    receiver.answer_next(&[
        Answer::Status(500),
        Answer::Stall(WEBHOOK_ATTEMPT_TIMEOUT + Duration::from_secs(2)),
    ]);
    let (endpoint, secret) = register(&api, &org, &receiver.url("/flaky"), &["user.created"]).await;
    api.create_user(&org, "retry@example.com", "Retry Me").await;
    api.run_webhooks().await;

    let first = &deliveries(&api, &org, &endpoint).await[0];
    assert_eq!(first["status"], "pending");
    assert_eq!(first["attempts"][0]["statusCode"], 500);
    assert_eq!(first["attempts"][0]["error"], "the endpoint answered HTTP 500");
    assert_eq!(first["nextAttemptAt"], "2026-11-02T09:01:00Z", "{first}");

    // Not due yet: the sweep sends nothing.
    assert_eq!(api.sweep_webhooks().await, 0);
    assert_eq!(receiver.received().len(), 1);

    api.clock().set(Timestamp::parse("t", "2026-11-02T09:01:00Z").unwrap());
    assert_eq!(api.sweep_webhooks().await, 1);
    let second = &deliveries(&api, &org, &endpoint).await[0];
    assert_eq!(second["status"], "pending");
    assert_eq!(second["attempts"][1]["statusCode"], Value::Null);
    assert!(
        second["attempts"][1]["error"]
            .as_str()
            .unwrap()
            .starts_with("no answer within"),
        "{second}"
    );
    assert_eq!(
        second["nextAttemptAt"], "2026-11-02T09:06:00Z",
        "five minutes after the second"
    );

    api.clock().set(Timestamp::parse("t", "2026-11-02T09:06:00Z").unwrap());
    assert_eq!(api.sweep_webhooks().await, 1);
    let third = &deliveries(&api, &org, &endpoint).await[0];
    assert_eq!(third["status"], "succeeded");
    assert_eq!(third["attemptCount"], 3);

    let received = receiver.received();
    assert_eq!(received.len(), 3);
    for (number, attempt) in received.iter().enumerate() {
        assert_eq!(attempt.header("raptor-delivery-attempt"), (number + 1).to_string());
        assert_eq!(attempt.header("raptor-event-id"), received[0].header("raptor-event-id"));
        assert_eq!(attempt.body, received[0].body, "every attempt sends the same event");
        assert!(signed_with(attempt, &secret));
    }
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_until_the_overlap_ends() {
    let (api, org) = organization_at_nine().await;
    let receiver = Receiver::start().await;
    let (endpoint, old) = register(&api, &org, &receiver.url("/rotating"), &["user.created"]).await;
    let rotated = api
        .post(
            &format!("/webhook-endpoints/{endpoint}/rotate-secret"),
            &org.admin_key,
            json!({ "expireCurrentSecretInHours": 1 }),
        )
        .await
        .expect(200);
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(rotated["previousSecretExpiresAt"], "2026-11-02T10:00:00Z");

    api.create_user(&org, "during@example.com", "During Overlap").await;
    api.run_webhooks().await;
    let during = &receiver.received()[0];
    assert_eq!(signature_count(during), 2);
    assert!(signed_with(during, &old) && signed_with(during, &new));

    api.clock().set(Timestamp::parse("t", "2026-11-02T10:00:01Z").unwrap());
    api.create_user(&org, "after@example.com", "After Overlap").await;
    api.run_webhooks().await;
    let after = &receiver.received()[1];
    assert_eq!(signature_count(after), 1);
    assert!(signed_with(after, &new) && !signed_with(after, &old));
    let shown = api
        .get(&format!("/webhook-endpoints/{endpoint}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(shown["previousSecretExpiresAt"], Value::Null);

    api.post(
        &format!("/webhook-endpoints/{endpoint}/rotate-secret"),
        &org.admin_key,
        json!({ "expireCurrentSecretInHours": 169 }),
    )
    .await
    .expect_error(400, "validation_error");
}

#[tokio::test]
async fn a_delivery_is_resent_on_request_and_a_disabled_or_deleted_endpoint_gets_nothing() {
    let (api, org) = organization_at_nine().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&api, &org, &receiver.url("/resend"), &["user.created", "user.updated"]).await;
    let user = api.create_user(&org, "resend@example.com", "Resend Me").await;
    api.run_webhooks().await;
    let event = deliveries(&api, &org, &endpoint).await[0]["eventId"]
        .as_str()
        .unwrap()
        .to_string();

    let resent = api
        .post(
            &format!("/webhook-endpoints/{endpoint}/deliveries/{event}/resend"),
            &org.admin_key,
            json!({}),
        )
        .await
        .expect(202);
    assert_eq!(resent["status"], "pending");
    assert_eq!(api.sweep_webhooks().await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].body, received[0].body);
    assert_eq!(received[1].header("raptor-delivery-attempt"), "2");
    let trail = api.audit_trail_of(&org, &endpoint).await;
    assert!(
        trail
            .iter()
            .any(|event| event["action"] == "webhook_endpoint.delivery_resent"
                && event["summary"]["eventId"] == json!(event_id_of(&resent))),
        "{trail:?}"
    );

    api.patch(
        &format!("/webhook-endpoints/{endpoint}"),
        &org.admin_key,
        json!({ "enabled": false }),
    )
    .await
    .expect(200);
    api.patch(
        &format!("/users/{user}"),
        &org.admin_key,
        json!({ "displayName": "Renamed" }),
    )
    .await
    .expect(200);
    api.run_webhooks().await;
    assert_eq!(receiver.received().len(), 2, "nothing to a disabled endpoint");

    // A delivery waiting for its retry when the endpoint is deleted is cancelled.
    api.patch(
        &format!("/webhook-endpoints/{endpoint}"),
        &org.admin_key,
        json!({ "enabled": true }),
    )
    .await
    .expect(200);
    receiver.answer_next(&[Answer::Status(503)]);
    let second = api.create_user(&org, "second@example.com", "Second").await;
    api.run_webhooks().await;
    assert_eq!(receiver.received().len(), 3);
    // Found by its event: every event of this test has the same millisecond.
    let second_event = api.audit_trail_of(&org, &second).await[0]["id"].clone();
    let waiting = deliveries(&api, &org, &endpoint)
        .await
        .into_iter()
        .find(|delivery| delivery["eventId"] == second_event)
        .expect("the second user's delivery");
    assert_eq!(waiting["status"], "pending");
    let response = api
        .delete(&format!("/webhook-endpoints/{endpoint}"), &org.admin_key)
        .await;
    assert_eq!(response.status, 204);
    api.clock().set(Timestamp::parse("t", "2026-11-03T09:00:00Z").unwrap());
    api.sweep_webhooks().await;
    assert_eq!(receiver.received().len(), 3, "nothing after the delete");
    let waiting_event = raptor_shared::ids::EventId::parse("e", waiting["eventId"].as_str().unwrap()).unwrap();
    let endpoint_id = raptor_shared::ids::WebhookEndpointId::parse("e", &endpoint).unwrap();
    let cancelled = raptor_shared::store::webhooks::get_delivery(api.store(), &org.id, &endpoint_id, &waiting_event)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cancelled.status,
        raptor_shared::model::webhooks::DeliveryStatus::Cancelled
    );
    api.get(&format!("/webhook-endpoints/{endpoint}"), &org.admin_key)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn urls_and_event_types_are_refused_clearly() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for (url, why) in [
        ("http://hooks.example.com/raptor", "https"),
        ("https://10.0.0.8/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "private"),
        ("https://[fd00:ec2::254]/", "private"),
        ("https://user:secret@hooks.example.com/", "user name"),
        ("not a url", "white space"),
        ("http://10.0.0.8/hook", "https"),
    ] {
        let refused = api
            .post(
                "/webhook-endpoints",
                &org.admin_key,
                json!({ "url": url, "eventTypes": ["user.created"] }),
            )
            .await
            .expect_error(400, "validation_error");
        let message = refused["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(why), "{url}: {refused}");
        assert_eq!(refused["error"]["field"], "url", "{url}: {refused}");
    }
    for (types, field) in [
        (json!([]), "eventTypes"),
        (json!(["user.created", "user.exploded"]), "eventTypes[1]"),
    ] {
        let refused = api
            .post(
                "/webhook-endpoints",
                &org.admin_key,
                json!({ "url": "https://hooks.example.com/", "eventTypes": types }),
            )
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    let (endpoint, _) = register(&api, &org, "https://hooks.example.com/raptor", &["user.created"]).await;
    api.patch(
        &format!("/webhook-endpoints/{endpoint}"),
        &org.admin_key,
        json!({ "url": "https://192.168.0.10/" }),
    )
    .await
    .expect_error(400, "validation_error");
    let kept = api
        .get(&format!("/webhook-endpoints/{endpoint}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(kept["url"], "https://hooks.example.com/raptor");
}

#[tokio::test]
async fn only_who_may_read_the_audit_trail_points_an_endpoint_at_it() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let body = json!({ "url": "https://hooks.example.com/", "eventTypes": ["user.created"] });
    let (_, developer) = api.member_with_key(&org, "dev@example.com", &["developer"]).await;
    api.post("/webhook-endpoints", &developer, body.clone())
        .await
        .expect_error(403, "forbidden");
    // A role given webhooks:write by a careless admin, without audit:read, still cannot.
    let role = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Hook keeper", "permissions": ["webhooks:write", "webhooks:read"] }),
        )
        .await
        .expect(201);
    let (_, keeper) = api
        .member_with_key(&org, "keeper@example.com", &[role["id"].as_str().unwrap()])
        .await;
    let refused = api
        .post("/webhook-endpoints", &keeper, body.clone())
        .await
        .expect_error(403, "forbidden");
    assert!(refused.to_string().contains("audit:read"), "{refused}");
    api.get("/webhook-endpoints", &keeper).await.expect(200);
    let (_, auditor) = api.member_with_key(&org, "auditor@example.com", &["auditor"]).await;
    api.get("/webhook-endpoints", &auditor)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_deployed_sender_never_reaches_a_private_address_whatever_the_url_says() {
    let receiver = Receiver::start().await;
    let client = WebhookClient::new(DestinationPolicy::DEPLOYED, Duration::from_secs(2)).unwrap();
    let literal = client.post(&receiver.url("/x"), &[], b"{}".to_vec()).await;
    assert_eq!(literal.status_code, None);
    assert!(
        literal.error.as_deref().unwrap().starts_with("refused before sending"),
        "{literal:?}"
    );
    // A name for this machine, however written, is refused too (the resolver's own check,
    // for names that resolve to a private address, is shared/src/webhook_client.rs's test).
    let port = receiver.url("").rsplit(':').next().unwrap().to_string();
    let named = client
        .post(&format!("https://LocalHost.:{port}/x"), &[], b"{}".to_vec())
        .await;
    assert_eq!(named.status_code, None, "{named:?}");
    assert!(named.error.as_deref().unwrap().contains("localhost"), "{named:?}");
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
}

#[tokio::test]
async fn a_delivery_whose_event_left_the_table_fails_once_and_is_not_tried_again() {
    let (api, org) = organization_at_nine().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&api, &org, &receiver.url("/gone"), &["user.created"]).await;
    let user = api.create_user(&org, "gone@example.com", "Gone").await;
    // Dispatched, then the event deleted by hand (an operator with table access), then sent.
    let batch = api.new_stream_records().await.expect("new events");
    webhook_dispatcher::handle(&api.webhooks, batch)
        .await
        .expect("dispatch");
    let event = api.audit_trail_of(&org, &user).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.store()
        .client()
        .delete_item()
        .table_name(api.store().table())
        .key("PK", AttributeValue::S(format!("ORG#{}#AUDIT", org.id)))
        .key("SK", AttributeValue::S(event.clone()))
        .send()
        .await
        .expect("delete the event");
    api.drain_webhook_queue().await;
    api.clock().set(Timestamp::parse("t", "2026-11-03T09:00:00Z").unwrap());
    api.sweep_webhooks().await;
    assert!(receiver.received().is_empty());
    let failed = deliveries(&api, &org, &endpoint).await;
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["attemptCount"], 1);
    assert!(
        failed[0]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not in the audit trail"),
        "{failed:?}"
    );
    // The failed ones alone, as an operator looks for them.
    let path = format!("/webhook-endpoints/{endpoint}/deliveries");
    let only_failed = api
        .get(&format!("{path}?status=failed"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(only_failed["data"].as_array().unwrap().len(), 1);
    let succeeded = api
        .get(&format!("{path}?status=succeeded"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(succeeded["data"], json!([]));
    api.get(&format!("{path}?status=lost"), &org.admin_key)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn user_deactivated_is_a_suspension_or_a_deletion_delivered_as_recorded() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = &org.admin_key;
    let receiver = Receiver::start().await;
    let (_, secret) = register(&api, &org, &receiver.url("/offboarding"), &["user.deactivated"]).await;
    let leaver = api.create_user(&org, "leaver@example.com", "Leaver").await;
    let mover = api.create_user(&org, "mover@example.com", "Mover").await;
    api.patch(&format!("/users/{mover}"), key, json!({ "displayName": "Moved" }))
        .await
        .expect(200);
    api.patch(&format!("/users/{leaver}"), key, json!({ "status": "suspended" }))
        .await
        .expect(200);
    api.patch(&format!("/users/{leaver}"), key, json!({ "status": "active" }))
        .await
        .expect(200);
    api.delete(&format!("/users/{mover}"), key).await.expect(200);
    api.run_webhooks().await;

    let received = receiver.received();
    assert_eq!(received.len(), 2, "the suspension and the deletion only: {received:?}");
    let mut kinds: Vec<(String, String)> = received
        .iter()
        .map(|delivery| {
            let event = delivery.json();
            (
                event["action"].as_str().unwrap().to_string(),
                event["targetId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("user.deleted".to_string(), mover.clone()),
            ("user.updated".to_string(), leaver.clone())
        ]
    );
    for delivery in &received {
        assert!(signed_with(delivery, &secret));
        assert_eq!(
            delivery.header("raptor-event-type"),
            delivery.json()["action"].as_str().unwrap()
        );
    }
}
