//! Invitations, from the sent email to the accepted account: every token is read back
//! from the emulator's SES, as the invitee would read it from their inbox.

use futures::future::join_all;
use integration_tests::{ACCEPT_URL, INVITATION_SENDER, SentEmail, TestApi, TestOrg, sent_emails, sent_emails_to};
use serde_json::{Value, json};

/// An address no other test uses (the emulator's outbox is shared).
fn unique_email(label: &str) -> String {
    format!(
        "{label}.{}@invitee.example",
        raptor_shared::ids::UserId::new().as_str().trim_start_matches("usr_")
    )
}

fn only_email_to(address: &str) -> SentEmail {
    let mut sent = sent_emails_to(address);
    assert_eq!(sent.len(), 1, "emails to {address}: {sent:?}");
    sent.remove(0)
}

async fn invite(api: &TestApi, org: &TestOrg, body: Value) -> Value {
    api.post("/invitations", &org.admin_key, body).await.expect(201)
}

async fn validate(api: &TestApi, token: &str) -> (u16, Value) {
    let response = api
        .call("GET", &format!("/invitations/validate?token={token}"), None, None)
        .await;
    (response.status, response.body)
}

async fn accept(api: &TestApi, body: Value) -> integration_tests::TestResponse {
    api.call("POST", "/invitations/accept", None, Some(body)).await
}

#[tokio::test]
async fn an_invitee_accepts_with_the_token_from_the_email_and_becomes_a_member() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let address = unique_email("grace");
    let created = invite(
        &api,
        &org,
        json!({ "email": address, "displayName": "Grace Hopper", "roles": ["developer"], "identityProvider": "okta" }),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("inv_"));
    assert_eq!(created["status"], "pending");
    assert_eq!(created["emailSent"], true);
    assert!(
        created.get("token").is_none(),
        "the token is never returned when emailed"
    );

    let email = only_email_to(&address);
    assert_eq!(email.source, INVITATION_SENDER);
    assert_eq!(
        email.subject,
        format!("You're invited to join {} on Raptor Comply", org.name)
    );
    assert!(email.body.contains(&format!("{ACCEPT_URL}?token=")));
    assert!(email.body.contains(&org.name));
    let token = email.token();

    let (status, valid) = validate(&api, &token).await;
    assert_eq!(status, 200, "{valid}");
    assert_eq!(valid["organizationId"], org.id.as_str());
    assert_eq!(valid["organizationName"], org.name.as_str());
    assert_eq!(valid["email"], address.as_str());
    assert_eq!(valid["displayName"], "Grace Hopper");
    assert_eq!(valid["roles"], json!(["developer"]));
    assert_eq!(valid["identityProvider"], "okta");
    assert_eq!(valid["expiresAt"], created["expiresAt"]);

    let user = accept(&api, json!({ "token": token, "title": "Control Center Engineer" }))
        .await
        .expect(201);
    let user_id = user["id"].as_str().unwrap();
    assert_eq!(user["displayName"], "Grace Hopper");
    assert_eq!(user["roles"], json!(["developer"]));
    let fetched = api.get(&format!("/users/{user_id}"), &org.admin_key).await.expect(200);
    assert_eq!(fetched["email"], address.as_str());
    assert_eq!(fetched["title"], "Control Center Engineer");
    assert_eq!(fetched["status"], "active");

    // The token is used up; the invitation reads as accepted and names the user.
    let (status, _) = validate(&api, &token).await;
    assert_eq!(status, 404);
    accept(&api, json!({ "token": token }))
        .await
        .expect_error(404, "not_found");
    let listed = api.get("/invitations", &org.admin_key).await.expect(200);
    assert_eq!(listed["data"][0]["status"], "accepted");
    assert_eq!(listed["data"][0]["acceptedUserId"], user_id);

    let trail = api.audit_trail_of(&org, id).await;
    let actions: Vec<&str> = trail.iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["invitation.accepted", "invitation.created"]);
    assert_eq!(trail[0]["actorId"], user_id);
    assert!(!trail.iter().any(|event| event.to_string().contains(&token)));
}

