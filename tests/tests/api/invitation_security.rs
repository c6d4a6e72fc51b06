//! Invitations against a hostile tenant: a token the inviter could see never hands over an
//! account of another organization, no answer tells the inviter whether an email has an
//! account elsewhere, a key acts only where it can be seen and revoked, and a batch that
//! breaks a batch rule writes and sends nothing.

use integration_tests::{TestApi, TestOrg, sent_emails_to};
use raptor_shared::model::roles::SystemRole;
use serde_json::{Value, json};

fn unique_email(label: &str) -> String {
    format!(
        "{label}.{}@tenant.example",
        raptor_shared::ids::UserId::new().as_str().trim_start_matches("usr_")
    )
}

/// An invitation whose token the inviter gets back (`"sendEmail": false`).
async fn visible_token(api: &TestApi, org: &TestOrg, email: &str, roles: Value) -> String {
    let created = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "email": email, "roles": roles, "sendEmail": false }),
        )
        .await
        .expect(201);
    created["token"].as_str().expect("a token").to_string()
}

async fn accept(api: &TestApi, key: Option<&str>, body: Value) -> integration_tests::TestResponse {
    api.call("POST", "/invitations/accept", key, Some(body)).await
}

/// An admin of `org` with an email no other test uses: (user id, email, own key).
async fn admin_of(api: &TestApi, org: &TestOrg) -> (String, String, String) {
    let email = unique_email("admin");
    let (id, key) = api.member_with_own_key(org, &email, &["admin"]).await;
    (id, email, key)
}

