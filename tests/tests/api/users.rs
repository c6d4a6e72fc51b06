use futures::future::join_all;
use integration_tests::TestApi;
use raptor_shared::model::roles::SystemRole;
use serde_json::json;

#[tokio::test]
async fn an_admin_can_create_a_user_and_read_it_back() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;

    let created = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": "Jane.Doe@Utility.example", "displayName": "Jane Doe", "title": "Substation technician", "externalId": "okta-00u1", "roles": ["developer"] }),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("usr_"));
    assert_eq!(created["email"], "Jane.Doe@Utility.example");
    assert_eq!(created["displayName"], "Jane Doe");
    assert_eq!(created["roles"], json!(["developer"]));
    assert_eq!(created["status"], "active");
    assert_eq!(created["externalId"], "okta-00u1");
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));

    let read = api.get(&format!("/users/{id}"), &org.admin_key).await.expect(200);
    assert_eq!(read, created);
}

#[tokio::test]
async fn a_user_created_without_roles_is_a_viewer() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let created = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": "v@utility.example", "displayName": "V" }),
        )
        .await
        .expect(201);
    assert_eq!(created["roles"], json!(["viewer"]));
}

#[tokio::test]
async fn email_is_unique_within_an_organization_ignoring_case() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    api.post(
        "/users",
        &org.admin_key,
        json!({ "email": "sam@utility.example", "displayName": "Sam" }),
    )
    .await
    .expect(201);
    api.post(
        "/users",
        &org.admin_key,
        json!({ "email": "SAM@utility.example", "displayName": "Sam again" }),
    )
    .await
    .expect_error(409, "conflict");

    let other_org = api.new_organization().await;
    api.post(
        "/users",
        &other_org.admin_key,
        json!({ "email": "sam@utility.example", "displayName": "Sam" }),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn concurrent_creation_of_the_same_email_lets_exactly_one_win() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let attempts = (0..8).map(|n| {
        api.post(
            "/users",
            &org.admin_key,
            json!({ "email": "race@utility.example", "displayName": format!("Racer {n}") }),
        )
    });
    let responses = join_all(attempts).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    let conflicts = responses
        .iter()
        .filter(|r| r.status == 409 && r.error_code() == "conflict")
        .count();
    assert_eq!((created, conflicts), (1, 7), "{responses:#?}");

    let listed = api.get("/users?limit=100", &org.admin_key).await.expect(200);
    let racers = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] == "race@utility.example")
        .count();
    assert_eq!(racers, 1);
}

#[tokio::test]
async fn users_can_be_listed_page_by_page_without_gaps_or_duplicates() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for n in 0..11 {
        api.post(
            "/users",
            &org.admin_key,
            json!({ "email": format!("u{n}@utility.example"), "displayName": format!("U{n}") }),
        )
        .await
        .expect(201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/users?limit=4&cursor={cursor}"),
            None => "/users?limit=4".to_string(),
        };
        let page = api.get(&path, &org.admin_key).await.expect(200);
        pages += 1;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 4);
        seen.extend(data.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    // 11 created + the bootstrap admin = 12 = exactly 3 full pages, and no 4th empty page.
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 12);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 12);
    assert_eq!(seen, unique, "users come in creation (id) order");
}

