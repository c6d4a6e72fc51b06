//! What the API accepts as a time: instants and dates from 1970-01-01 to the end of 2999
//! (the store writes instants as non-negative epoch milliseconds in sort keys), on every
//! route and field, and ranges whose bounds are in order.

use integration_tests::TestApi;
use serde_json::{Value, json};

use crate::training_program::{assign, id_of, program};

const BEFORE_THE_EPOCH: &str = "1969-12-31T23:59:59Z";
const THE_EPOCH: &str = "1970-01-01T00:00:00Z";
const DAY_BEFORE_1970: &str = "1969-12-31";

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(id_of).collect()
}

#[tokio::test]
async fn instants_and_dates_before_1970_are_refused_on_every_route_naming_the_field() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let assignment = id_of(&assign(&api, &p, "2030-01-01").await);
    let user = &p.user;

    for (path, field) in [
        (
            format!("/training-assignments?completedAfter={BEFORE_THE_EPOCH}"),
            "completedAfter",
        ),
        (
            format!("/training-assignments?completedBefore={BEFORE_THE_EPOCH}"),
            "completedBefore",
        ),
        (
            format!("/training-assignments?expiresBefore={BEFORE_THE_EPOCH}"),
            "expiresBefore",
        ),
        (
            format!("/training-assignments?dueBefore={DAY_BEFORE_1970}"),
            "dueBefore",
        ),
        // An offset that puts a 1970 wall-clock time before the epoch in UTC.
        (
            "/training-assignments?completedAfter=1970-01-01T00:30:00+01:00".to_string(),
            "completedAfter",
        ),
        (
            format!("/training-assignments/export?format=json&completedBefore={BEFORE_THE_EPOCH}"),
            "completedBefore",
        ),
        (
            format!("/training-assignments/export?dueBefore={DAY_BEFORE_1970}"),
            "dueBefore",
        ),
        (format!("/audit-events?from={BEFORE_THE_EPOCH}"), "from"),
        (format!("/audit-events?to={BEFORE_THE_EPOCH}"), "to"),
        (
            format!("/cip-senior-manager-assignments/current?asOf={DAY_BEFORE_1970}"),
            "asOf",
        ),
        (format!("/users/{user}/training-status?asOf={DAY_BEFORE_1970}"), "asOf"),
    ] {
        let refused = api.get(&path, key).await.expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], field, "{path}: {refused}");
        assert!(
            refused["error"]["message"].as_str().unwrap().contains("1970-01-01"),
            "{path}: {refused}"
        );
    }

    let bodies = [
        (
            "/training-assignments".to_string(),
            json!({ "userId": user, "trainingModuleId": p.module, "dueDate": DAY_BEFORE_1970 }),
            "dueDate",
        ),
        (
            format!("/training-assignments/{assignment}/complete"),
            json!({ "completedAt": BEFORE_THE_EPOCH }),
            "completedAt",
        ),
        (
            "/cip-senior-manager-assignments".to_string(),
            json!({ "userId": p.org.admin_id.as_str(), "effectiveDate": DAY_BEFORE_1970 }),
            "effectiveDate",
        ),
    ];
    for (path, body, field) in bodies {
        let refused = api
            .post(&path, key, body.clone())
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], field, "{path} {body}: {refused}");
    }
    let refused = api
        .patch(
            &format!("/training-assignments/{assignment}"),
            key,
            json!({ "dueDate": DAY_BEFORE_1970 }),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(refused["error"]["field"], "dueDate");

    // Nothing changed: the assignment is still open, due when it was.
    let read = api
        .get(&format!("/training-assignments/{assignment}"), key)
        .await
        .expect(200);
    assert_eq!(read["status"], "assigned");
    assert_eq!(read["dueDate"], "2030-01-01");
}

