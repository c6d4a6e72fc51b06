//! Groups (docs/groups.md): a member holds their own roles and their groups' roles, and
//! every permission check, `check-access`, `GET /users?role=` and the user's view follow
//! those effective roles; nobody grants through a group what they do not hold.

use integration_tests::TestApi;
use serde_json::{Value, json};

use crate::training_program::id_of;

async fn allowed(api: &TestApi, key: &str, permission: &str) -> bool {
    let check = api
        .get(&format!("/users/me/check-access?permission={permission}"), key)
        .await
        .expect(200);
    check["allowed"].as_bool().expect("allowed")
}

fn listed_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn a_groups_roles_are_held_by_its_members_while_they_belong_and_until_it_is_deleted() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let admin = &org.admin_key;
    let (member, member_key) = api.member_with_key(&org, "op@utility.example", &["viewer"]).await;
    assert!(!allowed(&api, &member_key, "audit:read").await);
    api.get("/audit-events", &member_key)
        .await
        .expect_error(403, "forbidden");

    let group = api
        .post(
            "/groups",
            admin,
            json!({ "displayName": "Compliance Reviewers", "roles": ["auditor"] }),
        )
        .await
        .expect(201);
    let group_id = id_of(&group);
    assert_eq!(group["roles"], json!(["auditor"]));
    let added = api
        .post(
            &format!("/groups/{group_id}/members"),
            admin,
            json!({ "userIds": [member, member] }),
        )
        .await
        .expect(200);
    assert_eq!(added["added"], json!([member]));

    // The member's key now carries what the group grants, on every check.
    assert!(allowed(&api, &member_key, "audit:read").await);
    api.get("/audit-events", &member_key).await.expect(200);
    let shown = api.get(&format!("/users/{member}"), admin).await.expect(200);
    assert_eq!(shown["roles"], json!(["viewer"]), "own roles are unchanged");
    assert_eq!(shown["groupIds"], json!([group_id]));
    assert_eq!(
        shown["effectiveRoles"],
        json!([
            { "role": "viewer", "direct": true, "groupIds": [] },
            { "role": "auditor", "direct": false, "groupIds": [group_id] },
        ])
    );
    let auditors = api.get("/users?role=auditor", admin).await.expect(200);
    assert_eq!(listed_ids(&auditors), vec![member.clone()]);
    let members = api.get(&format!("/groups/{group_id}/members"), admin).await.expect(200);
    assert_eq!(listed_ids(&members), vec![member.clone()]);
    // Adding one already in changes nothing.
    let again = api
        .post(
            &format!("/groups/{group_id}/members"),
            admin,
            json!({ "userIds": [member] }),
        )
        .await
        .expect(200);
    assert_eq!(again["added"], json!([]));

    // Leaving the group takes the grant away at once.
    api.delete(&format!("/groups/{group_id}/members/{member}"), admin)
        .await
        .expect(200);
    assert!(!allowed(&api, &member_key, "audit:read").await);
    api.delete(&format!("/groups/{group_id}/members/{member}"), admin)
        .await
        .expect_error(404, "not_found");
    let trail = api.audit_trail_of(&org, &member).await;
    let changes: Vec<&Value> = trail
        .iter()
        .filter(|event| event["action"] == "user.groups_changed")
        .collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["summary"]["removed"], json!([group_id]));
    assert_eq!(changes[1]["summary"]["added"], json!([group_id]));

    // A group's roles changed reach its members; a deleted group grants nothing.
    api.post(
        &format!("/groups/{group_id}/members"),
        admin,
        json!({ "userIds": [member] }),
    )
    .await
    .expect(200);
    api.patch(&format!("/groups/{group_id}"), admin, json!({ "roles": ["developer"] }))
        .await
        .expect(200);
    assert!(!allowed(&api, &member_key, "audit:read").await);
    assert!(allowed(&api, &member_key, "api_keys:manage").await);
    let deleted = api.delete(&format!("/groups/{group_id}"), admin).await.expect(200);
    assert_eq!(deleted["displayName"], "Compliance Reviewers");
    assert!(!allowed(&api, &member_key, "api_keys:manage").await);
    api.get(&format!("/groups/{group_id}"), admin)
        .await
        .expect_error(404, "not_found");
    let shown = api.get(&format!("/users/{member}"), admin).await.expect(200);
    assert_eq!(shown["groupIds"], json!([]));
    // Its name is free again.
    api.post("/groups", admin, json!({ "displayName": "compliance reviewers" }))
        .await
        .expect(201);
}