async fn organizations_of(api: &TestApi, key: &str) -> Vec<String> {
    let answer = api.get("/users/me/organizations", key).await.expect(200);
    let mut ids: Vec<String> = answer["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|org| org["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

/// The field names of a JSON object, sorted: two answers of one shape have the same.
fn shape(value: &Value) -> Vec<String> {
    let mut names: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_token_the_inviter_saw_never_hands_over_an_account_of_another_organization() {
    let api = TestApi::new().await;
    let attacker = api.new_organization().await;
    let victim = api.new_organization().await;
    let (victim_admin, victim_admin_email, victim_admin_key) = admin_of(&api, &victim).await;

    // The review's attack: invite the other tenant's admin with a token we hold, accept it.
    let token = visible_token(&api, &attacker, &victim_admin_email, json!(["admin"])).await;
    let planted = accept(&api, None, json!({ "token": token, "displayName": "Planted" }))
        .await
        .expect(201);
    assert_ne!(planted["id"], victim_admin.as_str(), "a new account, not theirs");

    // The victim's admin account is still a member of its own organization only.
    assert_eq!(
        organizations_of(&api, &victim_admin_key).await,
        vec![victim.id.to_string()]
    );

    // A key the attacker mints for the planted member acts in the attacker's organization
    // only: it cannot invite into the victim's.
    let key = api
        .post(
            "/api-keys",
            &attacker.admin_key,
            json!({ "name": "planted", "userId": planted["id"] }),
        )
        .await
        .expect(201)["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(organizations_of(&api, &key).await, vec![attacker.id.to_string()]);
    let outsider = unique_email("attacker");
    api.post(
        "/invitations",
        &key,
        json!({ "invitations": [{ "email": outsider, "roles": ["admin"], "sendEmail": false, "organizationIds": [victim.id] }] }),
    )
    .await
    .expect_error(403, "forbidden");
    let victims_invitations = api.get("/invitations", &victim.admin_key).await.expect(200);
    assert!(victims_invitations["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn no_answer_tells_the_inviter_whether_an_email_has_an_account_elsewhere() {
    let api = TestApi::new().await;
    let inviter = api.new_organization().await;
    let elsewhere = api.new_organization().await;
    let known = unique_email("known");
    let known_id = api.create_user(&elsewhere, &known, "Known Elsewhere").await;
    let fresh = unique_email("fresh");

    let mut answers = Vec::new();
    for email in [&known, &fresh] {
        let created = api
            .post(
                "/invitations",
                &inviter.admin_key,
                json!({ "email": email, "sendEmail": false }),
            )
            .await;
        let created_status = created.status;
        let created = created.body;
        let token = created["token"].as_str().unwrap().to_string();
        let validated = api
            .call("GET", &format!("/invitations/validate?token={token}"), None, None)
            .await;
        let accepted = accept(&api, None, json!({ "token": token, "displayName": "Someone" })).await;
        answers.push((
            created_status,
            shape(&created),
            validated.status,
            shape(&validated.body),
            accepted.status,
            shape(&accepted.body),
            accepted.body,
        ));
    }
    let (known_answer, fresh_answer) = (&answers[0], &answers[1]);
    assert_eq!(known_answer.0, 201);
    assert_eq!(known_answer.4, 201);
    assert_eq!(known_answer.0..known_answer.0, fresh_answer.0..fresh_answer.0);
    assert_eq!(
        (
            &known_answer.1,
            known_answer.2,
            &known_answer.3,
            known_answer.4,
            &known_answer.5
        ),
        (
            &fresh_answer.1,
            fresh_answer.2,
            &fresh_answer.3,
            fresh_answer.4,
            &fresh_answer.5
        )
    );
    let joined = &known_answer.6;
    assert_ne!(joined["id"], known_id.as_str());
    assert_eq!(joined["status"], "active");
    assert_eq!(joined["roles"], json!(["viewer"]));

    // The member of the other organization is untouched: still one membership there.
    let there = api
        .get(&format!("/users/{known_id}"), &elsewhere.admin_key)
        .await
        .expect(200);
    assert_eq!(there["status"], "active");
    assert_eq!(there["displayName"], "Known Elsewhere");
}

#[tokio::test]
async fn accepting_with_a_key_of_the_invited_account_joins_that_account() {
    let api = TestApi::new().await;
    let inviting = api.new_organization().await;
    let home = api.new_organization().await;
    let (home_admin, home_admin_email, home_admin_key) = admin_of(&api, &home).await;

    let token = visible_token(&api, &inviting, &home_admin_email, json!(["viewer"])).await;
    // A key of someone else's account cannot claim it, and leaves it pending.
    let stranger = api.new_organization().await;
    accept(
        &api,
        Some(&stranger.admin_key),
        json!({ "token": token, "displayName": "Not Me" }),
    )
    .await
    .expect_error(403, "forbidden");
    // A bad key is refused, not ignored.
    accept(
        &api,
        Some("rck_nonsense"),
        json!({ "token": token, "displayName": "Me" }),
    )
    .await
    .expect_error(401, "unauthenticated");

    let joined = accept(
        &api,
        Some(&home_admin_key),
        json!({ "token": token, "displayName": "Home Admin" }),
    )
    .await
    .expect(201);
    assert_eq!(
        joined["id"],
        home_admin.as_str(),
        "the account that proved control of itself"
    );
    let mut expected = vec![home.id.to_string(), inviting.id.to_string()];
    expected.sort();
    assert_eq!(organizations_of(&api, &home_admin_key).await, expected);
    let members = api.get("/users?limit=100", &inviting.admin_key).await.expect(200);
    assert!(members.to_string().contains(home_admin.as_str()));
}

#[tokio::test]
async fn a_batch_into_another_organization_acts_there_only_with_a_key_it_can_see_and_revoke() {
    let api = TestApi::new().await;
    let home = api.new_organization().await;
    let elsewhere = api.new_organization().await;
    let stranger = api.new_organization().await;
    // The home admin's account is a developer (invitations:write) in `elsewhere`, and
    // `elsewhere`'s admin minted it a key there.
    api.join_with_home_admin_account(&home, &elsewhere, &unique_email("ada"), SystemRole::Developer)
        .await;
    let key_there = api
        .post(
            "/api-keys",
            &elsewhere.admin_key,
            json!({ "name": "Ada's key here", "userId": home.admin_id }),
        )
        .await
        .expect(201);
    let key_there_secret = key_there["secret"].as_str().unwrap().to_string();
    let key_there_id = key_there["id"].as_str().unwrap().to_string();

    // Without a key of an organization it names, the whole batch is refused: nothing is
    // written or sent anywhere.
    let address = unique_email("multi");
    let refused = api
        .post(
            "/invitations",
            &home.admin_key,
            json!({ "invitations": [
                { "email": address, "organizationIds": [home.id, elsewhere.id] },
            ] }),
        )
        .await
        .expect_error(403, "forbidden");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(elsewhere.id.as_str())
    );
    assert!(sent_emails_to(&address).is_empty());

    let both_keys = format!("{}, {key_there_secret}", home.admin_key);
    let answer = api
        .call(
            "POST",
            "/invitations",
            Some(&both_keys),
            Some(json!({ "invitations": [
                { "email": address, "organizationIds": [home.id, elsewhere.id] },
                { "email": unique_email("admin-elsewhere"), "organizationIds": [elsewhere.id], "roles": ["admin"] },
            ] })),
        )
        .await
        .expect(200);
    let statuses: Vec<(u64, &str, u64)> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["organizationId"].as_str().unwrap(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (0, home.id.as_str(), 201),
            (0, elsewhere.id.as_str(), 201),
            // A developer there cannot grant admin there.
            (1, elsewhere.id.as_str(), 403),
        ]
    );
    assert_eq!(sent_emails_to(&address).len(), 2);

    // Every organization in which a key made a change lists that key, and its audit trail
    // names it.
    let invitation_there = answer["results"][1]["invitation"]["id"].as_str().unwrap().to_string();
    let trail = api.audit_trail_of(&elsewhere, &invitation_there).await;
    assert_eq!(trail[0]["actorApiKeyId"], key_there_id.as_str(), "{trail:?}");
    let listed = api.get("/api-keys?limit=100", &elsewhere.admin_key).await.expect(200);
    assert!(listed.to_string().contains(&key_there_id));
    let invitation_home = answer["results"][0]["invitation"]["id"].as_str().unwrap().to_string();
    let home_trail = api.audit_trail_of(&home, &invitation_home).await;
    assert_ne!(home_trail[0]["actorApiKeyId"], key_there_id.as_str());

    // Revoking it there stops it there.
    api.delete(&format!("/api-keys/{key_there_id}"), &elsewhere.admin_key)
        .await
        .expect(200);
    api.call(
        "POST",
        "/invitations",
        Some(&both_keys),
        Some(json!({ "invitations": [{ "email": unique_email("after"), "organizationIds": [elsewhere.id] }] })),
    )
    .await
    .expect_error(401, "unauthenticated");
    // A stranger organization is refused the same way whether it exists or not.
    for organization in [stranger.id.to_string(), raptor_shared::ids::OrgId::new().to_string()] {
        api.post(
            "/invitations",
            &home.admin_key,
            json!({ "invitations": [{ "email": unique_email("s"), "organizationIds": [organization] }] }),
        )
        .await
        .expect_error(403, "forbidden");
    }
    // More than one key is for batches only.
    api.call("GET", "/invitations", Some(&both_keys), None)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn a_batch_that_breaks_a_batch_rule_creates_nothing_and_sends_nothing() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let first = unique_email("first");
    let many: Vec<String> = (0..100).map(|_| raptor_shared::ids::OrgId::new().to_string()).collect();
    let over = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "invitations": [{ "email": first }, { "email": unique_email("b"), "organizationIds": many }] }),
        )
        .await
        .expect_error(400, "validation_error");
    assert!(over["error"]["message"].as_str().unwrap().contains("in all"));
    assert!(sent_emails_to(&first).is_empty());

    // 51 items × 2 organizations without email: refused before a single one is stored.
    let other = api.new_organization().await;
    api.join_with_home_admin_account(&org, &other, &unique_email("self"), SystemRole::Admin)
        .await;
    let items: Vec<Value> = (0..51)
        .map(|index| json!({ "email": unique_email(&format!("n{index}")), "sendEmail": false, "organizationIds": [org.id, other.id] }))
        .collect();
    api.post("/invitations", &org.admin_key, json!({ "invitations": items }))
        .await
        .expect_error(400, "validation_error");
    let listed = api.get("/invitations?limit=100", &org.admin_key).await.expect(200);
    assert!(listed["data"].as_array().unwrap().is_empty());

    // Every item gets exactly one result, an empty organization list included.
    let answer = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "invitations": [
                { "email": unique_email("ok") },
                { "email": unique_email("none"), "organizationIds": [] },
                { "email": "not-an-email" },
            ] }),
        )
        .await
        .expect(200);
    let results = answer["results"].as_array().unwrap();
    let summary: Vec<(u64, u64)> = results
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(summary, vec![(0, 201), (1, 400), (2, 400)]);
    assert_eq!(results[1]["error"]["field"], "invitations[1].organizationIds");

    // The same email twice in one batch: one invitation, one email, the second item a 409.
    let twice = unique_email("twice");
    let answer = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "invitations": [{ "email": twice }, { "email": twice.to_uppercase() }] }),
        )
        .await
        .expect(200);
    assert_eq!(answer["results"][0]["status"], 201);
    assert_eq!(answer["results"][1]["status"], 409);
    assert_eq!(sent_emails_to(&twice).len(), 1);
}

