//! `Idempotency-Key` on every POST (`docs/idempotency.md`): a retry of the same request
//! gets the first response and changes nothing; another request under the key, or one
//! still running, is `409 idempotency_conflict`; keys belong to one caller; 24 hours.

use futures::join;
use integration_tests::{INVITATION_SENDER, TestApi, TestOrg, TestResponse};
use raptor_shared::ids::UserId;
use raptor_shared::mail::Mailer;
use raptor_shared::model::api_keys;
use raptor_shared::model::idempotency::{
    IdempotencyKey, IdempotencyRecord, IdempotencyScope, RequestIdentity, ResponseSeal,
};
use raptor_shared::routes::ROUTES;
use raptor_shared::store::idempotency::{self as records, Claim};
use raptor_shared::time::Timestamp;
use serde_json::{Value, json};

/// A key no other request of the test uses.
fn fresh_key() -> String {
    format!("retry-{}", UserId::new().as_str())
}

fn replayed(response: &TestResponse) -> bool {
    response
        .headers
        .get("idempotent-replayed")
        .is_some_and(|value| value == "true")
}

fn id_of(object: &Value) -> String {
    object["id"].as_str().expect("an id").to_string()
}

/// The organization's users with `email`.
async fn users_with_email(api: &TestApi, org: &TestOrg, email: &str) -> Vec<Value> {
    let listed = api.get("/users?limit=100", &org.admin_key).await.expect(200);
    listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|user| user["email"] == email)
        .cloned()
        .collect()
}

/// The scope of a key presented by an organization's admin, as the guard builds it.
fn admin_scope(org: &TestOrg) -> IdempotencyScope {
    let (api_key, _) = api_keys::parse_token(&org.admin_key).expect("an API key token");
    IdempotencyScope::ApiKey {
        org: org.id.clone(),
        api_key,
    }
}

#[tokio::test]
async fn a_retried_create_returns_the_first_user_and_creates_nothing_more() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = fresh_key();
    let body = json!({ "email": "once@utility.example", "displayName": "Only Once" });

    let first = api.post_with_key("/users", &org.admin_key, &key, body.clone()).await;
    assert!(!replayed(&first), "a first response is not a replay");
    let created = first.expect(201);
    let retry = api.post_with_key("/users", &org.admin_key, &key, body).await;
    assert!(replayed(&retry), "{:?}", retry.headers);
    assert_eq!(retry.expect(201), created, "the same user, id and all");

    assert_eq!(users_with_email(&api, &org, "once@utility.example").await.len(), 1);
    let actions: Vec<Value> = api
        .audit_trail_of(&org, &id_of(&created))
        .await
        .iter()
        .map(|event| event["action"].clone())
        .collect();
    assert_eq!(actions, vec![json!("user.created")], "one audit event");
}

#[tokio::test]
async fn an_lms_posting_the_same_completion_twice_completes_the_assignment_once() {
    let api = TestApi::new().await;
    let program = crate::training_program::program(&api).await;
    let org = &program.org;
    let assignment = crate::training_program::assign(&api, &program, "2999-12-31").await;
    let path = format!("/training-assignments/{}/complete", id_of(&assignment));
    let completion = json!({ "completedAt": "2025-04-10T14:15:00Z", "score": 94, "certificateReference": "LMS-7781" });
    let key = "lms-completion-7781";

    let first = api
        .post_with_key(&path, &org.admin_key, key, completion.clone())
        .await
        .expect(200);
    assert_eq!(first["status"], "complete");
    // Without a key the second post would be refused (409: already complete); with it,
    // the LMS gets the answer it missed.
    let second = api.post_with_key(&path, &org.admin_key, key, completion).await;
    assert!(replayed(&second));
    assert_eq!(second.expect(200), first);

    let completions = api
        .audit_trail_of(org, &id_of(&assignment))
        .await
        .iter()
        .filter(|event| event["action"] == "training_assignment.completed")
        .count();
    assert_eq!(completions, 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_an_idempotency_conflict() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = fresh_key();
    let created = api
        .post_with_key(
            "/users",
            &org.admin_key,
            &key,
            json!({ "email": "first@utility.example", "displayName": "First" }),
        )
        .await
        .expect(201);

    let other_body = api
        .post_with_key(
            "/users",
            &org.admin_key,
            &key,
            json!({ "email": "second@utility.example", "displayName": "Second" }),
        )
        .await;
    assert!(!replayed(&other_body));
    let refused = other_body.expect_error(409, "idempotency_conflict");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("different request")
    );
    // Another route under the same key is another request too.
    api.post_with_key("/roles", &org.admin_key, &key, json!({ "name": "Auditors" }))
        .await
        .expect_error(409, "idempotency_conflict");
    // The JSON means the same but the bytes differ (`json!` sorts the fields; this does not):
    // another request, for the body is compared as sent, never parsed.
    let reordered = r#"{"email":"first@utility.example","displayName":"First"}"#;
    api.call_with_headers(
        "POST",
        "/users",
        Some(&org.admin_key),
        Some(reordered),
        &[("Idempotency-Key", &key)],
    )
    .await
    .expect_error(409, "idempotency_conflict");

    assert!(users_with_email(&api, &org, "second@utility.example").await.is_empty());
    assert_eq!(
        users_with_email(&api, &org, "first@utility.example").await[0]["id"],
        created["id"]
    );
}