/// The subject is the line a recipient trusts most: it names the organization, never a name
/// a member chose for itself.
#[tokio::test]
async fn the_subject_of_an_invitation_email_names_the_organization_and_not_the_inviter() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let renamed = "IT Helpdesk: your password expires today";
    api.patch(
        &format!("/users/{}", org.admin_id),
        &org.admin_key,
        json!({ "displayName": renamed }),
    )
    .await
    .expect(200);
    let address = unique_email("subject");
    invite(&api, &org, json!({ "email": address, "displayName": "Grace Hopper" })).await;

    let email = only_email_to(&address);
    assert_eq!(email.source, INVITATION_SENDER);
    assert_eq!(
        email.subject,
        format!("You're invited to join {} on Raptor Comply", org.name)
    );
    assert!(email.subject.contains(&org.name));
    assert!(!email.subject.contains("Helpdesk"), "{}", email.subject);
    assert!(!email.subject.contains("Ada Admin"), "{}", email.subject);
    assert!(!email.subject.contains("Grace"), "{}", email.subject);
    // The body still says who invited them.
    assert!(email.body.contains(renamed), "{}", email.body);
}

#[tokio::test]
async fn a_link_that_went_only_to_the_mailbox_joins_the_account_that_has_the_email() {
    let api = TestApi::new().await;
    let home = api.new_organization().await;
    let other = api.new_organization().await;
    let address = unique_email("shared");
    let existing = api.create_user(&home, &address, "Shared Person").await;

    invite(&api, &other, json!({ "email": address })).await;
    let token = only_email_to(&address).token();
    let joined = accept(&api, json!({ "token": token, "displayName": "Shared Person" }))
        .await
        .expect(201);
    assert_eq!(joined["id"], existing.as_str(), "the same usr_ id, a second membership");
    assert_eq!(joined["roles"], json!(["viewer"]));

    let key = api
        .post(
            "/api-keys",
            &other.admin_key,
            json!({ "name": "k", "userId": existing }),
        )
        .await
        .expect(201)["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let organizations = api.get("/users/me/organizations", &key).await.expect(200);
    let mut ids: Vec<&str> = organizations["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|org| org["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![home.id.as_str(), other.id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn resend_cancel_and_expiry_each_end_a_token_with_one_uniform_answer() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;

    // Resend: a new token, the old one dead at once.
    let address = unique_email("resend");
    let created = invite(&api, &org, json!({ "email": address, "displayName": "R" })).await;
    let id = created["id"].as_str().unwrap();
    let first = only_email_to(&address).token();
    let resent = api
        .post(&format!("/invitations/{id}/resend"), &org.admin_key, json!({}))
        .await
        .expect(200);
    assert_eq!(resent["sendCount"], 2);
    let emails = sent_emails_to(&address);
    assert_eq!(emails.len(), 2);
    let second = emails[1].token();
    assert_ne!(first, second);
    let (dead_status, dead_body) = validate(&api, &first).await;
    assert_eq!(validate(&api, &second).await.0, 200);

    // Cancel: the link is dead at once; the record stays with its final state.
    let cancelled = api
        .delete(&format!("/invitations/{id}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelledBy"], org.admin_id.as_str());
    let (cancelled_status, cancelled_body) = validate(&api, &second).await;
    api.post(&format!("/invitations/{id}/resend"), &org.admin_key, json!({}))
        .await
        .expect_error(409, "conflict");
    assert_eq!(
        api.delete(&format!("/invitations/{id}"), &org.admin_key)
            .await
            .expect(200)["status"],
        "cancelled"
    );

    // Expiry, with no job having run: the stored expiry is moved into the past.
    let late = unique_email("late");
    let late_id = invite(&api, &org, json!({ "email": late, "displayName": "L" })).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let late_token = only_email_to(&late).token();
    let store = api.store();
    let id = raptor_shared::ids::InvitationId::parse("id", &late_id).unwrap();
    let before = raptor_shared::store::invitations::get(store, &id)
        .await
        .unwrap()
        .unwrap();
    let mut after = before.clone();
    after.expires_at = raptor_shared::time::Timestamp::parse("t", "2020-01-01T00:00:00Z").unwrap();
    after.version += 1;
    let mut transaction = raptor_shared::store::Transaction::new();
    raptor_shared::store::invitations::put_updated(
        &mut transaction,
        &before,
        &after,
        raptor_shared::time::Timestamp::now(),
    )
    .unwrap();
    transaction.commit(store).await.unwrap();
    let (expired_status, expired_body) = validate(&api, &late_token).await;
    let listed = api.get("/invitations?status=expired", &org.admin_key).await.expect(200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["id"], late_id.as_str());
    // An expired invitation can be resent, which makes it pending again.
    let revived = api
        .post(&format!("/invitations/{late_id}/resend"), &org.admin_key, json!({}))
        .await
        .expect(200);
    assert_eq!(revived["status"], "pending");

    // Unknown and malformed tokens too: one status, one body for all.
    let (unknown_status, unknown_body) = validate(&api, "rci_01hx2m7k3q9v8c6b5n4m3k2j1h_nope").await;
    let (garbage_status, garbage_body) = validate(&api, "garbage").await;
    for (status, body) in [
        (cancelled_status, &cancelled_body),
        (expired_status, &expired_body),
        (unknown_status, &unknown_body),
        (garbage_status, &garbage_body),
    ] {
        assert_eq!((status, body), (dead_status, &dead_body));
    }
    assert_eq!(dead_status, 404);
    let long = "a".repeat(5000);
    assert_eq!(validate(&api, &long).await, (dead_status, dead_body.clone()));
}

#[tokio::test]
async fn a_batch_of_a_hundred_answers_each_row_and_sends_only_the_good_ones() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let member = unique_email("member");
    api.create_user(&org, &member, "Already Member").await;
    let mut items = Vec::new();
    let mut expected = Vec::new();
    let mut addresses = Vec::new();
    for index in 0..100 {
        let address = unique_email(&format!("b{index}"));
        let (item, status) = match index % 10 {
            3 => (json!({ "email": "not-an-email" }), 400),
            5 => (json!({ "email": address, "roles": ["superuser"] }), 400),
            7 => (json!({ "email": member }), 409),
            8 => (json!({ "email": address, "expiresInDays": 90 }), 400),
            _ => (
                json!({ "email": address, "displayName": format!("Invitee {index}") }),
                201,
            ),
        };
        if status == 201 {
            addresses.push(address);
        }
        items.push(item);
        expected.push(status);
    }
    let answer = api
        .post("/invitations", &org.admin_key, json!({ "invitations": items }))
        .await
        .expect(200);
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    for (index, result) in results.iter().enumerate() {
        assert_eq!(result["index"], index);
        assert_eq!(result["status"], expected[index], "row {index}: {result}");
        if expected[index] == 201 {
            assert_eq!(result["invitation"]["status"], "pending");
            assert_eq!(result["organizationId"], org.id.as_str());
        } else {
            assert!(result["error"]["code"].is_string(), "{result}");
        }
    }
    assert_eq!(results[7]["error"]["code"], "conflict");
    assert_eq!(addresses.len(), 60);
    let sent = sent_emails();
    for address in addresses.iter().chain([&member]) {
        let expected = usize::from(address != &member);
        let count = sent.iter().filter(|email| email.to.contains(address)).count();
        assert_eq!(count, expected, "{address}");
    }
    let listed = api.get("/invitations?limit=100", &org.admin_key).await.expect(200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 60);
}

#[tokio::test]
async fn two_concurrent_accepts_of_one_token_make_one_membership() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let address = unique_email("race");
    invite(&api, &org, json!({ "email": address, "displayName": "Racer" })).await;
    let token = only_email_to(&address).token();
    let attempts = join_all((0..2).map(|_| accept(&api, json!({ "token": token })))).await;
    let statuses: Vec<u16> = attempts.iter().map(|response| response.status).collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|status| *status == 409 || *status == 404),
        "{statuses:?}"
    );
    let members = api.get("/users?limit=100", &org.admin_key).await.expect(200);
    let matching = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|user| user["email"] == address.as_str())
        .count();
    assert_eq!(matching, 1);
}