#[tokio::test]
async fn a_batch_takes_the_days_emails_once_and_gives_back_what_it_did_not_send() {
    let api = TestApi::new().await.with_daily_email_cap(5);
    let org = api.new_organization().await;
    let member = unique_email("member");
    api.create_user(&org, &member, "Member").await;
    let mut items = vec![json!({ "email": member })];
    let addresses: Vec<String> = (0..6).map(|index| unique_email(&format!("cap{index}"))).collect();
    items.extend(addresses.iter().map(|address| json!({ "email": address })));
    let answer = api
        .post("/invitations", &org.admin_key, json!({ "invitations": items }))
        .await
        .expect(200);
    let statuses: Vec<u64> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    // Five emails reserved in order: the member's (409, nothing sent) and four invitations;
    // the last two find the day used up.
    assert_eq!(statuses, vec![409, 201, 201, 201, 201, 429, 429]);
    for (index, address) in addresses.iter().enumerate() {
        assert_eq!(sent_emails_to(address).len(), usize::from(index < 4), "{address}");
    }
    // The member's unused email was given back: one more fits today, then none.
    api.post(
        "/invitations",
        &org.admin_key,
        json!({ "email": unique_email("later") }),
    )
    .await
    .expect(201);
    api.post(
        "/invitations",
        &org.admin_key,
        json!({ "email": unique_email("too-late") }),
    )
    .await
    .expect_error(429, "rate_limited");
}