#[tokio::test]
async fn two_concurrent_requests_with_one_key_create_exactly_one_user() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = fresh_key();
    let body = json!({ "email": "race@utility.example", "displayName": "Racer" });

    let (one, two) = join!(
        api.post_with_key("/users", &org.admin_key, &key, body.clone()),
        api.post_with_key("/users", &org.admin_key, &key, body.clone()),
    );
    let (winner, loser) = if one.status == 201 && !replayed(&one) {
        (one, two)
    } else {
        (two, one)
    };
    assert!(!replayed(&winner), "one of them ran: {winner:?} / {loser:?}");
    let created = winner.expect(201);
    // The other either met the claim (in progress) or, if the first had finished, its replay.
    if loser.status == 409 {
        let refused = loser.expect_error(409, "idempotency_conflict");
        assert!(refused["error"]["message"].as_str().unwrap().contains("in progress"));
    } else {
        assert!(replayed(&loser), "{loser:?}");
        assert_eq!(loser.expect(201)["id"], created["id"]);
    }

    assert_eq!(users_with_email(&api, &org, "race@utility.example").await.len(), 1);
    // Once the first has finished, a retry replays it.
    let retry = api.post_with_key("/users", &org.admin_key, &key, body).await;
    assert!(replayed(&retry));
    assert_eq!(retry.expect(201)["id"], created["id"]);
}

