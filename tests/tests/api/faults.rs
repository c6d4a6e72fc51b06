//! Faults of DynamoDB, SES and S3 in their real wire form, through the fault proxy
//! (`integration_tests::fault_proxy`), with the functions' own retry policy and timeouts:
//! a fault that clears is retried to success and recorded once; one that persists is
//! `503 unavailable` with `Retry-After`, and nothing is left half made.

use std::time::Duration;

use integration_tests::fault_proxy::{Fault, Target, Times};
use integration_tests::{FaultProxy, TestApi, TestOrg, TestResponse, sent_emails_to};
use serde_json::{Value, json};

const TRANSACTION: &str = "DynamoDB.TransactWriteItems";

async fn faulty_api() -> (FaultProxy, TestApi, TestOrg) {
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    let api = TestApi::through(&proxy).await;
    let org = api.new_organization().await;
    proxy.forget_seen();
    (proxy, api, org)
}

async fn create_facility(api: &TestApi, org: &TestOrg, name: &str) -> TestResponse {
    api.post(
        "/facilities",
        &org.admin_key,
        json!({ "name": name, "impactRating": "high" }),
    )
    .await
}

async fn facility_names(api: &TestApi, org: &TestOrg) -> Vec<String> {
    let list = api.get("/facilities", &org.admin_key).await.expect(200);
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|facility| facility["name"].as_str().unwrap().to_string())
        .collect()
}

async fn events_named(api: &TestApi, org: &TestOrg, action: &str) -> usize {
    let events = api.get("/audit-events?limit=100", &org.admin_key).await.expect(200);
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["action"] == action)
        .count()
}

/// The `ClientRequestToken` of each transaction the proxy saw, in order.
fn transaction_tokens(proxy: &FaultProxy) -> Vec<Option<String>> {
    proxy
        .seen()
        .into_iter()
        .filter(|seen| seen.call == TRANSACTION)
        .map(|seen| seen.token)
        .collect()
}

#[track_caller]
fn expect_unavailable(response: TestResponse) -> Value {
    let retry_after = response
        .headers
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_string());
    let body = response.expect_error(503, "unavailable");
    assert_eq!(retry_after.as_deref(), Some("1"), "503 carries Retry-After");
    body
}

#[tokio::test]
async fn a_throttled_or_failing_commit_that_clears_is_retried_and_recorded_once() {
    let (proxy, api, org) = faulty_api().await;
    for (name, fault) in [
        ("Throttled", Fault::ThroughputExceeded),
        ("Throttling", Fault::Throttling),
        ("Server error", Fault::InternalServerError),
    ] {
        proxy.forget_seen();
        proxy.fault(Target::DynamoDb("TransactWriteItems"), fault.clone(), Times::Next(1));
        create_facility(&api, &org, name).await.expect(201);
        proxy.heal();
        assert_eq!(
            proxy.count(TRANSACTION),
            2,
            "{fault:?}: one faulted attempt, one that landed"
        );
        assert_eq!(proxy.faults_injected(), 1);
    }
    assert_eq!(facility_names(&api, &org).await.len(), 3);
    assert_eq!(events_named(&api, &org, "facility.created").await, 3);
}

#[tokio::test]
async fn a_persistent_fault_on_the_commit_after_the_reads_is_503_and_writes_nothing() {
    let (proxy, api, org) = faulty_api().await;
    for fault in [Fault::InternalServerError, Fault::ThroughputExceeded] {
        proxy.forget_seen();
        proxy.fault(Target::DynamoDb("TransactWriteItems"), fault.clone(), Times::Always);
        let body = expect_unavailable(create_facility(&api, &org, "Never made").await);
        assert!(
            !body.to_string().contains("InternalServerError"),
            "no internals: {body}"
        );
        proxy.heal();
        assert!(
            proxy.count("DynamoDB.GetItem") >= 1,
            "the reads before the commit went through"
        );
        assert_eq!(
            proxy.count(TRANSACTION),
            raptor_shared::app::CALL_ATTEMPTS as usize,
            "{fault:?}: the SDK's attempts, then the answer"
        );
    }
    assert!(facility_names(&api, &org).await.is_empty());
    assert_eq!(events_named(&api, &org, "facility.created").await, 0);
}