#[tokio::test]
async fn a_completion_at_the_epoch_is_found_by_every_completion_range_sort_and_the_export() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let epoch = id_of(&assign(&api, &p, "1970-01-01").await);
    let recent = id_of(&assign(&api, &p, "2030-01-01").await);
    let completed = api
        .post(
            &format!("/training-assignments/{epoch}/complete"),
            key,
            json!({ "completedAt": THE_EPOCH }),
        )
        .await
        .expect(200);
    assert_eq!(completed["completedAt"], THE_EPOCH);
    // The module's interval is 365 days.
    assert_eq!(completed["expiresAt"], "1971-01-01T00:00:00Z");
    api.post(
        &format!("/training-assignments/{recent}/complete"),
        key,
        json!({ "completedAt": "2025-04-10T14:15:00Z" }),
    )
    .await
    .expect(200);

    for (query, expected) in [
        ("sort=completedAt", vec![epoch.clone(), recent.clone()]),
        ("sort=-completedAt", vec![recent.clone(), epoch.clone()]),
        (
            &format!("completedAfter={THE_EPOCH}") as &str,
            vec![epoch.clone(), recent.clone()],
        ),
        ("completedBefore=1970-01-01T00:00:00.001Z", vec![epoch.clone()]),
        ("expiresBefore=1971-01-02T00:00:00Z", vec![epoch.clone()]),
        ("sort=expiresAt", vec![epoch.clone(), recent.clone()]),
        ("dueBefore=1970-01-02&status=complete", vec![epoch.clone()]),
    ] {
        let listed = api
            .get(&format!("/training-assignments?{query}"), key)
            .await
            .expect(200);
        assert_eq!(ids(&listed), expected, "{query}");
    }
    let exported = api
        .get(
            &format!("/training-assignments/export?format=json&completedAfter={THE_EPOCH}"),
            key,
        )
        .await
        .expect(200);
    let exported: Vec<String> = exported.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(exported, vec![epoch, recent]);
}

#[tokio::test]
async fn a_reversed_range_is_refused_naming_its_later_bound_on_lists_the_export_and_the_audit_trail() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let done = id_of(&assign(&api, &p, "2030-01-01").await);
    api.post(
        &format!("/training-assignments/{done}/complete"),
        key,
        json!({ "completedAt": "2025-01-15T00:00:00Z" }),
    )
    .await
    .expect(200);

    let reversed = "completedAfter=2025-02-01T00:00:00Z&completedBefore=2025-01-01T00:00:00Z";
    for path in [
        format!("/training-assignments?{reversed}"),
        format!("/training-assignments?{reversed}&sort=-completedAt"),
        format!("/training-assignments?{reversed}&sort=createdAt"),
        format!("/training-assignments?{reversed}&status=complete"),
        format!("/training-assignments?{reversed}&userId={}", p.user),
        format!("/training-assignments?{reversed}&facilityId={}", p.alpha),
        format!("/training-assignments?{reversed}&sort=dueDate"),
        format!("/training-assignments/export?{reversed}"),
        format!("/training-assignments/export?format=json&{reversed}"),
    ] {
        let refused = api.get(&path, key).await.expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], "completedBefore", "{path}: {refused}");
    }
    let refused = api
        .get("/audit-events?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z", key)
        .await
        .expect_error(400, "validation_error");
    assert_eq!(refused["error"]["field"], "to");
    let refused = api
        .get(
            &format!("/audit-events?targetId={done}&from=2025-01-01T00:00:00.002Z&to=2025-01-01T00:00:00.001Z"),
            key,
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(refused["error"]["field"], "to");

    // Bounds in order still answer; equal bounds select nothing (before is exclusive).
    let within = api
        .get(
            "/training-assignments?completedAfter=2025-01-01T00:00:00Z&completedBefore=2025-02-01T00:00:00Z",
            key,
        )
        .await
        .expect(200);
    assert_eq!(ids(&within), vec![done.clone()]);
    let empty = api
        .get(
            "/training-assignments?completedAfter=2025-01-15T00:00:00Z&completedBefore=2025-01-15T00:00:00Z",
            key,
        )
        .await
        .expect(200);
    assert!(ids(&empty).is_empty());
    let trail = api
        .get(
            &format!("/audit-events?targetId={done}&from=2000-01-01T00:00:00Z&to=2000-01-01T00:00:00Z"),
            key,
        )
        .await
        .expect(200);
    assert!(trail["data"].as_array().unwrap().is_empty());
}