#[tokio::test]
async fn another_callers_identical_key_is_its_own_key() {
    let api = TestApi::new().await;
    let ours = api.new_organization().await;
    let theirs = api.new_organization().await;
    let key = "create-training-coordinator";
    let body = json!({ "email": "coordinator@utility.example", "displayName": "Coordinator" });

    let mine = api
        .post_with_key("/users", &ours.admin_key, key, body.clone())
        .await
        .expect(201);
    // Another organization: a fresh execution, its own user.
    let other_org = api.post_with_key("/users", &theirs.admin_key, key, body.clone()).await;
    assert!(!replayed(&other_org));
    let their_user = other_org.expect(201);
    assert_ne!(their_user["id"], mine["id"]);
    assert_eq!(
        users_with_email(&api, &theirs, "coordinator@utility.example")
            .await
            .len(),
        1
    );

    // Another API key of the very same admin, in the same organization: its own key too,
    // so the request runs (and meets the email the first one took).
    let second_key = api
        .post("/api-keys", &ours.admin_key, json!({ "name": "second key" }))
        .await
        .expect(201)["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let other_key = api.post_with_key("/users", &second_key, key, body.clone()).await;
    assert!(!replayed(&other_key));
    other_key.expect_error(409, "conflict");
    // A create that can run twice shows it plainly: two modules, two ids.
    let module = json!({ "title": "Shared title" });
    let by_first = api
        .post_with_key("/training-modules", &ours.admin_key, "module-key", module.clone())
        .await
        .expect(201);
    let by_second = api
        .post_with_key("/training-modules", &second_key, "module-key", module)
        .await;
    assert!(!replayed(&by_second));
    assert_ne!(by_second.expect(201)["id"], by_first["id"]);

    // And the first caller still gets its own replay.
    let again = api.post_with_key("/users", &ours.admin_key, key, body).await;
    assert!(replayed(&again));
    assert_eq!(again.expect(201), mine);
}

#[tokio::test]
async fn a_key_past_its_24_hours_runs_the_request_again() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let body = json!({ "email": "late@utility.example", "displayName": "Late Retry" }).to_string();
    let request = RequestIdentity {
        method: "POST",
        path: "/users",
        query: "",
        body: body.as_bytes(),
    };
    let seal = ResponseSeal::for_api_key(&org.admin_key).unwrap();
    // A completed record of exactly this request and caller, written through the store as
    // the guard would have written it at `at`, answering with a user that does not exist.
    let keep = async |key: &str, at: Timestamp| {
        let scope = admin_scope(&org);
        let key = IdempotencyKey::parse(key.as_bytes()).unwrap();
        let claim = IdempotencyRecord::claim(request.fingerprint(), at);
        assert!(matches!(
            records::claim(api.store(), &scope, &key, &claim).await.unwrap(),
            Claim::Claimed
        ));
        let completed = claim
            .completed(201, r#"{"id":"usr_01hx2m7k3q9v8c6b5n4m3k2j1h"}"#, &seal)
            .unwrap();
        assert!(records::complete(api.store(), &scope, &key, &completed).await.unwrap());
    };
    let send = async |key: &str| {
        api.call_with_headers(
            "POST",
            "/users",
            Some(&org.admin_key),
            Some(&body),
            &[("Idempotency-Key", key)],
        )
        .await
    };

    // Within its 24 hours, the stored answer is what the request gets (nothing runs)…
    keep("recent", Timestamp::now()).await;
    let recent = send("recent").await;
    assert!(replayed(&recent));
    assert_eq!(recent.expect(201)["id"], "usr_01hx2m7k3q9v8c6b5n4m3k2j1h");
    assert!(users_with_email(&api, &org, "late@utility.example").await.is_empty());

    // …past them (the emulator never deletes by TTL; the code checks), the request runs.
    let two_days_ago = Timestamp::parse("at", "2020-01-01T00:00:00Z").unwrap();
    keep("stale", two_days_ago).await;
    let stale = send("stale").await;
    assert!(!replayed(&stale));
    let created = stale.expect(201);
    assert_ne!(created["id"], "usr_01hx2m7k3q9v8c6b5n4m3k2j1h");
    assert_eq!(users_with_email(&api, &org, "late@utility.example").await.len(), 1);
    // The key now holds the new answer, for 24 hours from now.
    let again = send("stale").await;
    assert!(replayed(&again));
    assert_eq!(again.expect(201), created);
    let key = IdempotencyKey::parse(b"stale").unwrap();
    let record = records::get(api.store(), &admin_scope(&org), &key)
        .await
        .unwrap()
        .unwrap();
    assert!(!record.expired(Timestamp::now()));
}

#[tokio::test]
async fn a_refusal_is_kept_and_replayed_like_a_success() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    api.create_user(&org, "taken@utility.example", "Taken").await;
    let key = fresh_key();
    let body = json!({ "email": "taken@utility.example", "displayName": "Again" });

    let first = api.post_with_key("/users", &org.admin_key, &key, body.clone()).await;
    assert!(!replayed(&first));
    let refused = first.expect_error(409, "conflict");
    let retry = api.post_with_key("/users", &org.admin_key, &key, body).await;
    assert!(replayed(&retry));
    assert_eq!(retry.expect_error(409, "conflict"), refused);

    // A 404 too.
    let missing = "/training-assignments/ta_01hx2m7k3q9v8c6b5n4m3k2j1h/complete";
    let first = api
        .post_with_key(missing, &org.admin_key, "complete-missing", json!({}))
        .await
        .expect_error(404, "not_found");
    let retry = api
        .post_with_key(missing, &org.admin_key, "complete-missing", json!({}))
        .await;
    assert!(replayed(&retry));
    assert_eq!(retry.expect_error(404, "not_found"), first);
}

