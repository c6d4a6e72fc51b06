//! The facilities a person is authorised for (issue 25's source of truth for "the
//! facilities they will access"): kept on the member, named by id, audited, and keeping
//! each facility in use as an open assignment's scope does.

use integration_tests::TestApi;
use serde_json::{Value, json};

use crate::training_export::csv_rows;
use crate::training_program::id_of;

fn ids(facilities: &Value) -> Vec<&str> {
    facilities["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|facility| facility["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_person_is_authorised_for_facilities_added_replaced_and_removed_with_each_change_audited() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = &org.admin_key;
    let user = api.create_user(&org, "tech@utility.example", "Field Tech").await;
    let north = id_of(
        &api.post("/facilities", key, json!({ "name": "North Substation" }))
            .await
            .expect(201),
    );
    let south = id_of(
        &api.post("/facilities", key, json!({ "name": "South Substation" }))
            .await
            .expect(201),
    );
    let control = id_of(
        &api.post("/facilities", key, json!({ "name": "Control Center" }))
            .await
            .expect(201),
    );

    let none = api.get(&format!("/users/{user}/facilities"), key).await.expect(200);
    assert_eq!(none, json!({ "userId": user, "facilities": [] }));

    let added = api
        .post(
            &format!("/users/{user}/facilities"),
            key,
            json!({ "facilityIds": [north, south, north] }),
        )
        .await
        .expect(200);
    assert_eq!(ids(&added), vec![north.as_str(), south.as_str()]);
    assert_eq!(added["facilities"][0]["name"], "North Substation");
    let shown = api.get(&format!("/users/{user}"), key).await.expect(200);
    assert_eq!(shown["facilityIds"], json!([north, south]));
    // Adding what is held changes nothing and records nothing.
    api.post(
        &format!("/users/{user}/facilities"),
        key,
        json!({ "facilityIds": [south] }),
    )
    .await
    .expect(200);

    let replaced = api
        .patch(
            &format!("/users/{user}"),
            key,
            json!({ "facilityIds": [south, control], "title": "Lead" }),
        )
        .await
        .expect(200);
    assert_eq!(replaced["facilityIds"], json!([south, control]));
    assert_eq!(replaced["title"], "Lead");
    let removed = api
        .delete(&format!("/users/{user}/facilities/{south}"), key)
        .await
        .expect(200);
    assert_eq!(ids(&removed), vec![control.as_str()]);
    api.delete(&format!("/users/{user}/facilities/{south}"), key)
        .await
        .expect_error(404, "not_found");

    // The users export names them too: the JSON object as the list's, the CSV's last column.
    let csv = api.get("/users/export?format=csv", key).await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let rows = csv_rows(&csv.raw);
    let row = rows
        .iter()
        .find(|row| row["id"] == user.as_str())
        .expect("the user's row");
    assert_eq!(row["facilityIds"], control.as_str());
    let json = api.get("/users/export?format=json", key).await.expect(200);
    let object = json
        .as_array()
        .unwrap()
        .iter()
        .find(|object| object["id"] == user.as_str())
        .unwrap()
        .clone();
    assert_eq!(object["facilityIds"], json!([control]));

    let trail = api.audit_trail_of(&org, &user).await;
    let changes: Vec<&Value> = trail
        .iter()
        .filter(|event| event["action"] == "user.facilities_changed")
        .map(|event| &event["summary"])
        .collect();
    assert_eq!(changes.len(), 3, "{trail:?}");
    // Newest first: the removal, the replacement, the first grant.
    assert_eq!(
        changes[0],
        &json!({ "added": [], "removed": [south], "facilityIds": [control] })
    );
    assert_eq!(
        changes[1],
        &json!({ "added": [control], "removed": [north], "facilityIds": [south, control] })
    );
    assert_eq!(
        changes[2],
        &json!({ "added": [north, south], "removed": [], "facilityIds": [north, south] })
    );
    assert!(
        trail
            .iter()
            .any(|event| event["action"] == "user.updated" && event["summary"]["title"]["to"] == "Lead"),
        "the title's change is its own user.updated: {trail:?}"
    );
}

#[tokio::test]
async fn unknown_deleted_or_too_many_facilities_are_refused_and_nothing_changes() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = &org.admin_key;
    let user = api.create_user(&org, "tech@utility.example", "Field Tech").await;
    let kept = id_of(
        &api.post("/facilities", key, json!({ "name": "Kept" }))
            .await
            .expect(201),
    );
    let gone = id_of(
        &api.post("/facilities", key, json!({ "name": "Gone" }))
            .await
            .expect(201),
    );
    api.delete(&format!("/facilities/{gone}"), key).await.expect(200);
    let unknown = "fac_01hx2m7k3q9v8c6b5n4m3k2j1h";

    let refused = api
        .post(
            &format!("/users/{user}/facilities"),
            key,
            json!({ "facilityIds": [kept, unknown] }),
        )
        .await
        .expect_error(404, "not_found");
    assert!(refused.to_string().contains(unknown), "{refused}");
    api.patch(&format!("/users/{user}"), key, json!({ "facilityIds": [kept, gone] }))
        .await
        .expect_error(409, "conflict");
    api.post(&format!("/users/{user}/facilities"), key, json!({ "facilityIds": [] }))
        .await
        .expect_error(400, "validation_error");
    api.post(
        &format!("/users/{user}/facilities"),
        key,
        json!({ "facilityIds": ["fac_nope"] }),
    )
    .await
    .expect_error(400, "validation_error");
    let many: Vec<String> = (0..51)
        .map(|_| raptor_shared::ids::FacilityId::new().to_string())
        .collect();
    let too_many = api
        .patch(&format!("/users/{user}"), key, json!({ "facilityIds": many }))
        .await;
    assert_eq!(too_many.status, 400, "{}", too_many.body);
    assert_eq!(
        api.get(&format!("/users/{user}"), key).await.expect(200)["facilityIds"],
        json!([])
    );
}

