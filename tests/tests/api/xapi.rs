//! The xAPI door (issue 23, part 1): statements from the xAPI 1.0.3 and cmi5 specifications
//! complete and start assignments through the ordinary commands, are kept once, and what
//! matches nothing is listed, never dropped.

use integration_tests::{TestApi, TestOrg, TestResponse};
use serde_json::{Value, json};

use crate::training_program::{due_in, id_of};

const VERSION: (&str, &str) = ("X-Experience-API-Version", "1.0.3");
/// The specification's example activity, on https: it is matched to a module's
/// `externalModuleUrl`, which is an https URL.
const ACTIVITY: &str = "https://example.adlnet.gov/xapi/example/simpleCBT";
const LEARNER: &str = "example.learner@adlnet.gov";

/// xAPI 1.0.3, Appendix A, "Simple statement": the typical statement of a CBT course,
/// with its verb as given (`attempted`).
fn spec_simple_cbt(verb: &str) -> Value {
    json!({
        "actor": { "objectType": "Agent", "name": "Example Learner", "mbox": format!("mailto:{LEARNER}") },
        "verb": { "id": format!("http://adlnet.gov/expapi/verbs/{verb}"), "display": { "en-US": verb } },
        "object": {
            "id": ACTIVITY,
            "definition": {
                "name": { "en-US": "simple CBT course" },
                "description": { "en-US": "A fictitious example CBT course." }
            }
        },
        "result": { "score": { "scaled": 0.95 }, "success": true, "completion": true, "duration": "PT1234S" }
    })
}

/// cmi5 (Quartz), §9.3.4 "Passed": an AU's statement, the actor an LMS account.
fn cmi5_passed(account_name: &str) -> Value {
    json!({
        "id": "2a41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "actor": { "objectType": "Agent", "account": { "homePage": "http://www.example.com", "name": account_name } },
        "verb": { "id": "http://adlnet.gov/expapi/verbs/passed", "display": { "en-US": "passed" } },
        "object": { "id": ACTIVITY, "objectType": "Activity" },
        "result": { "score": { "raw": 42, "min": 0, "max": 50 }, "success": true, "duration": "PT2H30M" },
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "contextActivities": {
                "category": [
                    { "id": "https://w3id.org/xapi/cmi5/context/categories/moveon" },
                    { "id": "https://w3id.org/xapi/cmi5/context/categories/cmi5" }
                ]
            },
            "extensions": { "https://w3id.org/xapi/cmi5/context/extensions/sessionid": "458240298378231" }
        },
        "timestamp": "2026-06-01T19:09:13.245+00:00"
    })
}

struct Lms {
    org: TestOrg,
    learner: String,
    module: String,
    assignment: String,
    /// The LMS integration's key (training:read and training:write) and its id.
    key: String,
    key_id: String,
}

async fn lms(api: &TestApi) -> Lms {
    let org = api.new_organization().await;
    let learner = api
        .post(
            "/users",
            &org.admin_key,
            json!({ "email": LEARNER, "displayName": "Example Learner", "externalId": "1625378" }),
        )
        .await
        .expect(201);
    let module = api
        .post(
            "/training-modules",
            &org.admin_key,
            json!({ "title": "CIP-004 awareness", "completionIntervalDays": 365, "externalModuleUrl": ACTIVITY }),
        )
        .await
        .expect(201);
    let assignment = api
        .post(
            "/training-assignments",
            &org.admin_key,
            json!({ "userId": id_of(&learner), "trainingModuleId": id_of(&module), "dueDate": due_in(30) }),
        )
        .await
        .expect(201);
    let key = api
        .post(
            "/api-keys",
            &org.admin_key,
            json!({ "name": "LMS", "permissions": ["training:read", "training:write"] }),
        )
        .await
        .expect(201);
    Lms {
        learner: id_of(&learner),
        module: id_of(&module),
        assignment: id_of(&assignment),
        key: key["secret"].as_str().unwrap().to_string(),
        key_id: id_of(&key),
        org,
    }
}

async fn send(api: &TestApi, key: &str, body: &Value) -> TestResponse {
    let body = body.to_string();
    api.call_with_headers("POST", "/xapi/statements", Some(key), Some(&body), &[VERSION])
        .await
}

/// A `GET /xapi/statements…` as an LRS client sends it.
async fn read(api: &TestApi, path: &str, key: &str) -> TestResponse {
    api.call_with_headers("GET", path, Some(key), None, &[VERSION]).await
}