#[tokio::test]
async fn nobody_grants_through_a_group_what_they_do_not_hold() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let admin = &org.admin_key;
    let (_, developer) = api.member_with_key(&org, "dev@utility.example", &["developer"]).await;
    let (target, _) = api.member_with_key(&org, "tech@utility.example", &["viewer"]).await;
    let (other_admin, _) = api.member_with_key(&org, "boss@utility.example", &["admin"]).await;

    // A developer (users:write, no audit:read) cannot make a group that grants auditor…
    let refused = api
        .post(
            "/groups",
            &developer,
            json!({ "displayName": "Auditors", "roles": ["auditor"] }),
        )
        .await
        .expect_error(403, "forbidden");
    assert!(refused["error"]["message"].as_str().unwrap().contains("audit:read"));
    // …nor give a group one, nor add anyone to a group that grants it.
    let plain = id_of(
        &api.post("/groups", &developer, json!({ "displayName": "Field crew" }))
            .await
            .expect(201),
    );
    api.patch(&format!("/groups/{plain}"), &developer, json!({ "roles": ["admin"] }))
        .await
        .expect_error(403, "forbidden");
    let admins = id_of(
        &api.post("/groups", admin, json!({ "displayName": "Admins", "roles": ["admin"] }))
            .await
            .expect(201),
    );
    api.post(
        &format!("/groups/{admins}/members"),
        &developer,
        json!({ "userIds": [target] }),
    )
    .await
    .expect_error(403, "forbidden");
    // …nor move a more privileged member in or out of a group.
    api.post(
        &format!("/groups/{plain}/members"),
        &developer,
        json!({ "userIds": [other_admin] }),
    )
    .await
    .expect_error(403, "forbidden");
    api.post(
        &format!("/groups/{plain}/members"),
        &developer,
        json!({ "userIds": [target] }),
    )
    .await
    .expect(200);

    // A custom role a group grants cannot be deleted under it.
    let role = id_of(
        &api.post(
            "/roles",
            admin,
            json!({ "name": "Reviewer", "permissions": ["training:read"] }),
        )
        .await
        .expect(201),
    );
    api.patch(&format!("/groups/{plain}"), admin, json!({ "roles": [role] }))
        .await
        .expect(200);
    let held = api
        .delete(&format!("/roles/{role}"), admin)
        .await
        .expect_error(409, "conflict");
    assert!(held["error"]["message"].as_str().unwrap().contains("group"));
    api.patch(&format!("/groups/{plain}"), admin, json!({ "roles": [] }))
        .await
        .expect(200);
    api.delete(&format!("/roles/{role}"), admin).await.expect(200);
}

#[tokio::test]
async fn admin_through_a_group_never_counts_as_the_organizations_last_admin() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let admin = &org.admin_key;
    let (member, member_key) = api.member_with_key(&org, "second@utility.example", &["viewer"]).await;
    let admins = id_of(
        &api.post(
            "/groups",
            admin,
            json!({ "displayName": "Admins", "roles": ["admin"], "userIds": [member] }),
        )
        .await
        .expect(201),
    );
    assert!(allowed(&api, &member_key, "roles:write").await);
    // The bootstrap admin is the only one holding admin themselves: they stay.
    api.patch(
        &format!("/users/{}", org.admin_id),
        &member_key,
        json!({ "roles": ["viewer"] }),
    )
    .await
    .expect_error(409, "conflict");
    api.get(&format!("/groups/{admins}/members"), admin).await.expect(200);
}