#[tokio::test]
async fn another_organization_can_not_list_resend_or_cancel_my_invitations() {
    let api = TestApi::new().await;
    let mine = api.new_organization().await;
    let theirs = api.new_organization().await;
    let address = unique_email("private");
    let id = invite(&api, &mine, json!({ "email": address })).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = api.get("/invitations", &theirs.admin_key).await.expect(200);
    assert!(listed["data"].as_array().unwrap().is_empty());
    api.post(&format!("/invitations/{id}/resend"), &theirs.admin_key, json!({}))
        .await
        .expect_error(404, "not_found");
    api.delete(&format!("/invitations/{id}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    assert_eq!(sent_emails_to(&address).len(), 1);
    let still = api.get("/invitations", &mine.admin_key).await.expect(200);
    assert_eq!(still["data"][0]["status"], "pending");
}

#[tokio::test]
async fn markup_in_names_is_inert_and_no_value_can_add_an_email_header() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let address = unique_email("inject");
    invite(
        &api,
        &org,
        json!({ "email": address, "displayName": "<script>alert('x')</script> \"Q\" & <b>bold</b>" }),
    )
    .await;
    let email = only_email_to(&address);
    assert!(!email.body.contains("<script>"), "{}", email.body);
    assert!(!email.body.contains("<b>bold</b>"));
    assert!(email.body.contains("&#60;script&#62;"));
    for name in ["Eve\r\nBcc: victim@example.com", "Eve\nX-Injected: 1"] {
        let refused = api
            .post(
                "/invitations",
                &org.admin_key,
                json!({ "email": unique_email("crlf"), "displayName": name }),
            )
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], "displayName");
    }
    api.post(
        "/invitations",
        &org.admin_key,
        json!({ "email": "victim@example.com\r\nBcc: other@example.com" }),
    )
    .await
    .expect_error(400, "validation_error");
}