#[tokio::test]
async fn users_can_be_filtered_by_status_and_role() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let auditor = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": "aud@utility.example", "displayName": "Aud", "roles": ["auditor"] }),
        )
        .await
        .expect(201);
    let sus_id = api.create_user(&org, "sus@utility.example", "Sus").await;
    api.patch(
        &format!("/users/{sus_id}"),
        &org.admin_key,
        json!({ "status": "suspended" }),
    )
    .await
    .expect(200);

    let auditors = api.get("/users?role=auditor", &org.admin_key).await.expect(200);
    assert_eq!(auditors["data"].as_array().unwrap().len(), 1);
    assert_eq!(auditors["data"][0]["id"], auditor["id"]);

    let only_suspended = api.get("/users?status=suspended", &org.admin_key).await.expect(200);
    assert_eq!(only_suspended["data"].as_array().unwrap().len(), 1);
    assert_eq!(only_suspended["data"][0]["id"], sus_id);

    api.get("/users?status=retired", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
    api.get("/users?role=superuser", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn a_patch_changes_profile_roles_and_status_and_is_audited() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let user = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": "p@utility.example", "displayName": "P", "title": "Operator" }),
        )
        .await
        .expect(201);
    let id = user["id"].as_str().unwrap();

    let updated = api
        .patch(
            &format!("/users/{id}"),
            &org.admin_key,
            json!({ "displayName": "Pat", "email": "pat@utility.example", "title": null, "roles": ["auditor"], "status": "suspended" }),
        )
        .await
        .expect(200);
    assert_eq!(updated["displayName"], "Pat");
    assert_eq!(updated["email"], "pat@utility.example");
    assert_eq!(updated["title"], serde_json::Value::Null);
    assert_eq!(updated["roles"], json!(["auditor"]));
    assert_eq!(updated["status"], "suspended");
    assert_eq!(
        api.get(&format!("/users/{id}"), &org.admin_key).await.expect(200),
        updated
    );

    // The old email is free again, the new one is taken.
    api.post(
        "/users",
        &org.admin_key,
        json!({ "email": "p@utility.example", "displayName": "New P" }),
    )
    .await
    .expect(201);
    api.post(
        "/users",
        &org.admin_key,
        json!({ "email": "PAT@utility.example", "displayName": "Dup" }),
    )
    .await
    .expect_error(409, "conflict");

    let trail = api.audit_trail_of(&org, id).await;
    let update = trail
        .iter()
        .find(|e| e["action"] == "user.updated")
        .expect("an update event");
    assert_eq!(update["summary"]["displayName"], json!({ "from": "P", "to": "Pat" }));
    assert_eq!(
        update["summary"]["status"],
        json!({ "from": "active", "to": "suspended" })
    );
    assert_eq!(update["actorId"], org.admin_id.as_str());
}

#[tokio::test]
async fn deleting_a_user_is_a_soft_delete_that_keeps_the_record_and_history() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (id, key) = api.member_with_key(&org, "leaver@utility.example", &["viewer"]).await;
    api.get("/users/me", &key).await.expect(200);

    let deleted = api.delete(&format!("/users/{id}"), &org.admin_key).await.expect(200);
    assert_eq!(deleted["status"], "deleted");
    assert!(deleted["deletedAt"].is_string());

    // Access is revoked at once.
    api.get("/users/me", &key).await.expect_error(401, "unauthenticated");
    // The record is kept, hidden from the default list, shown with status=deleted.
    assert_eq!(
        api.get(&format!("/users/{id}"), &org.admin_key).await.expect(200)["status"],
        "deleted"
    );
    let default_list = api.get("/users", &org.admin_key).await.expect(200);
    assert!(
        default_list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != id.as_str())
    );
    let deleted_list = api.get("/users?status=deleted", &org.admin_key).await.expect(200);
    assert_eq!(deleted_list["data"][0]["id"], id.as_str());
    // A deleted user cannot be patched back to life, but can be created again.
    api.patch(&format!("/users/{id}"), &org.admin_key, json!({ "status": "active" }))
        .await
        .expect_error(409, "conflict");
    api.post(
        "/users",
        &org.admin_key,
        json!({ "email": "leaver@utility.example", "displayName": "Back" }),
    )
    .await
    .expect(201);
    // Deleting again is a safe retry.
    assert_eq!(
        api.delete(&format!("/users/{id}"), &org.admin_key).await.expect(200)["status"],
        "deleted"
    );

    let actions: Vec<_> = api
        .audit_trail_of(&org, &id)
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions, vec![json!("user.deleted"), json!("user.created")]);
}

#[tokio::test]
async fn a_suspended_members_key_is_refused_until_reactivated() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (id, key) = api.member_with_key(&org, "s@utility.example", &["viewer"]).await;
    api.patch(
        &format!("/users/{id}"),
        &org.admin_key,
        json!({ "status": "suspended" }),
    )
    .await
    .expect(200);
    api.get("/users/me", &key).await.expect_error(401, "unauthenticated");
    api.patch(&format!("/users/{id}"), &org.admin_key, json!({ "status": "active" }))
        .await
        .expect(200);
    api.get("/users/me", &key).await.expect(200);
}