#[tokio::test]
async fn a_facility_a_person_is_authorised_for_is_not_deleted_until_nobody_is() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = &org.admin_key;
    let first = api.create_user(&org, "first@utility.example", "First").await;
    let second = api.create_user(&org, "second@utility.example", "Second").await;
    let site = id_of(
        &api.post("/facilities", key, json!({ "name": "Site" }))
            .await
            .expect(201),
    );
    for user in [&first, &second] {
        api.post(
            &format!("/users/{user}/facilities"),
            key,
            json!({ "facilityIds": [site] }),
        )
        .await
        .expect(200);
    }
    // The facility's access list: both, in id order, a page at a time.
    let mut expected = [first.clone(), second.clone()];
    expected.sort();
    let page = api
        .get(&format!("/facilities/{site}/members?limit=1"), key)
        .await
        .expect(200);
    assert_eq!(page["data"][0]["id"], expected[0].as_str());
    let cursor = page["nextCursor"].as_str().expect("a second page").to_string();
    let rest = api
        .get(&format!("/facilities/{site}/members?limit=1&cursor={cursor}"), key)
        .await
        .expect(200);
    assert_eq!(rest["data"][0]["id"], expected[1].as_str());
    assert_eq!(rest["data"][0]["facilityIds"], json!([site]));
    let refused = api
        .delete(&format!("/facilities/{site}"), key)
        .await
        .expect_error(409, "conflict");
    assert!(refused.to_string().contains("authorised"), "{refused}");
    api.delete(&format!("/users/{first}/facilities/{site}"), key)
        .await
        .expect(200);
    api.delete(&format!("/facilities/{site}"), key)
        .await
        .expect_error(409, "conflict");
    // Deleting the member ends what they held; their record still says what it was.
    let deleted = api.delete(&format!("/users/{second}"), key).await.expect(200);
    assert_eq!(deleted["facilityIds"], json!([site]));
    let listed = api.get(&format!("/facilities/{site}/members"), key).await.expect(200);
    assert_eq!(listed["data"], json!([]), "nobody holds it now");
    api.delete(&format!("/facilities/{site}"), key).await.expect(200);
}