#[tokio::test]
async fn the_daily_email_cap_answers_429_with_retry_after() {
    let api = TestApi::new().await.with_daily_email_cap(2);
    let org = api.new_organization().await;
    for label in ["cap1", "cap2"] {
        invite(&api, &org, json!({ "email": unique_email(label) })).await;
    }
    let capped = unique_email("cap3");
    let response = api
        .post("/invitations", &org.admin_key, json!({ "email": capped }))
        .await;
    let retry_after: u64 = response.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry_after));
    response.expect_error(429, "rate_limited");
    assert!(sent_emails_to(&capped).is_empty());
    // Another organization has its own cap.
    let other = api.new_organization().await;
    invite(&api, &other, json!({ "email": unique_email("cap-other") })).await;
}

#[tokio::test]
async fn when_ses_refuses_the_caller_is_told_and_no_pending_invitation_remains() {
    let api = TestApi::new().await.with_unverified_sender();
    let org = api.new_organization().await;
    let address = unique_email("unsent");
    let refused = api
        .post("/invitations", &org.admin_key, json!({ "email": address }))
        .await
        .expect_error(503, "unavailable");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was saved")
    );
    let batch = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "invitations": [{ "email": unique_email("unsent-batch") }] }),
        )
        .await
        .expect(200);
    assert_eq!(batch["results"][0]["status"], 503);
    let listed = api.get("/invitations", &org.admin_key).await.expect(200);
    assert!(listed["data"].as_array().unwrap().is_empty());
    assert!(sent_emails_to(&address).is_empty());
}

#[tokio::test]
async fn without_email_the_token_is_returned_only_to_a_caller_who_may_create_users() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let address = unique_email("custom");
    let created = invite(
        &api,
        &org,
        json!({ "email": address, "sendEmail": false, "displayName": "Custom" }),
    )
    .await;
    assert_eq!(created["emailSent"], false);
    let token = created["token"].as_str().unwrap();
    assert!(sent_emails_to(&address).is_empty());
    assert_eq!(validate(&api, token).await.0, 200);
    let listed = api.get("/invitations", &org.admin_key).await.expect(200);
    assert!(listed["data"][0].get("token").is_none());

    // A custom role with invitations:write but not users:write cannot ask for the token.
    let role = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Inviter", "permissions": ["invitations:write", "invitations:read"] }),
        )
        .await
        .expect(201);
    let (_, key) = api
        .member_with_key(&org, &unique_email("inviter"), &[role["id"].as_str().unwrap()])
        .await;
    api.post(
        "/invitations",
        &key,
        json!({ "email": unique_email("t"), "sendEmail": false }),
    )
    .await
    .expect_error(403, "forbidden");
    // ...nor grant a role it does not hold.
    api.post(
        "/invitations",
        &key,
        json!({ "email": unique_email("t"), "roles": ["admin"] }),
    )
    .await
    .expect_error(403, "forbidden");
    api.post("/invitations", &key, json!({ "email": unique_email("t"), "roles": [] }))
        .await
        .expect(201);
}