#[tokio::test]
async fn a_transaction_conflict_is_tried_again_and_never_a_409() {
    let (proxy, api, org) = faulty_api().await;
    // A new member is several writes (the member, its email marker, the event); the last
    // one conflicts.
    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::TransactionConflict(None),
        Times::Next(1),
    );
    let created = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": "conflicted@utility.example", "displayName": "Conflicted Once" }),
        )
        .await
        .expect(201);
    proxy.heal();
    let tokens = transaction_tokens(&proxy);
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert!(
        tokens[0].is_some() && tokens[0] != tokens[1],
        "a cancelled transaction wrote nothing: the next attempt is a new one: {tokens:?}"
    );
    let id = created["id"].as_str().unwrap();
    assert_eq!(api.audit_trail_of(&org, id).await.len(), 1);

    // A conflict that never clears is a dependency's fault, not the caller's conflict.
    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::TransactionConflict(Some(0)),
        Times::Always,
    );
    expect_unavailable(
        api.post(
            "/users",
            &org.admin_key,
            json!({ "email": "never@utility.example", "displayName": "Never Made" }),
        )
        .await,
    );
    proxy.heal();
    let users = api.get("/users?limit=100", &org.admin_key).await.expect(200);
    assert!(!users.to_string().contains("never@utility.example"));
}

#[tokio::test]
async fn a_transaction_still_in_progress_is_asked_again_under_its_own_token() {
    let (proxy, api, org) = faulty_api().await;
    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::TransactionInProgress,
        Times::Next(1),
    );
    create_facility(&api, &org, "In Progress").await.expect(201);
    proxy.heal();
    let tokens = transaction_tokens(&proxy);
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert!(
        tokens[0].is_some() && tokens[0] == tokens[1],
        "the same token, so DynamoDB answers with the running attempt's outcome: {tokens:?}"
    );
    assert_eq!(facility_names(&api, &org).await, ["In Progress"]);
}

#[tokio::test]
async fn a_commit_whose_answer_was_lost_is_sent_again_and_lands_once() {
    let (proxy, api, org) = faulty_api().await;
    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::LoseAnswer,
        Times::Next(1),
    );
    create_facility(&api, &org, "Answer Lost").await.expect(201);
    proxy.heal();
    let tokens = transaction_tokens(&proxy);
    assert_eq!(tokens.len(), 2, "the SDK sent the transaction again: {tokens:?}");
    assert!(tokens[0].is_some(), "the transaction carries a ClientRequestToken");
    assert_eq!(
        tokens[0], tokens[1],
        "the same one both times, so DynamoDB runs it once"
    );
    assert_eq!(facility_names(&api, &org).await, ["Answer Lost"]);
    assert_eq!(events_named(&api, &org, "facility.created").await, 1);
}

#[tokio::test]
async fn throttled_reads_are_retried_and_a_stalled_call_ends_in_503_not_a_hang() {
    // The functions' own timeouts: 2 s an attempt, 4 s a call.
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    let api = TestApi::through_with_timeouts(&proxy).await;
    let org = api.new_organization().await;
    proxy.fault(Target::DynamoDb("GetItem"), Fault::ThroughputExceeded, Times::Next(2));
    api.get("/users/me", &org.admin_key).await.expect(200);
    proxy.heal();

    // Each attempt outlasts its timeout; the call's own timeout ends the request.
    proxy.fault(
        Target::DynamoDb("GetItem"),
        Fault::Delay(Duration::from_secs(3)),
        Times::Always,
    );
    expect_unavailable(api.get("/users/me", &org.admin_key).await);
    proxy.heal();
    api.get("/users/me", &org.admin_key).await.expect(200);
}

#[tokio::test]
async fn a_keyed_request_that_failed_on_a_fault_runs_when_retried_and_then_replays() {
    let (proxy, api, org) = faulty_api().await;
    let body = json!({ "name": "Keyed Site" });
    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::InternalServerError,
        Times::Always,
    );
    expect_unavailable(
        api.post_with_key("/facilities", &org.admin_key, "site-1", body.clone())
            .await,
    );
    proxy.heal();
    assert!(facility_names(&api, &org).await.is_empty());

    // The 503 released the key: the retry runs, and its change and answer commit together.
    proxy.forget_seen();
    let created = api
        .post_with_key("/facilities", &org.admin_key, "site-1", body.clone())
        .await
        .expect(201);
    assert_eq!(
        proxy.count(TRANSACTION),
        1,
        "the change and its answer: one transaction"
    );
    assert_eq!(proxy.count("DynamoDB.PutItem"), 1, "the claim; no separate record");
    let again = api.post_with_key("/facilities", &org.admin_key, "site-1", body).await;
    assert_eq!(again.expect(201), created);
    assert_eq!(facility_names(&api, &org).await, ["Keyed Site"]);
}

#[tokio::test]
async fn a_throttled_email_service_is_503_and_no_invitation_is_stored() {
    let (proxy, api, org) = faulty_api().await;
    proxy.fault(Target::Ses("SendEmail"), Fault::SesThrottling, Times::Always);
    expect_unavailable(
        api.post(
            "/invitations",
            &org.admin_key,
            json!({ "email": "throttled@invitee.example", "roles": [] }),
        )
        .await,
    );
    proxy.heal();
    assert!(proxy.count("SES.SendEmail") >= 1);
    let invitations = api.get("/invitations", &org.admin_key).await.expect(200);
    assert_eq!(invitations["data"], json!([]));
    assert_eq!(events_named(&api, &org, "invitation.created").await, 0);
}