#[tokio::test]
async fn only_who_manages_members_authorises_and_only_in_their_own_organization() {
    let api = TestApi::new().await;
    let ours = api.new_organization().await;
    let theirs = api.new_organization().await;
    let user = api.create_user(&ours, "tech@utility.example", "Field Tech").await;
    let site = id_of(
        &api.post("/facilities", &ours.admin_key, json!({ "name": "Ours" }))
            .await
            .expect(201),
    );
    let their_site = id_of(
        &api.post("/facilities", &theirs.admin_key, json!({ "name": "Theirs" }))
            .await
            .expect(201),
    );
    let (_, viewer) = api.member_with_key(&ours, "viewer@utility.example", &["viewer"]).await;
    api.get(&format!("/users/{user}/facilities"), &viewer).await.expect(200);
    api.post(
        &format!("/users/{user}/facilities"),
        &viewer,
        json!({ "facilityIds": [site] }),
    )
    .await
    .expect_error(403, "forbidden");
    // Another organization's facility is unknown here; our member is unknown there.
    api.post(
        &format!("/users/{user}/facilities"),
        &ours.admin_key,
        json!({ "facilityIds": [their_site] }),
    )
    .await
    .expect_error(404, "not_found");
    api.post(
        &format!("/users/{user}/facilities"),
        &theirs.admin_key,
        json!({ "facilityIds": [their_site] }),
    )
    .await
    .expect_error(404, "not_found");
    api.get(&format!("/users/{user}/facilities"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    // A facility's access list shows members: users:read, in its own organization only.
    api.post(
        &format!("/users/{user}/facilities"),
        &ours.admin_key,
        json!({ "facilityIds": [site] }),
    )
    .await
    .expect(200);
    let listed = api
        .get(&format!("/facilities/{site}/members"), &viewer)
        .await
        .expect(200);
    assert_eq!(listed["data"][0]["id"], user.as_str());
    let trainer_role = api
        .post(
            "/roles",
            &ours.admin_key,
            json!({ "name": "Trainer", "permissions": ["training:read", "training:write"] }),
        )
        .await
        .expect(201);
    let (_, trainer) = api
        .member_with_key(
            &ours,
            "trainer@utility.example",
            &[trainer_role["id"].as_str().unwrap()],
        )
        .await;
    api.get(&format!("/facilities/{site}/members"), &trainer)
        .await
        .expect_error(403, "forbidden");
    api.get(&format!("/facilities/{site}/members"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn the_most_facilities_a_person_may_hold_are_replaced_in_one_change() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = &org.admin_key;
    let user = api.create_user(&org, "tech@utility.example", "Field Tech").await;
    let most = raptor_shared::model::users::MAX_FACILITIES_PER_MEMBER;
    let mut sites = Vec::new();
    for n in 0..2 * most {
        sites.push(id_of(
            &api.post("/facilities", key, json!({ "name": format!("Site {n}") }))
                .await
                .expect(201),
        ));
    }
    let (first, second) = sites.split_at(most);
    api.patch(&format!("/users/{user}"), key, json!({ "facilityIds": first }))
        .await
        .expect(200);
    let replaced = api
        .patch(&format!("/users/{user}"), key, json!({ "facilityIds": second }))
        .await
        .expect(200);
    assert_eq!(replaced["facilityIds"], json!(second));
    // The first set is free again: each can be deleted.
    api.delete(&format!("/facilities/{}", first[0]), key).await.expect(200);
    api.delete(&format!("/facilities/{}", second[0]), key)
        .await
        .expect_error(409, "conflict");
}
