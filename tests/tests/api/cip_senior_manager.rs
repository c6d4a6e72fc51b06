use futures::future::join_all;
use integration_tests::{TestApi, TestOrg};
use serde_json::{Value, json};

const PATH: &str = "/cip-senior-manager-assignments";

async fn designate(api: &TestApi, org: &TestOrg, user: &str, effective: &str) -> Value {
    api.post(
        PATH,
        &org.admin_key,
        json!({ "userId": user, "effectiveDate": effective }),
    )
    .await
    .expect(201)
}

/// Two designations: "A" from 2024-01-15, replaced by "B" from 2024-03-01.
struct TwoDesignations {
    first: String,
    second: String,
    old: Value,
    new: Value,
}

async fn two_designations(api: &TestApi, org: &TestOrg) -> TwoDesignations {
    let first = api.create_user(org, "a@utility.example", "A").await;
    let second = api.create_user(org, "b@utility.example", "B").await;
    let old = designate(api, org, &first, "2024-01-15").await;
    let new = designate(api, org, &second, "2024-03-01").await;
    TwoDesignations {
        first,
        second,
        old,
        new,
    }
}

async fn designee_on(api: &TestApi, org: &TestOrg, date: &str) -> Option<String> {
    let response = api.get(&format!("{PATH}/current?asOf={date}"), &org.admin_key).await;
    match response.status {
        200 => Some(response.body["userId"].as_str().unwrap().to_string()),
        404 => None,
        other => panic!("unexpected {other}: {}", response.body),
    }
}

#[tokio::test]
async fn the_first_designation_becomes_current_with_name_and_email() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let none = api
        .get(&format!("{PATH}/current"), &org.admin_key)
        .await
        .expect_error(404, "not_found");
    assert!(
        none["error"]["message"]
            .as_str()
            .unwrap()
            .contains("none is designated")
    );

    let grace = api.create_user(&org, "grace@utility.example", "Grace Hopper").await;
    let created = api
        .post(
            PATH,
            &org.admin_key,
            json!({ "userId": grace, "effectiveDate": "2024-01-15", "notes": "Board resolution 2024-03" }),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("csm_"));
    assert_eq!(created["userId"], grace.as_str());
    assert_eq!(created["effectiveDate"], "2024-01-15");
    assert_eq!(created["endDate"], Value::Null);
    assert_eq!(created["status"], "current");
    assert_eq!(created["recordedBy"], org.admin_id.as_str());

    let current = api.get(&format!("{PATH}/current"), &org.admin_key).await.expect(200);
    assert_eq!(current["id"], id);
    assert_eq!(current["userDisplayName"], "Grace Hopper");
    assert_eq!(current["userEmail"], "grace@utility.example");
    assert_eq!(current["notes"], "Board resolution 2024-03");
    assert_eq!(
        api.get(&format!("{PATH}/{id}"), &org.admin_key).await.expect(200)["effectiveDate"],
        "2024-01-15"
    );

    let trail = api.audit_trail_of(&org, id).await;
    assert_eq!(trail[0]["action"], "cip_senior_manager.designated");
    assert_eq!(trail[0]["summary"]["userId"], grace.as_str());
}

#[tokio::test]
async fn a_replacement_ends_the_previous_designation_the_day_before() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let TwoDesignations { old, new, .. } = two_designations(&api, &org).await;

    let old_now = api
        .get(&format!("{PATH}/{}", old["id"].as_str().unwrap()), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(old_now["endDate"], "2024-02-29", "leap year: the day before March 1st");
    assert_eq!(old_now["status"], "ended");
    assert_eq!(
        api.get(&format!("{PATH}/current"), &org.admin_key).await.expect(200)["id"],
        new["id"]
    );

    let history = api.get(PATH, &org.admin_key).await.expect(200);
    let ids: Vec<_> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, vec![new["id"].clone(), old["id"].clone()], "newest first");

    let ended = api.audit_trail_of(&org, old["id"].as_str().unwrap()).await;
    assert_eq!(ended[0]["action"], "cip_senior_manager.ended");
    assert_eq!(ended[0]["summary"]["endDate"], "2024-02-29");
}