async fn assignment(api: &TestApi, lms: &Lms) -> Value {
    api.get(&format!("/training-assignments/{}", lms.assignment), &lms.org.admin_key)
        .await
        .expect(200)
}

#[tokio::test]
async fn a_completed_statement_completes_the_open_assignment_once_with_its_source() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;

    // `attempted` starts the assignment.
    let attempted = send(&api, &lms.key, &spec_simple_cbt("attempted")).await;
    assert_eq!(attempted.status, 200, "{}", attempted.body);
    assert_eq!(attempted.headers.get("x-experience-api-version").unwrap(), "1.0.3");
    assert_eq!(assignment(&api, &lms).await["status"], "in_progress");

    let mut completed = spec_simple_cbt("completed");
    completed["id"] = json!("fd41c918-b88b-4b20-a0a5-a4c32391aaa0");
    completed["timestamp"] = json!("2026-11-18T12:17:00+00:00");
    let answer = send(&api, &lms.key, &completed).await.expect(200);
    assert_eq!(answer, json!(["fd41c918-b88b-4b20-a0a5-a4c32391aaa0"]));
    let done = assignment(&api, &lms).await;
    assert_eq!(done["status"], "complete");
    assert_eq!(done["score"], 95);
    assert_eq!(done["completedAt"], "2026-11-18T12:17:00Z");
    assert_eq!(done["sourceStatementId"], "fd41c918-b88b-4b20-a0a5-a4c32391aaa0");
    assert_eq!(done["expiresAt"], "2027-11-18T12:17:00Z");
    let trail = api.audit_trail_of(&lms.org, &lms.assignment).await;
    let completions: Vec<&Value> = trail
        .iter()
        .filter(|event| event["action"] == "training_assignment.completed")
        .collect();
    assert_eq!(completions.len(), 1);
    assert_eq!(
        completions[0]["summary"]["sourceStatementId"],
        "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
    );

    // The export says which statement reported the completion, read by a CSV reader.
    let export = api
        .get("/training-assignments/export?format=csv", &lms.org.admin_key)
        .await;
    assert_eq!(export.status, 200);
    let mut reader = csv::Reader::from_reader(&export.raw[..]);
    let header = reader.headers().unwrap().clone();
    let column = header.iter().position(|name| name == "sourceStatementId").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][column], "fd41c918-b88b-4b20-a0a5-a4c32391aaa0");

    // Sent again, as an LRS client retries: accepted, nothing changes.
    let events_before = trail.len();
    send(&api, &lms.key, &completed).await.expect(200);
    assert_eq!(api.audit_trail_of(&lms.org, &lms.assignment).await.len(), events_before);
    // Property order is not content.
    let reordered: Value = serde_json::from_str(&completed.to_string()).unwrap();
    send(&api, &lms.key, &json!([reordered])).await.expect(200);
    // The same id with other content is a conflict.
    let mut other = completed.clone();
    other["result"]["score"]["scaled"] = json!(0.5);
    send(&api, &lms.key, &other).await.expect_error(409, "conflict");
    assert_eq!(assignment(&api, &lms).await["score"], 95);

    // Read back as an LRS answers it: as sent, with what the LRS adds.
    let stored = read(
        &api,
        "/xapi/statements?statementId=FD41C918-B88B-4B20-A0A5-A4C32391AAA0",
        &lms.key,
    )
    .await
    .expect(200);
    assert_eq!(stored["result"], completed["result"]);
    assert_eq!(stored["actor"], completed["actor"]);
    assert_eq!(stored["version"], "1.0.3");
    assert_eq!(stored["authority"]["account"]["name"], json!(lms.key_id));
    assert!(stored["stored"].is_string());
}

#[tokio::test]
async fn a_cmi5_passed_statement_matches_the_account_to_external_id_and_scales_raw_scores() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let answer = send(&api, &lms.key, &cmi5_passed("1625378")).await.expect(200);
    assert_eq!(answer, json!(["2a41c918-b88b-4b20-a0a5-a4c32391aaa0"]));
    let done = assignment(&api, &lms).await;
    assert_eq!(
        (done["status"].as_str(), done["score"].as_u64()),
        (Some("complete"), Some(84))
    );
    assert_eq!(done["completedAt"], "2026-06-01T19:09:13.245Z");
    // The key acts for the bootstrap admin here, not the trainee: not self-reported.
    assert_eq!(done["selfReported"], false);
}