#[tokio::test]
async fn a_5xx_or_a_429_releases_the_key_so_the_retry_runs() {
    let mut api = TestApi::new().await.with_unverified_sender().with_daily_email_cap(1);
    let org = api.new_organization().await;
    let address = format!("{}@invitee.example", UserId::new().as_str());
    let invitation = json!({ "email": address });

    // SES refuses: 503, nothing kept.
    api.post_with_key("/invitations", &org.admin_key, "invite-1", invitation.clone())
        .await
        .expect_error(503, "unavailable");
    let key = IdempotencyKey::parse(b"invite-1").unwrap();
    assert!(
        records::get(api.store(), &admin_scope(&org), &key)
            .await
            .unwrap()
            .is_none()
    );

    // The sender is fixed; the retry under the same key runs, and is then kept.
    api.invitations.mailer = Mailer::new(api.ses.clone(), INVITATION_SENDER);
    let sent = api
        .post_with_key("/invitations", &org.admin_key, "invite-1", invitation.clone())
        .await;
    assert!(!replayed(&sent));
    let created = sent.expect(201);
    let again = api
        .post_with_key("/invitations", &org.admin_key, "invite-1", invitation)
        .await;
    assert!(replayed(&again));
    assert_eq!(again.expect(201), created);

    // The day's cap is reached: 429, nothing kept either.
    let capped = json!({ "email": format!("{}@invitee.example", UserId::new().as_str()) });
    api.post_with_key("/invitations", &org.admin_key, "invite-2", capped)
        .await
        .expect_error(429, "rate_limited");
    let key = IdempotencyKey::parse(b"invite-2").unwrap();
    assert!(
        records::get(api.store(), &admin_scope(&org), &key)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_malformed_key_is_a_validation_error_naming_the_header() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let body = json!({ "email": "never@utility.example", "displayName": "Never" }).to_string();
    let too_long = "k".repeat(256);
    for malformed in ["", too_long.as_str(), "clé", "tab\there"] {
        let response = api
            .call_with_headers(
                "POST",
                "/users",
                Some(&org.admin_key),
                Some(&body),
                &[("Idempotency-Key", malformed)],
            )
            .await;
        let refused = response.expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], "Idempotency-Key", "{malformed:?}");
    }
    assert!(users_with_email(&api, &org, "never@utility.example").await.is_empty());
    // The longest key there may be is fine.
    api.call_with_headers(
        "POST",
        "/users",
        Some(&org.admin_key),
        Some(&body),
        &[("Idempotency-Key", &"k".repeat(255))],
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn every_post_route_reads_the_key() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    // xAPI's POST is idempotent by the statement ids it carries (tests/tests/api/xapi.rs),
    // SCIM's by the unique `userName` or `displayName` (tests/tests/api/scim.rs).
    for route in ROUTES
        .iter()
        .filter(|route| route.method == "POST" && !route.idempotent_by_own_ids)
    {
        // Well-formed ids that name nothing: the header is judged before anything is read.
        let path = route
            .path
            .replace("{id}", "ta_01hx2m7k3q9v8c6b5n4m3k2j1h")
            .replace("{facilityId}", "fac_01hx2m7k3q9v8c6b5n4m3k2j1h")
            .replace("{eventId}", "evt_01hx2m7k3q9v8c6b5n4m3k2j1h");
        let key = (!route.public).then_some(org.admin_key.as_str());
        let response = api
            .call_with_headers("POST", &path, key, Some("{}"), &[("Idempotency-Key", "")])
            .await;
        assert_eq!(
            (response.status, response.body["error"]["field"].as_str()),
            (400, Some("Idempotency-Key")),
            "{} {}: {}",
            route.method,
            route.path,
            response.body
        );
    }
}