#[tokio::test]
async fn as_of_answers_who_was_designated_on_any_date() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let TwoDesignations { first, second, .. } = two_designations(&api, &org).await;

    assert_eq!(
        designee_on(&api, &org, "2024-01-14").await,
        None,
        "before the first designation"
    );
    assert_eq!(
        designee_on(&api, &org, "2024-01-15").await.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        designee_on(&api, &org, "2024-02-29").await.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        designee_on(&api, &org, "2024-03-01").await.as_deref(),
        Some(second.as_str())
    );
    assert_eq!(
        designee_on(&api, &org, "2030-01-01").await.as_deref(),
        Some(second.as_str())
    );
    let on_old_date = api
        .get(&format!("{PATH}/current?asOf=2024-02-01"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(on_old_date["userDisplayName"], "A");

    api.get(&format!("{PATH}/current?asOf=2024-13-01"), &org.admin_key)
        .await
        .expect_error(400, "validation_error");
    api.get(&format!("{PATH}/current?when=2024-01-01"), &org.admin_key)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn a_correction_moves_the_effective_date_and_keeps_the_history_contiguous() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let TwoDesignations { second, old, new, .. } = two_designations(&api, &org).await;
    let new_id = new["id"].as_str().unwrap();

    let corrected = api
        .patch(
            &format!("{PATH}/{new_id}"),
            &org.admin_key,
            json!({ "effectiveDate": "2024-02-20", "notes": "Date per signed letter" }),
        )
        .await
        .expect(200);
    assert_eq!(corrected["effectiveDate"], "2024-02-20");
    assert_eq!(corrected["notes"], "Date per signed letter");
    let old_now = api
        .get(&format!("{PATH}/{}", old["id"].as_str().unwrap()), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(old_now["endDate"], "2024-02-19");
    assert_eq!(
        designee_on(&api, &org, "2024-02-20").await.as_deref(),
        Some(second.as_str())
    );

    let trail = api.audit_trail_of(&org, new_id).await;
    assert_eq!(trail[0]["action"], "cip_senior_manager.corrected");
    assert_eq!(
        trail[0]["summary"]["effectiveDate"],
        json!({ "from": "2024-03-01", "to": "2024-02-20" })
    );
}

#[tokio::test]
async fn a_correction_can_not_overlap_designations_or_change_the_person() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let TwoDesignations { first, old, new, .. } = two_designations(&api, &org).await;
    let (old_id, new_id) = (old["id"].as_str().unwrap(), new["id"].as_str().unwrap());

    for date in ["2024-01-15", "2024-01-01"] {
        api.patch(
            &format!("{PATH}/{new_id}"),
            &org.admin_key,
            json!({ "effectiveDate": date }),
        )
        .await
        .expect_error(409, "conflict");
    }
    api.patch(
        &format!("{PATH}/{old_id}"),
        &org.admin_key,
        json!({ "effectiveDate": "2024-03-01" }),
    )
    .await
    .expect_error(409, "conflict");
    let body = api
        .patch(&format!("{PATH}/{new_id}"), &org.admin_key, json!({ "userId": first }))
        .await
        .expect_error(400, "validation_error");
    assert_eq!(body["error"]["field"], "userId");
    api.post(
        PATH,
        &org.admin_key,
        json!({ "userId": first, "effectiveDate": "2024-02-01" }),
    )
    .await
    .expect_error(409, "conflict");

    // Nothing moved.
    assert_eq!(
        api.get(&format!("{PATH}/{old_id}"), &org.admin_key).await.expect(200)["endDate"],
        "2024-02-29"
    );
    assert_eq!(
        api.get(&format!("{PATH}/{new_id}"), &org.admin_key).await.expect(200)["effectiveDate"],
        "2024-03-01"
    );
}

#[tokio::test]
async fn only_an_active_member_of_the_organization_can_be_designated() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let suspended = api.create_user(&org, "s@utility.example", "S").await;
    api.patch(
        &format!("/users/{suspended}"),
        &org.admin_key,
        json!({ "status": "suspended" }),
    )
    .await
    .expect(200);
    api.post(
        PATH,
        &org.admin_key,
        json!({ "userId": suspended, "effectiveDate": "2024-01-01" }),
    )
    .await
    .expect_error(409, "conflict");

    let other = api.new_organization().await;
    let stranger = api.create_user(&other, "x@utility.example", "X").await;
    api.post(
        PATH,
        &org.admin_key,
        json!({ "userId": stranger, "effectiveDate": "2024-01-01" }),
    )
    .await
    .expect_error(404, "not_found");

    let body = api
        .post(
            PATH,
            &org.admin_key,
            json!({ "userId": org.admin_id.as_str(), "effectiveDate": "2999-01-01" }),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(body["error"]["field"], "effectiveDate");
    let body = api
        .post(
            PATH,
            &org.admin_key,
            json!({ "userId": org.admin_id.as_str(), "effectiveDate": "01/02/2024" }),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(body["error"]["field"], "effectiveDate");
    api.get(&format!("{PATH}/current"), &org.admin_key)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn concurrent_replacements_leave_exactly_one_current_designation() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let first = api.create_user(&org, "first@utility.example", "First").await;
    designate(&api, &org, &first, "2024-01-01").await;
    let mut candidates = Vec::new();
    for n in 0..6 {
        candidates.push(api.create_user(&org, &format!("c{n}@utility.example"), "C").await);
    }
    let attempts = candidates.iter().map(|candidate| {
        api.post(
            PATH,
            &org.admin_key,
            json!({ "userId": candidate, "effectiveDate": "2024-06-01" }),
        )
    });
    let responses = join_all(attempts).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{responses:#?}");
    assert!(
        responses
            .iter()
            .all(|r| r.status == 201 || (r.status == 409 && r.error_code() == "conflict"))
    );

    let history = api.get(PATH, &org.admin_key).await.expect(200);
    let current: Vec<_> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "current")
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(history["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_current_designee_can_not_be_deleted_or_suspended() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let first = api.create_user(&org, "first@utility.example", "First").await;
    let second = api.create_user(&org, "second@utility.example", "Second").await;
    designate(&api, &org, &first, "2024-01-01").await;

    let body = api
        .delete(&format!("/users/{first}"), &org.admin_key)
        .await
        .expect_error(409, "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("designate a replacement first")
    );
    api.patch(
        &format!("/users/{first}"),
        &org.admin_key,
        json!({ "status": "suspended" }),
    )
    .await
    .expect_error(409, "conflict");
    assert_eq!(
        api.get(&format!("/users/{first}"), &org.admin_key).await.expect(200)["status"],
        "active"
    );
    // Other profile changes are fine.
    api.patch(
        &format!("/users/{first}"),
        &org.admin_key,
        json!({ "title": "VP Operations" }),
    )
    .await
    .expect(200);

    designate(&api, &org, &second, "2024-02-01").await;
    api.delete(&format!("/users/{first}"), &org.admin_key).await.expect(200);
    // The history keeps the former designee's name.
    let then = api
        .get(&format!("{PATH}/current?asOf=2024-01-10"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(then["userDisplayName"], "First");
}

#[tokio::test]
async fn another_organization_sees_nothing_of_my_designations() {
    let api = TestApi::new().await;
    let mine = api.new_organization().await;
    let theirs = api.new_organization().await;
    let me = mine.admin_id.to_string();
    let assignment = designate(&api, &mine, &me, "2024-01-01").await;
    let id = assignment["id"].as_str().unwrap();

    api.get(&format!("{PATH}/current"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    api.get(&format!("{PATH}/{id}"), &theirs.admin_key)
        .await
        .expect_error(404, "not_found");
    api.patch(&format!("{PATH}/{id}"), &theirs.admin_key, json!({ "notes": "x" }))
        .await
        .expect_error(404, "not_found");
    assert!(
        api.get(PATH, &theirs.admin_key).await.expect(200)["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // My designee is not protected in their organization's eyes, and mine is unchanged.
    assert_eq!(
        api.get(&format!("{PATH}/{id}"), &mine.admin_key).await.expect(200)["notes"],
        Value::Null
    );
}

#[tokio::test]
async fn reading_needs_cip_read_and_designating_needs_cip_write() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let (viewer_id, viewer) = api.member_with_key(&org, "viewer@utility.example", &["viewer"]).await;
    api.get(PATH, &viewer).await.expect(200);
    let body = api
        .post(
            PATH,
            &viewer,
            json!({ "userId": viewer_id, "effectiveDate": "2024-01-01" }),
        )
        .await
        .expect_error(403, "forbidden");
    assert_eq!(body["error"]["permission"], "cip:write");
}

#[tokio::test]
async fn the_history_pages_newest_first() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let mut dates = Vec::new();
    for month in 1..=5 {
        let user = api.create_user(&org, &format!("m{month}@utility.example"), "M").await;
        let date = format!("2024-0{month}-01");
        designate(&api, &org, &user, &date).await;
        dates.push(date);
    }
    let mut seen = Vec::new();
    let mut path = format!("{PATH}?limit=2");
    loop {
        let page = api.get(&path, &org.admin_key).await.expect(200);
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["effectiveDate"].as_str().unwrap().to_string()),
        );
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{PATH}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    dates.reverse();
    assert_eq!(seen, dates);
}

#[tokio::test]
async fn a_date_with_a_signed_year_is_refused_and_the_history_stays_readable() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let designations = two_designations(&api, &org).await;
    let first_id = designations.old["id"].as_str().unwrap();

    for bad in ["-001-01-01", "+025-01-01", "0025-01-01", "1899-12-31"] {
        let refused = api
            .post(
                PATH,
                &org.admin_key,
                json!({ "userId": designations.first, "effectiveDate": bad }),
            )
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], "effectiveDate", "{bad}");
        api.patch(
            &format!("{PATH}/{first_id}"),
            &org.admin_key,
            json!({ "effectiveDate": bad }),
        )
        .await
        .expect_error(400, "validation_error");
    }
    for bad in ["+025-01-01", "%20025-01-01", "-001-01-01"] {
        api.get(&format!("{PATH}/current?asOf={bad}"), &org.admin_key)
            .await
            .expect_error(400, "validation_error");
    }

    // Every read still works and the history is as it was.
    let history = api.get(PATH, &org.admin_key).await.expect(200);
    assert_eq!(history["data"].as_array().unwrap().len(), 2);
    assert_eq!(history["data"][1]["effectiveDate"], "2024-01-15");
    assert_eq!(
        designee_on(&api, &org, "2024-02-01").await.as_deref(),
        Some(designations.first.as_str())
    );
    api.get(&format!("{PATH}/current"), &org.admin_key).await.expect(200);
}

#[tokio::test]
async fn current_as_of_and_corrections_read_a_bounded_slice_of_a_long_history() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let mut ids = Vec::new();
    for year in 2000..2015 {
        let user = api
            .create_user(&org, &format!("csm{year}@utility.example"), &format!("CSM {year}"))
            .await;
        ids.push(
            designate(&api, &org, &user, &format!("{year}-03-01")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let bounded = |what: &str| {
        let limits = api.dynamo_calls.query_limits();
        assert!(
            limits.iter().all(|limit| limit.is_some_and(|limit| limit <= 3)),
            "{what} read more than a bounded slice: {limits:?}"
        );
        api.dynamo_calls.count()
    };

    api.dynamo_calls.reset();
    let current = api.get(&format!("{PATH}/current"), &org.admin_key).await.expect(200);
    assert_eq!(current["id"], ids[14].as_str());
    assert_eq!(bounded("current"), 5, "auth (2) + pointer + assignment + designee");

    api.dynamo_calls.reset();
    let then = api
        .get(&format!("{PATH}/current?asOf=2007-02-28"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(then["id"], ids[6].as_str());
    assert_eq!(then["effectiveDate"], "2006-03-01");
    assert_eq!(bounded("asOf"), 4, "auth (2) + one GSI query + designee");
    let first_day = api
        .get(&format!("{PATH}/current?asOf=2007-03-01"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(first_day["id"], ids[7].as_str());
    api.get(&format!("{PATH}/current?asOf=1999-12-31"), &org.admin_key)
        .await
        .expect_error(404, "not_found");

    api.dynamo_calls.reset();
    let corrected = api
        .patch(
            &format!("{PATH}/{}", ids[7]),
            &org.admin_key,
            json!({ "effectiveDate": "2007-01-15" }),
        )
        .await
        .expect(200);
    assert_eq!(corrected["effectiveDate"], "2007-01-15");
    assert_eq!(
        bounded("a correction"),
        6,
        "auth (2) + assignment + two neighbour queries + write"
    );
    assert_eq!(
        api.dynamo_calls.query_consistency(),
        vec![true, true],
        "the neighbour queries read every write acknowledged before them"
    );
    let earlier = api.get(&format!("{PATH}/{}", ids[6]), &org.admin_key).await.expect(200);
    assert_eq!(earlier["endDate"], "2007-01-14");
    assert_eq!(
        designee_on(&api, &org, "2007-02-28").await,
        current_designee_of(&api, &org, &ids[7]).await
    );

    // The neighbours still bound a correction.
    api.patch(
        &format!("{PATH}/{}", ids[7]),
        &org.admin_key,
        json!({ "effectiveDate": "2008-03-01" }),
    )
    .await
    .expect_error(409, "conflict");
    api.patch(
        &format!("{PATH}/{}", ids[7]),
        &org.admin_key,
        json!({ "effectiveDate": "2006-03-01" }),
    )
    .await
    .expect_error(409, "conflict");
}

async fn current_designee_of(api: &TestApi, org: &TestOrg, assignment: &str) -> Option<String> {
    let body = api
        .get(&format!("{PATH}/{assignment}"), &org.admin_key)
        .await
        .expect(200);
    body["userId"].as_str().map(str::to_string)
}