#[tokio::test]
async fn failed_records_an_attempt_and_completes_nothing() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let mut failed = spec_simple_cbt("failed");
    failed["result"] = json!({ "score": { "scaled": 0.4 }, "success": false });
    let ids = send(&api, &lms.key, &failed).await.expect(200);
    let open = assignment(&api, &lms).await;
    assert_eq!(open["status"], "in_progress");
    assert!(open.get("score").is_none());
    let path = format!("/xapi/statements?statementId={}", ids[0].as_str().unwrap());
    let stored = read(&api, &path, &lms.key).await.expect(200);
    assert_eq!(stored["verb"]["id"], "http://adlnet.gov/expapi/verbs/failed");
}

#[tokio::test]
async fn what_matches_nothing_is_kept_and_listed_with_its_reason() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let stranger = {
        let mut statement = spec_simple_cbt("completed");
        statement["actor"]["mbox"] = json!("mailto:nobody@utility.example");
        statement
    };
    let unknown_course = {
        let mut statement = spec_simple_cbt("completed");
        statement["object"]["id"] = json!("https://example.adlnet.gov/xapi/example/unknown");
        statement
    };
    let hashed = {
        let mut statement = spec_simple_cbt("completed");
        statement["actor"] = json!({ "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9" });
        statement
    };
    // xAPI 1.0.3 Appendix A's first example: a verb that changes nothing here.
    let experienced = json!({
        "actor": { "name": "Sally Glider", "mbox": format!("mailto:{LEARNER}") },
        "verb": { "id": "http://adlnet.gov/expapi/verbs/experienced", "display": { "en-US": "experienced" } },
        "object": { "id": "http://example.com/activities/solo-hang-gliding", "definition": { "name": { "en-US": "Solo Hang Gliding" } } }
    });
    let ids = send(&api, &lms.key, &json!([stranger, unknown_course, hashed, experienced]))
        .await
        .expect(200);
    assert_eq!(ids.as_array().unwrap().len(), 4);
    assert_eq!(assignment(&api, &lms).await["status"], "assigned");

    // Completed through the REST API first: the LMS's statement then finds nothing open.
    api.post(
        &format!("/training-assignments/{}/complete", lms.assignment),
        &lms.org.admin_key,
        json!({}),
    )
    .await
    .expect(200);
    let late = send(&api, &lms.key, &spec_simple_cbt("completed")).await.expect(200);

    let listed = read(&api, "/xapi/statements?unmatched=true", &lms.key)
        .await
        .expect(200);
    let reasons: Vec<(&str, &str)> = listed["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|outcome| {
            (
                outcome["statementId"].as_str().unwrap(),
                outcome["unmatchedReason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (ids[0].as_str().unwrap(), "unknown_actor"),
            (ids[1].as_str().unwrap(), "unknown_activity"),
            (ids[2].as_str().unwrap(), "actor_not_identifiable"),
            (late[0].as_str().unwrap(), "no_open_assignment"),
        ]
    );
    assert_eq!(listed["statements"].as_array().unwrap().len(), 4);
    assert_eq!(
        listed["statements"][0]["actor"]["mbox"],
        "mailto:nobody@utility.example"
    );
    assert_eq!(listed["outcomes"][3]["userId"], json!(lms.learner));
    assert_eq!(listed["outcomes"][3]["trainingModuleId"], json!(lms.module));
    assert_eq!(listed["more"], "");

    // Pages of one follow `more` as given (it keeps the page size) to the end.
    let mut path = "/xapi/statements?unmatched=true&limit=1".to_string();
    let mut seen = Vec::new();
    loop {
        let page = read(&api, &path, &lms.key).await.expect(200);
        assert_eq!(page["statements"].as_array().unwrap().len(), 1, "{page}");
        seen.push(page["outcomes"][0]["statementId"].as_str().unwrap().to_string());
        match page["more"].as_str().unwrap() {
            "" => break,
            more => path = more.to_string(),
        }
    }
    assert_eq!(seen.len(), 4);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "no statement twice");
}