#[tokio::test]
async fn a_member_or_a_pending_invitee_can_not_be_invited_twice_but_a_deleted_member_can() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let address = unique_email("again");
    invite(&api, &org, json!({ "email": address })).await;
    let twice = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "email": address.to_uppercase() }),
        )
        .await
        .expect_error(409, "conflict");
    assert!(
        twice["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pending invitation")
    );
    assert_eq!(sent_emails_to(&address).len(), 1, "a refused invitation sends nothing");

    let member = unique_email("member");
    let old_id = api.create_user(&org, &member, "Former").await;
    let refused = api
        .post("/invitations", &org.admin_key, json!({ "email": member }))
        .await
        .expect_error(409, "conflict");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already a member")
    );
    api.delete(&format!("/users/{old_id}"), &org.admin_key)
        .await
        .expect(200);
    invite(&api, &org, json!({ "email": member })).await;
    let rejoined = accept(
        &api,
        json!({ "token": only_email_to(&member).token(), "displayName": "Returning" }),
    )
    .await
    .expect(201);
    assert_ne!(
        rejoined["id"],
        old_id.as_str(),
        "a new account; the deleted one keeps its history"
    );
    let old = api.get(&format!("/users/{old_id}"), &org.admin_key).await.expect(200);
    assert_eq!(old["status"], "deleted");
}

#[tokio::test]
async fn an_invitation_from_an_inviter_who_left_or_was_demoted_admits_nobody() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    // A second admin invites a private address as admin, then leaves the company.
    let (leaver, leaver_key) = api.member_with_own_key(&org, &unique_email("leaver"), &["admin"]).await;
    let private = unique_email("private-of-leaver");
    invite(
        &api,
        &org,
        json!({ "email": private, "roles": ["admin"], "displayName": "Me Again" }),
    )
    .await;
    let via_leaver = unique_email("via-leaver");
    api.post(
        "/invitations",
        &leaver_key,
        json!({ "email": via_leaver, "roles": ["admin"] }),
    )
    .await
    .expect(201);
    let token = only_email_to(&via_leaver).token();
    assert_eq!(validate(&api, &token).await.0, 200);
    api.delete(&format!("/users/{leaver}"), &org.admin_key)
        .await
        .expect(200);

    assert_eq!(validate(&api, &token).await.0, 409);
    accept(&api, json!({ "token": token, "displayName": "Me Again" }))
        .await
        .expect_error(409, "conflict");
    let members = api.get("/users?limit=100", &org.admin_key).await.expect(200);
    assert!(!members.to_string().contains(&via_leaver));

    // A demoted inviter: the developer role no longer covers the admin it invited.
    let (demoted, demoted_key) = api
        .member_with_own_key(&org, &unique_email("demoted"), &["admin"])
        .await;
    let upgraded = unique_email("upgraded");
    api.post(
        "/invitations",
        &demoted_key,
        json!({ "email": upgraded, "roles": ["admin"] }),
    )
    .await
    .expect(201);
    api.patch(
        &format!("/users/{demoted}"),
        &org.admin_key,
        json!({ "roles": ["developer"] }),
    )
    .await
    .expect(200);
    accept(
        &api,
        json!({ "token": only_email_to(&upgraded).token(), "displayName": "Up" }),
    )
    .await
    .expect_error(409, "conflict");
    // The bootstrap admin's own invitation is unaffected.
    accept(&api, json!({ "token": only_email_to(&private).token() }))
        .await
        .expect(201);
}