#[tokio::test]
async fn me_answers_who_the_key_acts_as_and_which_organizations_it_belongs_to() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let me = api.get("/users/me", &org.admin_key).await.expect(200);
    assert_eq!(me["id"], org.admin_id.as_str());
    assert_eq!(me["roles"], json!(["admin"]));

    let organizations = api.get("/users/me/organizations", &org.admin_key).await.expect(200);
    assert_eq!(
        organizations["data"],
        json!([{ "id": org.id.as_str(), "name": org.name, "roles": ["admin"], "status": "active", "current": true }])
    );
    assert_eq!(organizations["nextCursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn check_access_answers_yes_or_no_for_the_calling_key() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (_, viewer_key) = api.member_with_key(&org, "viewer@utility.example", &["viewer"]).await;

    let allowed = api
        .get("/users/me/check-access?permission=users:read", &viewer_key)
        .await
        .expect(200);
    assert_eq!(allowed, json!({ "permission": "users:read", "allowed": true }));
    let denied = api
        .get("/users/me/check-access?permission=users:write", &viewer_key)
        .await
        .expect(200);
    assert_eq!(denied, json!({ "permission": "users:write", "allowed": false }));

    api.get("/users/me/check-access?permission=users:fly", &viewer_key)
        .await
        .expect_error(400, "validation_error");
    api.get("/users/me/check-access", &viewer_key)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn a_well_formed_unknown_user_is_404_and_a_malformed_id_is_400() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let missing = raptor_shared::ids::UserId::new();
    api.get(&format!("/users/{missing}"), &org.admin_key)
        .await
        .expect_error(404, "not_found");
    let body = api
        .get("/users/not-an-id", &org.admin_key)
        .await
        .expect_error(400, "validation_error");
    assert_eq!(body["error"]["field"], "id");
    api.patch(
        &format!("/users/{missing}"),
        &org.admin_key,
        json!({ "displayName": "x" }),
    )
    .await
    .expect_error(404, "not_found");
    api.delete(&format!("/users/{missing}"), &org.admin_key)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn an_admin_cannot_delete_or_suspend_themselves() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let me = org.admin_id.as_str();
    api.delete(&format!("/users/{me}"), &org.admin_key)
        .await
        .expect_error(409, "conflict");
    api.patch(
        &format!("/users/{me}"),
        &org.admin_key,
        json!({ "status": "suspended" }),
    )
    .await
    .expect_error(409, "conflict");
}

#[tokio::test]
async fn one_account_in_two_organizations_sees_both_and_acts_in_one_per_key() {
    let api = TestApi::new().await;
    let home = api.new_organization().await;
    let other = api.new_organization().await;
    // Arrange: the home admin's account also joins the other organization.
    api.join_with_home_admin_account(&home, &other, "ada@other.example", SystemRole::Viewer)
        .await;

    let mine = api.get("/users/me/organizations", &home.admin_key).await.expect(200);
    let mut listed: Vec<(String, bool)> = mine["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_string(), o["current"].as_bool().unwrap()))
        .collect();
    listed.sort();
    let mut expected = vec![(home.id.to_string(), true), (other.id.to_string(), false)];
    expected.sort();
    assert_eq!(listed, expected);

    // The other organization sees the account as its own member, with its own profile.
    let seen = api
        .get(&format!("/users/{}", home.admin_id), &other.admin_key)
        .await
        .expect(200);
    assert_eq!(seen["email"], "ada@other.example");
    assert_eq!(seen["roles"], json!(["viewer"]));
    // The home key still acts only in the home organization, with the home roles.
    assert_eq!(
        api.get("/users/me", &home.admin_key).await.expect(200)["roles"],
        json!(["admin"])
    );
    let home_users = api.get("/users", &home.admin_key).await.expect(200);
    assert!(
        home_users["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != other.admin_id.as_str())
    );
}

#[tokio::test]
async fn the_last_active_admin_can_not_be_demoted_suspended_or_deleted() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let me = format!("/users/{}", org.admin_id);
    let refused = api
        .patch(&me, &org.admin_key, json!({ "roles": ["viewer"] }))
        .await
        .expect_error(409, "conflict");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no active admin")
    );
    assert_eq!(
        api.get(&me, &org.admin_key).await.expect(200)["roles"],
        json!(["admin"])
    );

    // Two more admins, with keys of their own (a key minted by someone else ends with its
    // creator's access). While others remain, admins may be demoted, suspended, deleted.
    let (second, second_key) = api
        .member_with_own_key(&org, "second@utility.example", &["admin"])
        .await;
    let (third, third_key) = api.member_with_own_key(&org, "third@utility.example", &["admin"]).await;
    api.patch(&me, &second_key, json!({ "roles": ["auditor", "developer"] }))
        .await
        .expect(200);
    let second_path = format!("/users/{second}");
    api.patch(&second_path, &third_key, json!({ "status": "suspended" }))
        .await
        .expect(200);

    // The demoted member no longer acts as an admin.
    api.post("/roles", &org.admin_key, json!({ "name": "r", "permissions": [] }))
        .await
        .expect_error(403, "forbidden");

    // Third is the last active admin: no demotion, and no way to suspend or delete it
    // (nobody else may manage an admin, and it may not remove itself).
    let third_path = format!("/users/{third}");
    api.patch(&third_path, &third_key, json!({ "roles": ["viewer"] }))
        .await
        .expect_error(409, "conflict");
    // Reactivating the suspended admin makes the demotion possible again.
    api.patch(&second_path, &third_key, json!({ "status": "active" }))
        .await
        .expect(200);
    api.delete(&third_path, &second_key).await.expect(200);
    api.patch(&second_path, &second_key, json!({ "roles": ["developer"] }))
        .await
        .expect_error(409, "conflict");
    let admins = api.get("/users?role=admin", &second_key).await.expect(200);
    assert_eq!(admins["data"].as_array().unwrap().len(), 1);
    assert_eq!(admins["data"][0]["id"], second.as_str());
}

#[tokio::test]
async fn concurrent_demotions_of_the_last_two_admins_leave_one() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (second, second_key) = api
        .member_with_own_key(&org, "second@utility.example", &["admin"])
        .await;
    let (first_path, second_path) = (format!("/users/{}", org.admin_id), format!("/users/{second}"));
    let demote_first = api.patch(&first_path, &second_key, json!({ "roles": ["viewer"] }));
    let demote_second = api.patch(&second_path, &org.admin_key, json!({ "roles": ["viewer"] }));
    let (first, other) = futures::join!(demote_first, demote_second);
    let statuses = [first.status, other.status];
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{statuses:?}: {} / {}",
        first.body,
        other.body
    );
    assert!(statuses.contains(&409));
    let admin_key = if first.status == 200 {
        &second_key
    } else {
        &org.admin_key
    };
    let admins = api.get("/users?role=admin", admin_key).await.expect(200);
    assert_eq!(admins["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_sparse_filter_reads_a_bounded_slice_per_request_and_pages_on_with_a_cursor() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    // Arrange: 450 viewers written straight through the store (faster than 450 requests),
    // then one auditor, the only match of `role=auditor`, at the end of the partition.
    let template = raptor_shared::operations::users::get_member(api.store(), &org.id, &org.admin_id)
        .await
        .unwrap();
    let viewer = vec![raptor_shared::model::roles::RoleRef::System(
        raptor_shared::model::roles::SystemRole::Viewer,
    )];
    for batch in 0..9 {
        let mut transaction = raptor_shared::store::Transaction::new();
        for index in 0..50 {
            let mut member = template.clone();
            member.user_id = raptor_shared::ids::UserId::new();
            member.email =
                raptor_shared::validation::Email::parse("email", &format!("viewer{batch}-{index}@utility.example"))
                    .unwrap();
            member.roles = viewer.clone();
            raptor_shared::store::members::put_new(&mut transaction, &member).unwrap();
        }
        transaction.commit(api.store()).await.unwrap();
    }
    let auditor = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": "auditor@utility.example", "displayName": "Auditor", "roles": ["auditor"] }),
        )
        .await
        .expect(201);

    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    let mut requests = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/users?role=auditor&limit=10&cursor={cursor}"),
            None => "/users?role=auditor&limit=10".to_string(),
        };
        api.dynamo_calls.reset();
        let page = api.get(&path, &org.admin_key).await.expect(200);
        requests += 1;
        assert!(
            api.dynamo_calls.count() <= 2 + raptor_shared::store::query::MAX_FILTERED_READS,
            "one request read {} times",
            api.dynamo_calls.count()
        );
        found.extend(page["data"].as_array().unwrap().iter().map(|user| user["id"].clone()));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(requests < 10, "the cursor does not advance");
    }
    assert_eq!(found, vec![auditor["id"].clone()]);
    assert!(requests >= 2, "452 members cannot be examined in one bounded request");
}