#[tokio::test]
async fn lrs_credentials_are_basic_auth_with_the_key_id_and_the_key() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let statement = spec_simple_cbt("launched").to_string();
    let basic = |user: &str, password: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    let call = |authorization: String, version: Option<&'static str>| {
        let statement = statement.clone();
        let api = &api;
        async move {
            let mut headers = vec![("Authorization", authorization)];
            if let Some(version) = version {
                headers.push(("X-Experience-API-Version", version.to_string()));
            }
            let headers: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
            api.call_with_headers("POST", "/xapi/statements", None, Some(&statement), &headers)
                .await
        }
    };
    call(basic(&lms.key_id, &lms.key), Some("1.0.1")).await.expect(200);
    assert_eq!(assignment(&api, &lms).await["status"], "in_progress");
    // Another id as the user name, a wrong key, no credentials: 401.
    call(basic("key_01hx2m7k3q9v8c6b5n4m3k2j1h", &lms.key), Some("1.0.3"))
        .await
        .expect_error(401, "unauthenticated");
    call(basic(&lms.key_id, "rc_wrong"), Some("1.0.3"))
        .await
        .expect_error(401, "unauthenticated");
    call("Bearer x".to_string(), Some("1.0.3"))
        .await
        .expect_error(401, "unauthenticated");
    // The version header is required, and must be 1.0.x.
    for version in [None, Some("0.95"), Some("2.0.0"), Some("1.0.")] {
        let refused = call(basic(&lms.key_id, &lms.key), version).await;
        assert_eq!(
            (refused.status, refused.body["error"]["field"].as_str()),
            (400, Some("X-Experience-API-Version")),
            "{version:?}"
        );
    }
}

#[tokio::test]
async fn malformed_statements_are_refused_and_nothing_of_the_request_is_kept() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let good = spec_simple_cbt("completed");
    let future = {
        let mut statement = good.clone();
        statement["timestamp"] = json!("2099-01-01T00:00:00Z");
        statement
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut s = good.clone();
                s.as_object_mut().unwrap().remove("actor");
                s
            },
            "actor",
        ),
        (
            {
                let mut s = good.clone();
                s["object"]["id"] = json!("simpleCBT");
                s
            },
            "object.id",
        ),
        (
            {
                let mut s = good.clone();
                s["result"]["score"]["scaled"] = json!(1.5);
                s
            },
            "result.score",
        ),
        (
            {
                let mut s = good.clone();
                s["result"]["score"] = json!({ "scaled": -0.2 });
                s
            },
            "result.score",
        ),
        (future, "timestamp"),
    ];
    for (statement, field) in cases {
        // Behind a good statement in the same request: the whole request is refused.
        let mut first = good.clone();
        first["id"] = json!("3b41c918-b88b-4b20-a0a5-a4c32391aaa0");
        let refused = send(&api, &lms.key, &json!([first, statement])).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(
            refused.body["error"]["field"],
            format!("[1].{field}"),
            "{}",
            refused.body
        );
    }
    read(
        &api,
        "/xapi/statements?statementId=3b41c918-b88b-4b20-a0a5-a4c32391aaa0",
        &lms.key,
    )
    .await
    .expect_error(404, "not_found");
    assert_eq!(assignment(&api, &lms).await["status"], "assigned");
    let not_json = api
        .call_with_headers("POST", "/xapi/statements", Some(&lms.key), Some("{"), &[VERSION])
        .await;
    assert_eq!(not_json.status, 400);
}

#[tokio::test]
async fn put_stores_under_its_statement_id_and_answers_no_content() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let body = spec_simple_cbt("completed").to_string();
    let path = "/xapi/statements?statementId=4c41c918-b88b-4b20-a0a5-a4c32391aaa0";
    let put = api
        .call_with_headers("PUT", path, Some(&lms.key), Some(&body), &[VERSION])
        .await;
    assert_eq!((put.status, put.raw.is_empty()), (204, true));
    assert_eq!(
        assignment(&api, &lms).await["sourceStatementId"],
        "4c41c918-b88b-4b20-a0a5-a4c32391aaa0"
    );
    api.call_with_headers("PUT", "/xapi/statements", Some(&lms.key), Some(&body), &[VERSION])
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn another_organization_s_lms_never_reaches_our_people_or_statements() {
    let api = TestApi::new().await;
    let ours = lms(&api).await;
    let theirs = api.new_organization().await;
    // Their LMS reports our learner's email and our activity: nothing of theirs matches.
    let mut statement = spec_simple_cbt("completed");
    statement["id"] = json!("5d41c918-b88b-4b20-a0a5-a4c32391aaa0");
    send(&api, &theirs.admin_key, &statement).await.expect(200);
    assert_eq!(assignment(&api, &ours).await["status"], "assigned");
    let listed = read(&api, "/xapi/statements?unmatched=true", &theirs.admin_key)
        .await
        .expect(200);
    assert_eq!(listed["outcomes"][0]["unmatchedReason"], "unknown_actor");
    // The same statement id is theirs and ours apart: ours completes our assignment.
    send(&api, &ours.key, &statement).await.expect(200);
    assert_eq!(assignment(&api, &ours).await["status"], "complete");
    // Neither reads the other's statements.
    let ours_listed = read(&api, "/xapi/statements?unmatched=true", &ours.key)
        .await
        .expect(200);
    assert_eq!(ours_listed["statements"], json!([]));
    let mut other_content = statement.clone();
    other_content["result"] = json!({ "score": { "scaled": 0.1 } });
    send(&api, &theirs.admin_key, &other_content)
        .await
        .expect_error(409, "conflict");
}