#[tokio::test]
async fn names_are_unique_members_are_the_organizations_own_and_bad_input_is_refused() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let other = api.new_organization().await;
    let admin = &org.admin_key;
    let stranger = api.create_user(&other, "them@else.example", "Stranger").await;
    let theirs = id_of(
        &api.post("/groups", &other.admin_key, json!({ "displayName": "Theirs" }))
            .await
            .expect(201),
    );

    let ours = id_of(
        &api.post(
            "/groups",
            admin,
            json!({ "displayName": "Operators", "externalId": "okta-1" }),
        )
        .await
        .expect(201),
    );
    api.post("/groups", admin, json!({ "displayName": "OPERATORS" }))
        .await
        .expect_error(409, "conflict");
    // Another organization's group and member are not found here.
    api.get(&format!("/groups/{theirs}"), admin)
        .await
        .expect_error(404, "not_found");
    api.post(
        &format!("/groups/{ours}/members"),
        admin,
        json!({ "userIds": [stranger] }),
    )
    .await
    .expect_error(404, "not_found");
    api.post(
        "/groups",
        admin,
        json!({ "displayName": "With a stranger", "userIds": [stranger] }),
    )
    .await
    .expect_error(404, "not_found");
    assert_eq!(
        listed_ids(&api.get("/groups", admin).await.expect(200)),
        vec![ours.clone()],
        "a refused create made nothing"
    );
    for body in [
        json!({ "displayName": "" }),
        json!({ "displayName": "x", "roles": ["superuser"] }),
        json!({ "displayName": "x", "userIds": ["nope"] }),
        json!({ "displayName": "x", "extra": true }),
    ] {
        api.post("/groups", admin, body)
            .await
            .expect_error(400, "validation_error");
    }
    api.patch(&format!("/groups/{ours}"), admin, json!({ "displayName": null }))
        .await
        .expect_error(400, "validation_error");
    api.get("/groups/grp_nope", admin)
        .await
        .expect_error(400, "validation_error");
    let many: Vec<String> = (0..101).map(|index| format!("usr_{index:0>26}")).collect();
    api.post(&format!("/groups/{ours}/members"), admin, json!({ "userIds": many }))
        .await
        .expect_error(400, "validation_error");
    // A viewer reads groups and changes none.
    let (_, viewer) = api.member_with_key(&org, "v@utility.example", &["viewer"]).await;
    api.get("/groups", &viewer).await.expect(200);
    api.post("/groups", &viewer, json!({ "displayName": "Mine" }))
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn deleting_a_group_of_seventy_removes_every_member_a_batch_at_a_time() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let admin = &org.admin_key;
    let mut members = Vec::new();
    for index in 0..70 {
        members.push(
            api.create_user(&org, &format!("crew{index}@utility.example"), &format!("Crew {index}"))
                .await,
        );
    }
    let group = id_of(
        &api.post(
            "/groups",
            admin,
            json!({ "displayName": "Crew", "roles": ["auditor"], "userIds": members[..30] }),
        )
        .await
        .expect(201),
    );
    // More than a transaction holds at creation is refused; adding them after is not.
    api.post(
        "/groups",
        admin,
        json!({ "displayName": "Too many", "userIds": members[..31] }),
    )
    .await
    .expect_error(400, "validation_error");
    let added = api
        .post(
            &format!("/groups/{group}/members"),
            admin,
            json!({ "userIds": members[25..] }),
        )
        .await
        .expect(200);
    assert_eq!(added["added"].as_array().unwrap().len(), 40);
    let mut listed = Vec::new();
    let mut path = format!("/groups/{group}/members?limit=25");
    loop {
        let page = api.get(&path, admin).await.expect(200);
        listed.extend(listed_ids(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/groups/{group}/members?limit=25&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected = members.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let auditors = api.get("/users?role=auditor&limit=100", admin).await.expect(200);
    assert_eq!(listed_ids(&auditors).len(), 70);

    api.delete(&format!("/groups/{group}"), admin).await.expect(200);
    let auditors = api.get("/users?role=auditor&limit=100", admin).await.expect(200);
    assert!(listed_ids(&auditors).is_empty());
    for member in [&members[0], &members[35], &members[69]] {
        let shown = api.get(&format!("/users/{member}"), admin).await.expect(200);
        assert_eq!(shown["groupIds"], json!([]));
        assert_eq!(
            shown["effectiveRoles"],
            json!([{ "role": "viewer", "direct": true, "groupIds": [] }])
        );
    }
    assert_eq!(
        api.audit_trail_of(&org, &members[69])
            .await
            .iter()
            .filter(|event| event["action"] == "user.groups_changed")
            .count(),
        2
    );
}