/// A display name is shown to other people, in listings and in the invitation email our
/// sender sends: no door takes one that holds a link.
#[tokio::test]
async fn a_display_name_with_a_link_is_refused_on_every_door() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = org.admin_key.as_str();
    let links = [
        "IT Helpdesk: reset at https://evil.example/login",
        "HTTPS://EVIL.EXAMPLE",
        "Support www.evil.example",
    ];
    for link in links {
        let error = api
            .post(
                "/users",
                key,
                json!({ "email": "helpdesk@utility.example", "displayName": link }),
            )
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], "displayName", "{link}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("must not contain a link"),
            "{error}"
        );
        let error = api
            .patch(&format!("/users/{}", org.admin_id), key, json!({ "displayName": link }))
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], "displayName", "{link}");
        let error = api
            .post(
                "/invitations",
                key,
                json!({ "email": "invitee@utility.example", "displayName": link }),
            )
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], "displayName", "{link}");
    }
    // Accepting: the invitee's own name is checked as well.
    let invitation = api
        .post(
            "/invitations",
            key,
            json!({ "email": "invitee@utility.example", "sendEmail": false }),
        )
        .await
        .expect(201);
    let token = invitation["token"].as_str().unwrap();
    for link in links {
        let error = api
            .call(
                "POST",
                "/invitations/accept",
                None,
                Some(json!({ "token": token, "displayName": link })),
            )
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], "displayName", "{link}");
    }

    // Nothing was stored: one member, still named as bootstrap named it.
    let users = api.get("/users", key).await.expect(200);
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
    assert_eq!(users["data"][0]["displayName"], "Ada Admin");
    // Ordinary names, with dots, apostrophes and accents, are people's names.
    for (index, name) in ["Dr. Ada Lovelace", "O'Brien", "José García-Núñez"].iter().enumerate() {
        let created = api
            .post(
                "/users",
                key,
                json!({ "email": format!("person{index}@utility.example"), "displayName": name }),
            )
            .await
            .expect(201);
        assert_eq!(created["displayName"], *name);
    }
}