#[tokio::test]
async fn sending_statements_needs_training_write() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let reader = api
        .post(
            "/api-keys",
            &lms.org.admin_key,
            json!({ "name": "read only", "permissions": ["training:read"] }),
        )
        .await
        .expect(201);
    let reader = reader["secret"].as_str().unwrap();
    send(&api, reader, &spec_simple_cbt("completed"))
        .await
        .expect_error(403, "forbidden");
    assert_eq!(assignment(&api, &lms).await["status"], "assigned");
    read(&api, "/xapi/statements?unmatched=true", reader).await.expect(200);
}

#[tokio::test]
async fn a_module_s_xapi_activity_id_matches_http_activities_and_moves_with_a_patch() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let cmi5_au = "http://courses.example.com/au/cip-004";
    let mut statement = spec_simple_cbt("completed");
    statement["object"]["id"] = json!(cmi5_au);
    // Not yet the module's: kept as unmatched.
    let before = send(&api, &lms.key, &statement).await.expect(200);
    // `externalModuleUrl` stays the trainee's link; the activity id is the LMS's.
    let patched = api
        .patch(
            &format!("/training-modules/{}", lms.module),
            &lms.org.admin_key,
            json!({ "xapiActivityId": cmi5_au }),
        )
        .await
        .expect(200);
    assert_eq!(patched["xapiActivityId"], cmi5_au);
    api.patch(
        &format!("/training-modules/{}", lms.module),
        &lms.org.admin_key,
        json!({ "xapiActivityId": "not an iri" }),
    )
    .await
    .expect_error(400, "validation_error");
    // The https course id no longer names the module; the activity id does.
    send(&api, &lms.key, &spec_simple_cbt("launched")).await.expect(200);
    assert_eq!(assignment(&api, &lms).await["status"], "assigned");
    let after = send(&api, &lms.key, &statement).await.expect(200);
    assert_ne!(before, after, "a statement without an id gets a new one each time");
    assert_eq!(assignment(&api, &lms).await["status"], "complete");
    let listed = read(&api, "/xapi/statements?unmatched=true", &lms.key)
        .await
        .expect(200);
    let reasons: Vec<&str> = listed["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|outcome| outcome["unmatchedReason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["unknown_activity", "unknown_activity"]);
}

#[tokio::test]
async fn the_same_statement_sent_twice_at_once_completes_once_and_both_succeed() {
    let api = TestApi::new().await;
    let lms = lms(&api).await;
    let mut statement = spec_simple_cbt("completed");
    statement["id"] = json!("7f41c918-b88b-4b20-a0a5-a4c32391aaa0");
    let (first, second) = tokio::join!(send(&api, &lms.key, &statement), send(&api, &lms.key, &statement));
    assert_eq!(
        (first.status, second.status),
        (200, 200),
        "{} {}",
        first.body,
        second.body
    );
    let completions = api
        .audit_trail_of(&lms.org, &lms.assignment)
        .await
        .into_iter()
        .filter(|event| event["action"] == "training_assignment.completed")
        .count();
    assert_eq!(completions, 1);
    assert_eq!(
        assignment(&api, &lms).await["sourceStatementId"],
        "7f41c918-b88b-4b20-a0a5-a4c32391aaa0"
    );
}

#[tokio::test]
async fn the_about_resource_answers_without_credentials_or_version_header() {
    let api = TestApi::new().await;
    let about = api.call("GET", "/xapi/about", None, None).await;
    assert_eq!(about.headers.get("x-experience-api-version").unwrap(), "1.0.3");
    assert_eq!(
        about.expect(200),
        json!({ "version": ["1.0.0", "1.0.1", "1.0.2", "1.0.3"] })
    );
}