#[tokio::test]
async fn a_resend_whose_record_fails_after_the_email_keeps_the_old_link_and_counts_nothing() {
    let (proxy, api, org) = faulty_api().await;
    let address = format!("resend-{}@invitee.example", org.id.as_str().to_ascii_lowercase());
    let invitation = api
        .post("/invitations", &org.admin_key, json!({ "email": address }))
        .await
        .expect(201);
    let resend = format!("/invitations/{}/resend", invitation["id"].as_str().unwrap());
    let first_link = sent_emails_to(&address)[0].token();

    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::InternalServerError,
        Times::Always,
    );
    expect_unavailable(api.call("POST", &resend, Some(&org.admin_key), None).await);
    proxy.heal();
    let sent = sent_emails_to(&address);
    assert_eq!(sent.len(), 2, "SES took the resent email before the record failed");
    let unrecorded_link = sent[1].token();

    // The record is what it was: the first link works, the unrecorded one gets the
    // uniform invalid answer, and neither count includes the email it does not name.
    let validate = |token: String| {
        let api = &api;
        async move {
            api.call("GET", &format!("/invitations/validate?token={token}"), None, None)
                .await
                .status
        }
    };
    assert_eq!(validate(first_link.clone()).await, 200);
    assert_eq!(validate(unrecorded_link).await, 404);
    let listed = api.get("/invitations", &org.admin_key).await.expect(200);
    assert_eq!(listed["data"][0]["sendCount"], 1);
    assert_eq!(events_named(&api, &org, "invitation.resent").await, 0);

    // Resending again, as the 503 asks, sends a link that works and retires the first.
    let resent = api.call("POST", &resend, Some(&org.admin_key), None).await.expect(200);
    assert_eq!(resent["sendCount"], 2);
    let sent = sent_emails_to(&address);
    assert_eq!(sent.len(), 3);
    assert_eq!(validate(sent[2].token()).await, 200);
    assert_eq!(validate(first_link).await, 404);
    assert_eq!(events_named(&api, &org, "invitation.resent").await, 1);
}

/// The multipart uploads left open in the test's exports bucket (S3 ListMultipartUploads).
fn open_uploads(api: &TestApi) -> usize {
    let bucket = format!("exports-{}", api.store().table().to_ascii_lowercase());
    let url = format!("http://{}/{bucket}?uploads", TestApi::emulator_address());
    let listing = ureq::get(&url)
        .call()
        .expect("list the bucket's uploads")
        .body_mut()
        .read_to_string()
        .expect("an XML listing");
    listing.matches("<Upload>").count()
}

#[tokio::test]
async fn an_export_whose_file_s3_refuses_is_503_with_no_link_and_no_upload_left() {
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    // A 300-byte response limit sends the file to S3, as 6 MB does in production.
    let api = TestApi::through(&proxy).await.with_inline_export_limit(300);
    let p = crate::training_program::program(&api).await;
    for days in [10, 20, 30] {
        crate::training_program::assign(&api, &p, &crate::training_program::due_in(days)).await;
    }
    let export = || api.get("/training-assignments/export", &p.org.admin_key);

    // The file is started, and its part never lands: the answer is 503, and the
    // half-written file is discarded.
    proxy.fault(Target::S3Method("PUT"), Fault::S3SlowDown, Times::Always);
    let refused = export().await;
    assert!(refused.headers.get("location").is_none());
    expect_unavailable(refused);
    proxy.heal();
    assert!(proxy.count("S3.POST") >= 1, "the upload was started");
    assert_eq!(open_uploads(&api), 0, "the failed file was aborted");
    // Every part lands and the file is never completed: the same.
    proxy.fault(Target::S3Method("POST"), Fault::S3SlowDown, Times::After(1));
    expect_unavailable(export().await);
    proxy.heal();
    assert_eq!(open_uploads(&api), 0, "the uncompleted file was aborted");

    // S3 slowing down once is retried: the link comes, and it works.
    proxy.fault(Target::S3, Fault::S3SlowDown, Times::Next(1));
    let answer = export().await;
    proxy.heal();
    assert_eq!(answer.status, 303, "{}", answer.body);
    let link = answer.headers["location"].to_str().unwrap().to_string();
    // The link is the proxy's, served by this test's runtime: fetched off it.
    let file = tokio::task::spawn_blocking(move || {
        ureq::get(&link)
            .call()
            .expect("the link answers")
            .body_mut()
            .read_to_string()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(file.lines().count(), 4, "a header and three rows: {file}");
}