#[tokio::test]
async fn an_inviter_who_may_no_longer_invite_admits_nobody() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (developer, developer_key) = api
        .member_with_own_key(&org, &unique_email("dev"), &["developer"])
        .await;
    let invitee = unique_email("viewer-invitee");
    api.post(
        "/invitations",
        &developer_key,
        json!({ "email": invitee, "roles": ["viewer"] }),
    )
    .await
    .expect(201);
    // Still holds every permission of a viewer, but no longer invitations:write.
    api.patch(
        &format!("/users/{developer}"),
        &org.admin_key,
        json!({ "roles": ["viewer"] }),
    )
    .await
    .expect(200);
    let token = sent_emails_to(&invitee)[0].token();
    accept(&api, None, json!({ "token": token, "displayName": "Viewer" }))
        .await
        .expect_error(409, "conflict");
}

#[tokio::test]
async fn an_anonymous_refused_accept_leaves_no_idempotency_record() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for (index, token) in ["not-a-token", "rci_01hx2m7k3q9v8c6b5n4m3k2j1h_secret"]
        .iter()
        .enumerate()
    {
        let response = api
            .call_with_headers(
                "POST",
                "/invitations/accept",
                None,
                Some(&json!({ "token": token, "displayName": "X" }).to_string()),
                &[("idempotency-key", &format!("anonymous-{index}"))],
            )
            .await;
        assert_eq!(response.status, 404, "{}", response.body);
    }
    let store = api.store();
    let items = store
        .client()
        .scan()
        .table_name(store.table())
        .send()
        .await
        .expect("scan the test's table")
        .items
        .unwrap_or_default();
    let idempotency: Vec<_> = items
        .iter()
        .filter(|item| {
            item.get("PK")
                .and_then(|pk| pk.as_s().ok())
                .is_some_and(|pk| pk.contains("IDEMPOTENCY"))
        })
        .collect();
    assert!(idempotency.is_empty(), "{idempotency:?}");
    // A successful accept under a key is still kept for its replay.
    let created = api
        .post(
            "/invitations",
            &org.admin_key,
            json!({ "email": unique_email("kept"), "sendEmail": false }),
        )
        .await
        .expect(201);
    let body = json!({ "token": created["token"], "displayName": "Kept" }).to_string();
    let first = api
        .call_with_headers(
            "POST",
            "/invitations/accept",
            None,
            Some(&body),
            &[("idempotency-key", "kept")],
        )
        .await;
    assert_eq!(first.status, 201);
    let again = api
        .call_with_headers(
            "POST",
            "/invitations/accept",
            None,
            Some(&body),
            &[("idempotency-key", "kept")],
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], first.body["id"]);
}