/// Seed 004's role assignment: `POST /users/{id}/roles` gives one role and
/// `DELETE /users/{id}/roles/{roleId}` takes one, each keeping the others, through the same
/// command as `PATCH` (its escalation and last-admin rules, its audit event).
#[tokio::test]
async fn one_role_is_given_or_taken_keeping_the_others_under_the_same_rules() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = &org.admin_key;
    let reviewers = api
        .post(
            "/roles",
            key,
            json!({ "name": "Compliance reviewers", "permissions": ["training:read"] }),
        )
        .await
        .expect(201);
    let reviewers = reviewers["id"].as_str().unwrap().to_string();
    let user = api
        .post(
            "/users",
            key,
            json!({ "email": "r@utility.example", "displayName": "R", "roles": ["developer"] }),
        )
        .await
        .expect(201);
    let id = user["id"].as_str().unwrap().to_string();
    let path = format!("/users/{id}");
    let roles_of = |body: serde_json::Value| body["roles"].clone();

    let given = api
        .post(&format!("{path}/roles"), key, json!({ "roleId": reviewers }))
        .await
        .expect(200);
    assert_eq!(
        given,
        json!({ "message": "Role assigned successfully.", "userId": id, "roleId": reviewers, "roleName": "Compliance reviewers" })
    );
    let given = api
        .post(&format!("{path}/roles"), key, json!({ "roleId": "auditor" }))
        .await
        .expect(200);
    assert_eq!(given["roleName"], "auditor");
    assert_eq!(
        roles_of(api.get(&path, key).await.expect(200)),
        json!(["developer", reviewers, "auditor"])
    );
    // Giving a role already held changes nothing and records nothing.
    api.post(&format!("{path}/roles"), key, json!({ "roleId": "auditor" }))
        .await
        .expect(200);
    assert_eq!(
        roles_of(api.get(&path, key).await.expect(200)),
        json!(["developer", reviewers, "auditor"])
    );
    let updates = |trail: &[serde_json::Value]| trail.iter().filter(|e| e["action"] == "user.updated").count();
    assert_eq!(updates(&api.audit_trail_of(&org, &id).await), 2);

    let taken = api.delete(&format!("{path}/roles/developer"), key).await.expect(200);
    assert_eq!(
        taken,
        json!({ "message": "Role removed successfully.", "userId": id, "roleId": "developer" })
    );
    assert_eq!(
        roles_of(api.get(&path, key).await.expect(200)),
        json!([reviewers, "auditor"])
    );
    // A role not held (any more) is 404; the others stay.
    api.delete(&format!("{path}/roles/developer"), key)
        .await
        .expect_error(404, "not_found");
    let trail = api.audit_trail_of(&org, &id).await;
    assert_eq!(updates(&trail), 3);
    let removal = trail
        .iter()
        .find(|e| e["action"] == "user.updated" && e["summary"]["roles"]["to"] == json!([reviewers, "auditor"]))
        .expect("the removal is audited with the roles before and after");
    assert_eq!(
        removal["summary"]["roles"]["from"],
        json!(["developer", reviewers, "auditor"])
    );
    assert_eq!(removal["actorId"], org.admin_id.as_str());

    // Bad input is a 400 naming the field, and changes nothing.
    for body in [
        json!({ "roleId": "superuser" }),
        json!({ "roleId": "role_not-an-id" }),
        json!({}),
        json!({ "roleId": "auditor", "extra": true }),
        json!({ "roleId": 7 }),
    ] {
        let refused = api.post(&format!("{path}/roles"), key, body.clone()).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
    }
    // Without users:write, the body is never judged: 403, not a 400 that tells it apart.
    let (_, viewer) = api
        .member_with_key(&org, "viewer.roles@utility.example", &["viewer"])
        .await;
    api.post(&format!("{path}/roles"), &viewer, json!({ "roleId": "superuser" }))
        .await
        .expect_error(403, "forbidden");
    api.delete(&format!("{path}/roles/superuser"), key)
        .await
        .expect_error(400, "validation_error");
    api.post(
        &format!("{path}/roles"),
        key,
        json!({ "roleId": "role_01hx2m7k3q9v8c6b5n4m3k2j1h" }),
    )
    .await
    .expect_error(400, "validation_error");
    assert_eq!(
        roles_of(api.get(&path, key).await.expect(200)),
        json!([reviewers, "auditor"])
    );

    // The last admin keeps the admin role; an unknown user is 404.
    api.delete(&format!("/users/{}/roles/admin", org.admin_id), key)
        .await
        .expect_error(409, "conflict");
    api.post(
        "/users/usr_01hx2m7k3q9v8c6b5n4m3k2j1h/roles",
        key,
        json!({ "roleId": "viewer" }),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn nobody_gives_a_role_granting_more_than_they_hold_or_touches_another_tenant() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let managers = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "User managers", "permissions": ["users:read", "users:write"] }),
        )
        .await
        .expect(201);
    let managers = managers["id"].as_str().unwrap();
    let readers = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Readers", "permissions": ["users:read"] }),
        )
        .await
        .expect(201);
    let readers = readers["id"].as_str().unwrap();
    let (_, manager_key) = api.member_with_key(&org, "m@utility.example", &[managers]).await;
    let (target, _) = api.member_with_key(&org, "t@utility.example", &[readers]).await;
    let roles = format!("/users/{target}/roles");
    // A role with a permission the manager lacks, or admin, is refused; one within what
    // they hold is given.
    for role in ["admin", "auditor", "viewer"] {
        api.post(&roles, &manager_key, json!({ "roleId": role }))
            .await
            .expect_error(403, "forbidden");
    }
    api.post(&roles, &manager_key, json!({ "roleId": managers }))
        .await
        .expect(200);
    // Nor can they take a role from someone more privileged than themselves.
    api.delete(&format!("/users/{}/roles/admin", org.admin_id), &manager_key)
        .await
        .expect_error(403, "forbidden");
    // A key without users:write gives nothing.
    let (_, viewer_key) = api.member_with_key(&org, "v@utility.example", &["viewer"]).await;
    api.post(&roles, &viewer_key, json!({ "roleId": "viewer" }))
        .await
        .expect_error(403, "forbidden");

    // Another organization's admin sees no such user, and changes nothing.
    let other = api.new_organization().await;
    api.post(&roles, &other.admin_key, json!({ "roleId": "admin" }))
        .await
        .expect_error(404, "not_found");
    api.delete(&format!("{roles}/{readers}"), &other.admin_key)
        .await
        .expect_error(404, "not_found");
    let held = api.get(&format!("/users/{target}"), &org.admin_key).await.expect(200);
    assert_eq!(held["roles"], json!([readers, managers]));
}