#[tokio::test]
async fn without_the_header_a_post_runs_every_time_as_before() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let body = json!({ "email": "plain@utility.example", "displayName": "Plain" });

    api.dynamo_calls.reset();
    let first = api.post("/users", &org.admin_key, body.clone()).await;
    assert_eq!(api.dynamo_calls.count(), 3, "authentication (2) + the transaction (1)");
    assert!(!replayed(&first));
    first.expect(201);
    let second = api.post("/users", &org.admin_key, body.clone()).await;
    assert!(!replayed(&second));
    second.expect_error(409, "conflict");

    // With a key: one claim before, and the record goes in the change's own transaction;
    // a replay is authentication and the claim that finds the record.
    api.dynamo_calls.reset();
    let keyed = json!({ "email": "keyed@utility.example", "displayName": "Keyed" });
    api.post_with_key("/users", &org.admin_key, "counted", keyed.clone())
        .await
        .expect(201);
    assert_eq!(api.dynamo_calls.count(), 4);
    api.dynamo_calls.reset();
    assert!(replayed(
        &api.post_with_key("/users", &org.admin_key, "counted", keyed).await
    ));
    assert_eq!(api.dynamo_calls.count(), 3);

    // Other methods ignore the header: no claim, no cost.
    api.dynamo_calls.reset();
    api.call_with_headers(
        "GET",
        "/users/me",
        Some(&org.admin_key),
        None,
        &[("Idempotency-Key", "ignored on a GET")],
    )
    .await
    .expect(200);
    assert_eq!(api.dynamo_calls.count(), 2);
}

#[tokio::test]
async fn a_secret_in_a_kept_response_is_replayed_to_its_caller_and_never_stored_in_clear() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;

    let key_body = json!({ "name": "LMS sync" });
    let minted = api
        .post_with_key("/api-keys", &org.admin_key, "mint-lms-key", key_body.clone())
        .await
        .expect(201);
    let secret = minted["secret"].as_str().unwrap().to_string();
    let again = api
        .post_with_key("/api-keys", &org.admin_key, "mint-lms-key", key_body)
        .await;
    assert!(replayed(&again));
    assert_eq!(again.expect(201)["secret"], secret.as_str());

    let invitation = json!({ "email": format!("{}@invitee.example", UserId::new().as_str()), "sendEmail": false });
    let invited = api
        .post_with_key("/invitations", &org.admin_key, "invite-by-link", invitation.clone())
        .await
        .expect(201);
    let token = invited["token"].as_str().unwrap().to_string();
    let again = api
        .post_with_key("/invitations", &org.admin_key, "invite-by-link", invitation)
        .await;
    assert!(replayed(&again));
    assert_eq!(again.expect(201)["token"], token.as_str());

    for (key, secret) in [("mint-lms-key", &secret), ("invite-by-link", &token)] {
        let key = IdempotencyKey::parse(key.as_bytes()).unwrap();
        let record = records::get(api.store(), &admin_scope(&org), &key)
            .await
            .unwrap()
            .unwrap();
        let stored = serde_json::to_string(&record).unwrap();
        assert!(!stored.contains(secret.as_str()), "stored in clear: {stored}");
        assert!(!stored.contains(&org.admin_key));
        // Only the caller's own API key opens it.
        assert!(
            record
                .response(&ResponseSeal::for_api_key(&org.admin_key).unwrap())
                .unwrap()
                .body
                .contains(secret.as_str())
        );
        assert!(
            record
                .response(&ResponseSeal::for_api_key("rck_someone_else").unwrap())
                .is_err()
        );
    }
}

#[tokio::test]
async fn accepting_an_invitation_replays_only_to_whoever_sends_the_same_token() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let email = format!("{}@invitee.example", UserId::new().as_str());
    let token = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "email": email, "sendEmail": false }),
        )
        .await
        .expect(201)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let accept = async |body: Value| {
        api.call_with_headers(
            "POST",
            "/invitations/accept",
            None,
            Some(&body.to_string()),
            &[("Idempotency-Key", "accept-once")],
        )
        .await
    };

    let joined = accept(json!({ "token": token, "displayName": "New Hire" })).await;
    assert!(!replayed(&joined));
    let user = joined.expect(201);
    let retry = accept(json!({ "token": token, "displayName": "New Hire" })).await;
    assert!(replayed(&retry));
    assert_eq!(retry.expect(201), user);

    // The same key without the token (or with another) is another request, run on its own
    // (and refused as it would be without a key): never the invitee's replay, never a 409
    // idempotency_conflict.
    let stranger = accept(json!({ "token": format!("{token}x"), "displayName": "New Hire" })).await;
    assert!(!replayed(&stranger));
    assert_ne!(stranger.error_code(), "idempotency_conflict");
    assert!(stranger.status >= 400, "{stranger:?}");
    // The accepted token itself, sent differently, runs too: the invitation is used up.
    let other_body = accept(json!({ "token": token })).await;
    assert!(!replayed(&other_body));
    other_body.expect_error(404, "not_found");
}
