//! `GET /users/{id}/training-status`: a person's standing per module on dates before,
//! between and after completions, narrowed to a facility, and refused where it must be.

use integration_tests::TestApi;
use raptor_shared::time::Timestamp;
use serde_json::{Value, json};

use crate::training_program::{Program, due_in, id_of, program, scoped_key};

async fn status(api: &TestApi, p: &Program, query: &str) -> Value {
    api.get(&format!("/users/{}/training-status{query}", p.user), &p.org.admin_key)
        .await
        .expect(200)
}

fn day(at: Timestamp) -> String {
    at.date().to_string()
}

/// (module id, verdict) of each module in an answer.
fn verdicts(answer: &Value) -> Vec<(String, String)> {
    answer["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["trainingModuleId"].as_str().unwrap().to_string(),
                m["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn completed_assignment(api: &TestApi, p: &Program, module: &str, facilities: &[&str], at: Timestamp) -> String {
    let created = api
        .post(
            "/training-assignments",
            &p.org.admin_key,
            json!({ "userId": p.user, "trainingModuleId": module, "dueDate": due_in(0), "facilityIds": facilities }),
        )
        .await
        .expect(201);
    let id = id_of(&created);
    api.post(
        &format!("/training-assignments/{id}/complete"),
        &p.org.admin_key,
        json!({ "completedAt": at.to_string() }),
    )
    .await
    .expect(200);
    id
}

#[tokio::test]
async fn the_standing_on_dates_before_between_and_after_two_completions() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let now = Timestamp::now();
    // Two completions of the seed's 365-day module: the first expired 135 days ago.
    let first_at = now.minus_days(500);
    let second_at = now.minus_days(100);
    let first = completed_assignment(&api, &p, &p.module, &[], first_at).await;
    let second = completed_assignment(&api, &p, &p.module, &[], second_at).await;
    let module = p.module.clone();
    let expect = |answer: &Value, verdict: &str| {
        assert_eq!(
            verdicts(answer),
            vec![(module.clone(), verdict.to_string())],
            "{answer}"
        )
    };

    let before = status(&api, &p, &format!("?asOf={}", day(first_at.minus_days(1)))).await;
    assert_eq!(before["modules"], json!([]), "nothing was assigned or done yet");
    let on_first = status(&api, &p, &format!("?asOf={}", day(first_at))).await;
    expect(&on_first, "current");
    assert_eq!(
        on_first["modules"][0]["latestCompletion"]["trainingAssignmentId"],
        first.as_str()
    );
    assert_eq!(
        on_first["modules"][0]["title"],
        "CIP-004 Cyber Security Awareness Training"
    );
    assert_eq!(on_first["modules"][0]["cipStandard"], "CIP-004");
    assert_eq!(on_first["asOf"], day(first_at).as_str());
    assert_eq!(on_first["expiringWithinDays"], 30);
    expect(
        &status(&api, &p, &format!("?asOf={}", day(first_at.plus_days(350)))).await,
        "expiring",
    );
    expect(
        &status(&api, &p, &format!("?asOf={}", day(now.minus_days(120)))).await,
        "expired",
    );
    let on_second = status(&api, &p, &format!("?asOf={}", day(second_at))).await;
    expect(&on_second, "current");
    assert_eq!(
        on_second["modules"][0]["latestCompletion"]["trainingAssignmentId"],
        second.as_str()
    );
    // Without asOf: today.
    let today = status(&api, &p, "").await;
    expect(&today, "current");
    assert_eq!(today["asOf"], day(now).as_str());
    expect(
        &status(&api, &p, &format!("?asOf={}", day(now.plus_days(300)))).await,
        "expired",
    );
}

#[tokio::test]
async fn waivers_facilities_and_never_completed_modules_each_read_as_they_are() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let module = |title: &str| json!({ "title": title, "completionIntervalDays": 365 });
    let waived_module = id_of(
        &api.post("/training-modules", key, module("Vendor access"))
            .await
            .expect(201),
    );
    let alpha_module = id_of(
        &api.post("/training-modules", key, module("Alpha control room"))
            .await
            .expect(201),
    );
    let waived = api
        .post(
            "/training-assignments",
            key,
            json!({ "userId": p.user, "trainingModuleId": waived_module, "dueDate": due_in(10) }),
        )
        .await
        .expect(201);
    api.post(
        &format!("/training-assignments/{}/waive", id_of(&waived)),
        key,
        json!({ "reason": "No vendor access for this role" }),
    )
    .await
    .expect(200);
    api.post(
        "/training-assignments",
        key,
        json!({ "userId": p.user, "trainingModuleId": alpha_module, "dueDate": due_in(10), "facilityIds": [p.alpha] }),
    )
    .await
    .expect(201);
    completed_assignment(&api, &p, &p.module, &[&p.beta], Timestamp::now()).await;

    let all = status(&api, &p, "").await;
    let mut got = verdicts(&all);
    got.sort();
    let mut expected = vec![
        (waived_module.clone(), "waived".to_string()),
        (alpha_module.clone(), "never_completed".to_string()),
        (p.module.clone(), "current".to_string()),
    ];
    expected.sort();
    assert_eq!(got, expected);
    let waiver = all["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["trainingModuleId"] == waived_module.as_str())
        .unwrap();
    assert_eq!(waiver["waiver"]["waiverReason"], "No vendor access for this role");
    assert_eq!(waiver["latestCompletion"], Value::Null);
    // Alpha: the waiver (organization-wide) and the Alpha module; the Beta completion does not count there.
    let mut at_alpha = verdicts(&status(&api, &p, &format!("?facilityId={}", p.alpha)).await);
    at_alpha.sort();
    let mut expected_alpha = vec![
        (waived_module.clone(), "waived".to_string()),
        (alpha_module.clone(), "never_completed".to_string()),
    ];
    expected_alpha.sort();
    assert_eq!(at_alpha, expected_alpha);
    let at_beta = status(&api, &p, &format!("?facilityId={}", p.beta)).await;
    assert!(verdicts(&at_beta).contains(&(p.module.clone(), "current".to_string())));
    assert_eq!(at_beta["facilityId"], p.beta.as_str());
}

#[tokio::test]
async fn bad_dates_unknown_people_other_tenants_and_keys_without_training_read_are_refused() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let other = program(&api).await;
    let path = format!("/users/{}/training-status", p.user);
    for bad in ["2025-13-01", "yesterday", "2025-04-30T00:00:00Z"] {
        let refused = api
            .get(&format!("{path}?asOf={bad}"), &p.org.admin_key)
            .await
            .expect_error(400, "validation_error");
        assert!(
            refused["error"]["message"].as_str().unwrap().contains("asOf"),
            "{refused}"
        );
    }
    api.get(&format!("{path}?facilityId=fac_nope"), &p.org.admin_key)
        .await
        .expect_error(400, "validation_error");
    // Another organization's person and facility do not exist here.
    api.get(&path, &other.org.admin_key)
        .await
        .expect_error(404, "not_found");
    api.get(&format!("{path}?facilityId={}", other.alpha), &p.org.admin_key)
        .await
        .expect_error(404, "not_found");
    api.get(
        "/users/usr_01hx2m7k3q9v8c6b5n4m3k2j1h/training-status",
        &p.org.admin_key,
    )
    .await
    .expect_error(404, "not_found");
    let scoped = scoped_key(&api, &p.org, &["users:read"]).await;
    api.get(&path, &scoped).await.expect_error(403, "forbidden");
}