/// Two roles given at the same moment: each answer is the truth (a 200 means held, a 409
/// means nothing changed), and no edit undoes another.
#[tokio::test]
async fn roles_given_at_the_same_time_are_never_lost() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let target = api.create_user(&org, "c@utility.example", "C").await;
    let roles = format!("/users/{target}/roles");
    let given = ["auditor", "developer"];
    let answers = join_all(
        given
            .iter()
            .map(|role| api.post(&roles, &org.admin_key, json!({ "roleId": role }))),
    )
    .await;
    let held = api.get(&format!("/users/{target}"), &org.admin_key).await.expect(200)["roles"].clone();
    let held: Vec<&str> = held.as_array().unwrap().iter().filter_map(|r| r.as_str()).collect();
    for (role, answer) in given.iter().zip(&answers) {
        match answer.status {
            200 => assert!(held.contains(role), "{role} answered 200 but is not held: {held:?}"),
            409 => assert!(!held.contains(role), "{role} answered 409 but is held: {held:?}"),
            other => panic!("{role}: {other} {}", answer.body),
        }
    }
    assert!(held.contains(&"viewer"), "{held:?}");
}

/// What an identity directory says of a person beyond email and name (SCIM's `name` and
/// enterprise extension) is kept as sent, changed and cleared like any field, and audited.
#[tokio::test]
async fn a_directory_profile_is_kept_changed_cleared_and_audited_and_names_a_manager_of_the_organization() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let other = api.new_organization().await;
    let key = &org.admin_key;
    let manager = api.create_user(&org, "boss@utility.example", "The Boss").await;
    let stranger = api.create_user(&other, "boss@else.example", "Their Boss").await;
    let created = api
        .post(
            "/users",
            key,
            json!({
                "email": "jane@utility.example", "displayName": "Jane Doe",
                "givenName": "Jane", "familyName": "Doe", "employeeNumber": "E-0042",
                "department": "Substations", "managerId": manager,
            }),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["givenName"], "Jane");
    assert_eq!(created["managerId"], manager.as_str());
    let read = api.get(&format!("/users/{id}"), key).await.expect(200);
    assert_eq!(read["employeeNumber"], "E-0042");
    assert_eq!(read["department"], "Substations");

    let changed = api
        .patch(
            &format!("/users/{id}"),
            key,
            json!({ "department": "Control Center", "employeeNumber": null }),
        )
        .await
        .expect(200);
    assert_eq!(changed["department"], "Control Center");
    assert_eq!(changed["employeeNumber"], serde_json::Value::Null);
    assert_eq!(changed["familyName"], "Doe", "a field not named is kept");
    let trail = api.audit_trail_of(&org, &id).await;
    assert_eq!(trail[0]["action"], "user.updated");
    assert_eq!(
        trail[0]["summary"],
        json!({
            "department": { "from": "Substations", "to": "Control Center" },
            "employeeNumber": { "from": "E-0042", "to": null },
        })
    );
    assert_eq!(trail[1]["summary"]["profile"]["givenName"], "Jane");

    // A manager is another member of this organization.
    for body in [
        json!({ "managerId": stranger }),
        json!({ "managerId": id }),
        json!({ "managerId": "usr_nope" }),
        json!({ "department": "x\ny" }),
    ] {
        api.patch(&format!("/users/{id}"), key, body)
            .await
            .expect_error(400, "validation_error");
    }
}
