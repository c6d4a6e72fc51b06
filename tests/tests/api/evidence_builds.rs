//! Evidence packages end to end (`docs/evidence.md`): asked for through the API, built by
//! the builder over the emulator's DynamoDB, KMS and S3, fetched through the presigned
//! link like an auditor would, and read back with a zip reader: every hash in the manifest,
//! the signature, the audit trail against its digests, the populations against the API's
//! own answers for the same date, and nothing of another organization.

use std::collections::HashSet;

use integration_tests::{TestApi, TestOrg};
use raptor_shared::export_files::ExportBucket;
use raptor_shared::model::audit_digest::{PublicKey, sha256_hex};
use raptor_shared::model::evidence_files::read_package;
use raptor_shared::model::evidence_manifest::verify_package;
use raptor_shared::operations::audit_digests;
use raptor_shared::operations::evidence_builder::{self, BuildRunReport, Builder, MAX_BUILD_ATTEMPTS};
use raptor_shared::time::Timestamp;
use serde_json::{Value, json};

fn at(text: &str) -> Timestamp {
    Timestamp::parse("at", text).unwrap()
}

fn builder<'a>(api: &'a TestApi, bucket: &'a ExportBucket) -> Builder<'a> {
    Builder {
        store: api.store(),
        signer: &api.audit.signer,
        bucket,
        renewal_window_days: api.app.renewal_window_days,
    }
}

async fn build_run(api: &TestApi) -> BuildRunReport {
    let bucket = api.audit.exports.as_ref().expect("the test's exports bucket");
    evidence_builder::run(&builder(api, bucket))
        .await
        .expect("a builder run")
}

/// The digest job as the schedule would run it a little later.
async fn digest(api: &TestApi) {
    let later = Timestamp::from_millis(api.clock().now().millis() + 6_000);
    audit_digests::run(api.store(), &api.audit.signer, later)
        .await
        .expect("the digest job runs");
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_string()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files
        .iter()
        .find(|(stored, _)| stored == name)
        .unwrap_or_else(|| panic!("the package has no {name}"))
        .1
}

fn json_file(files: &[(String, Vec<u8>)], name: &str) -> Value {
    serde_json::from_slice(file(files, name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// The rows of `name` where `column` is `value`.
fn rows_where(files: &[(String, Vec<u8>)], name: &str, column: &str, value: &str) -> Vec<Value> {
    json_file(files, name)
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row[column] == value)
        .cloned()
        .collect()
}

struct Scene {
    org: TestOrg,
    /// Completed their training before the date, suspended after it.
    alice: String,
    /// Renamed after the date; their assignment was open on it.
    bob: String,
    alice_assignment: String,
    bob_assignment: String,
    designation: String,
}

/// One organization's month: people, a module, assignments, a completion, a CIP Senior
/// Manager on 2026-06-01; then, ten days later, changes the package must roll back.
async fn scene(api: &TestApi) -> Scene {
    let org = api.new_organization().await;
    let alice = api.create_user(&org, "alice@utility.example", "Alice Operator").await;
    let bob = api.create_user(&org, "bob@utility.example", "Bob Original").await;
    let module = api
        .post(
            "/training-modules",
            &org.admin_key,
            json!({ "title": "CIP-004 Awareness", "cipStandard": "CIP-004", "completionIntervalDays": 365 }),
        )
        .await
        .expect(201);
    let assign = |user: String| {
        let module = id_of(&module);
        let key = org.admin_key.clone();
        async move {
            let created = api
                .post(
                    "/training-assignments",
                    &key,
                    json!({ "userId": user, "trainingModuleId": module, "dueDate": "2026-06-20" }),
                )
                .await
                .expect(201);
            id_of(&created)
        }
    };
    let alice_assignment = assign(alice.clone()).await;
    let bob_assignment = assign(bob.clone()).await;
    api.post(
        &format!("/training-assignments/{alice_assignment}/complete"),
        &org.admin_key,
        json!({ "score": 92, "certificateReference": "CERT-2026-0042" }),
    )
    .await
    .expect(200);
    let designation = api
        .post(
            "/cip-senior-manager-assignments",
            &org.admin_key,
            json!({ "userId": org.admin_id.to_string(), "effectiveDate": "2026-06-01" }),
        )
        .await
        .expect(201);

    api.clock().set(at("2026-06-11T10:00:00Z"));
    api.patch(
        &format!("/users/{bob}"),
        &org.admin_key,
        json!({ "displayName": "Bob Renamed" }),
    )
    .await
    .expect(200);
    api.patch(
        &format!("/users/{alice}"),
        &org.admin_key,
        json!({ "status": "suspended" }),
    )
    .await
    .expect(200);
    Scene {
        org,
        alice,
        bob,
        alice_assignment,
        bob_assignment,
        designation: id_of(&designation),
    }
}

/// Runs the builder until the package is no longer waiting; answers its `GET`.
async fn built(api: &TestApi, key: &str, id: &str) -> Value {
    for _ in 0..5 {
        build_run(api).await;
        let package = api.get(&format!("/evidence-packages/{id}"), key).await.expect(200);
        if package["status"] == "ready" || package["status"] == "failed" {
            return package;
        }
    }
    panic!("evidence package {id} was never built");
}

#[tokio::test]
async fn a_package_holds_the_populations_of_its_date_signed_and_verifiable() {
    let api = TestApi::new_at(at("2026-06-01T10:00:00Z")).await;
    let s = scene(&api).await;
    let other = api.new_organization().await;
    let stranger = api.create_user(&other, "mallory@other.example", "Mallory Other").await;

    let refused = api
        .post(
            "/evidence-packages",
            &s.org.admin_key,
            json!({ "asOf": "2026-06-01", "from": "2026-06-01", "to": "2026-06-11", "sample": { "userIds": [stranger] } }),
        )
        .await
        .expect(400);
    assert_eq!(refused["error"]["field"], "sample.userIds", "{refused}");

    let asked = api
        .post(
            "/evidence-packages",
            &s.org.admin_key,
            json!({ "asOf": "2026-06-01", "from": "2026-06-01", "to": "2026-06-11", "sample": { "userIds": [s.alice] } }),
        )
        .await
        .expect(202);
    assert_eq!(asked["status"], "pending");
    assert_eq!(asked["request"]["sample"]["userIds"], json!([s.alice]));
    assert_eq!(asked["download"], Value::Null);
    let id = id_of(&asked);
    digest(&api).await;

    let package = built(&api, &s.org.admin_key, &id).await;
    assert_eq!(package["status"], "ready", "{package}");
    let link = package["download"]["url"].as_str().expect("a ready package has a link");
    assert_eq!(package["download"]["expiresInSeconds"], 900);
    let mut fetched = ureq::get(link).call().expect("the presigned link answers");
    let zip = fetched
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    assert_eq!(package["bytes"], zip.len());

    // The manifest: every file's hash, the signature, the trail against its digests.
    let key: PublicKey =
        serde_json::from_value(api.get("/audit-events/public-key", &s.org.admin_key).await.expect(200)).unwrap();
    let verification = verify_package(&zip, &key).unwrap();
    assert!(verification.verified, "{verification:?}");
    let files = read_package(&zip).unwrap();
    let manifest = json_file(&files, "manifest.json");
    assert_eq!(package["manifestSha256"], sha256_hex(file(&files, "manifest.json")));
    assert_eq!(manifest["files"], package["files"]);
    assert_eq!(manifest["requestedBy"], s.org.admin_id.to_string());
    for listed in manifest["files"].as_array().unwrap() {
        let name = listed["name"].as_str().unwrap();
        assert_eq!(listed["sha256"], sha256_hex(file(&files, name)), "{name}");
    }
    let names: HashSet<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    for table in [
        "populations/members",
        "populations/cip-senior-manager",
        "populations/training-assignments",
        "populations/training-standing",
        "audit/events",
    ] {
        for format in ["csv", "json"] {
            assert!(names.contains(format!("{table}.{format}").as_str()), "{table}.{format}");
        }
    }
    for own in [
        "member",
        "role-history",
        "assignments",
        "completions",
        "waivers",
        "audit-events",
    ] {
        assert!(
            names.contains(format!("samples/{}/{own}.csv", s.alice).as_str()),
            "{own}"
        );
    }
    assert!(names.contains("summary.html") && names.contains("audit/public-key.pem"));

    // Members as they stood on the date: Bob's old name, Alice still active.
    let bob = rows_where(&files, "populations/members.json", "userId", &s.bob);
    assert_eq!(bob[0]["displayName"], "Bob Original");
    let alice = rows_where(&files, "populations/members.json", "userId", &s.alice);
    assert_eq!(alice[0]["status"], "active");
    let now_alice = api
        .get(&format!("/users/{}", s.alice), &s.org.admin_key)
        .await
        .expect(200);
    assert_eq!(now_alice["status"], "suspended", "today's record moved on");
    let mut members = csv::Reader::from_reader(file(&files, "populations/members.csv"));
    assert_eq!(members.records().count(), 3, "the admin, Alice and Bob");

    // The CIP Senior Manager the API names for the date.
    let named = api
        .get(
            "/cip-senior-manager-assignments/current?asOf=2026-06-01",
            &s.org.admin_key,
        )
        .await
        .expect(200);
    let in_force: Vec<Value> = json_file(&files, "populations/cip-senior-manager.json")
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["inForceOnAsOf"] == true)
        .cloned()
        .collect();
    assert_eq!(in_force.len(), 1);
    assert_eq!(in_force[0]["assignmentId"], named["id"]);
    assert_eq!(named["id"], s.designation.as_str());

    // Standing and assignments on the date, as the API answers them for that date.
    for person in [&s.alice, &s.bob] {
        let answer = api
            .get(
                &format!("/users/{person}/training-status?asOf=2026-06-01"),
                &s.org.admin_key,
            )
            .await
            .expect(200);
        let rows = rows_where(&files, "populations/training-standing.json", "userId", person);
        let api_verdicts: Vec<&Value> = answer["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["verdict"])
            .collect();
        let package_verdicts: Vec<&Value> = rows.iter().map(|row| &row["verdict"]).collect();
        assert_eq!(package_verdicts, api_verdicts, "{person}");
    }
    let alice_assignment = rows_where(
        &files,
        "populations/training-assignments.json",
        "assignmentId",
        &s.alice_assignment,
    );
    assert_eq!(alice_assignment[0]["status"], "complete");
    assert_eq!(alice_assignment[0]["score"], 92);
    let bob_assignment = rows_where(
        &files,
        "populations/training-assignments.json",
        "assignmentId",
        &s.bob_assignment,
    );
    assert_eq!(bob_assignment[0]["status"], "assigned");

    // The sampled person's own records.
    let completions = json_file(&files, &format!("samples/{}/completions.json", s.alice));
    assert_eq!(completions[0]["certificateReference"], "CERT-2026-0042");
    let history = json_file(&files, &format!("samples/{}/role-history.json", s.alice));
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.created", "user.updated"], "{history}");
    let events = json_file(&files, &format!("samples/{}/audit-events.json", s.alice));
    let events = events.as_array().unwrap();
    assert!(
        events
            .iter()
            .all(|event| event["targetId"] == s.alice.as_str() || event["actorId"] == s.alice.as_str()),
        "only events about or by the person: {events:?}"
    );
    let about: Vec<&str> = events.iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert_eq!(about, ["user.created", "user.updated"], "in the period, oldest first");

    // The summary names the manager and who is not current, with no script.
    let summary = String::from_utf8(file(&files, "summary.html").to_vec()).unwrap();
    assert!(summary.contains("Ada Admin"), "the CIP Senior Manager on the date");
    assert!(summary.contains("Bob Original"), "never completed by the date");
    assert!(!summary.contains("<script"));

    // Nothing of the other organization.
    for (name, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        for theirs in [other.id.to_string(), stranger.clone(), other.admin_id.to_string()] {
            assert!(!text.contains(&theirs), "{name} holds {theirs}");
        }
    }

    // The package's life is in the trail.
    let trail = api
        .get(&format!("/audit-events?targetId={id}"), &s.org.admin_key)
        .await
        .expect(200);
    let actions: Vec<&str> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["evidence_package.ready", "evidence_package.requested"]);
}

#[tokio::test]
async fn a_changed_file_or_manifest_is_reported_by_the_offline_check() {
    let api = TestApi::new_at(at("2026-06-01T10:00:00Z")).await;
    let org = api.new_organization().await;
    let asked = api
        .post(
            "/evidence-packages",
            &org.admin_key,
            json!({ "asOf": "2026-06-01", "from": "2026-06-01", "to": "2026-06-01" }),
        )
        .await
        .expect(202);
    digest(&api).await;
    let package = built(&api, &org.admin_key, &id_of(&asked)).await;
    let zip = ureq::get(package["download"]["url"].as_str().unwrap())
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    let key: PublicKey =
        serde_json::from_value(api.get("/audit-events/public-key", &org.admin_key).await.expect(200)).unwrap();
    assert!(verify_package(&zip, &key).unwrap().verified);

    // Rewrite one file, then the manifest's list, into new zips.
    let files = read_package(&zip).unwrap();
    let rezip = |files: &[(String, Vec<u8>)]| {
        let mut writer = raptor_shared::model::evidence_files::PackageWriter::new();
        for (name, bytes) in files {
            writer.file(name, bytes, None).unwrap();
        }
        writer.finish().unwrap()
    };
    let mut changed = files.clone();
    let members = changed
        .iter_mut()
        .find(|(name, _)| name == "populations/members.csv")
        .unwrap();
    members.1.extend_from_slice(
        b"usr_01hx2m7k3q9v8c6b5n4m3k2j1h,ghost@example.com,Ghost,,,admin,active,2026-01-01T00:00:00Z\r\n",
    );
    let report = verify_package(&rezip(&changed), &key).unwrap();
    assert!(!report.verified);
    assert_eq!(report.files_changed, ["populations/members.csv"]);
    assert!(report.manifest_signed);

    let mut forged = files.clone();
    let sha = sha256_hex(
        &changed
            .iter()
            .find(|(name, _)| name == "populations/members.csv")
            .unwrap()
            .1,
    );
    let manifest = forged.iter_mut().find(|(name, _)| name == "manifest.json").unwrap();
    let mut document: Value = serde_json::from_slice(&manifest.1).unwrap();
    for listed in document["files"].as_array_mut().unwrap() {
        if listed["name"] == "populations/members.csv" {
            listed["sha256"] = json!(sha);
        }
    }
    manifest.1 = serde_json::to_vec(&document).unwrap();
    let members = forged
        .iter_mut()
        .find(|(name, _)| name == "populations/members.csv")
        .unwrap();
    members.1 = changed
        .iter()
        .find(|(name, _)| name == "populations/members.csv")
        .unwrap()
        .1
        .clone();
    let report = verify_package(&rezip(&forged), &key).unwrap();
    assert!(report.files_changed.is_empty(), "the forged list matches the file");
    assert!(!report.manifest_signed, "but the signature does not match the list");
    assert!(!report.verified);
}

#[tokio::test]
async fn packages_are_for_those_who_may_read_everything_they_hold_and_only_their_own() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let other = api.new_organization().await;
    let (_, viewer) = api.member_with_key(&org, "viewer@utility.example", &["viewer"]).await;
    let (_, auditor) = api.member_with_key(&org, "auditor@utility.example", &["auditor"]).await;
    let today = api.clock().today().to_string();
    let body = json!({ "asOf": today, "from": today, "to": today });

    let refused = api.post("/evidence-packages", &viewer, body.clone()).await.expect(403);
    assert_eq!(refused["error"]["code"], "forbidden", "{refused}");
    api.get("/evidence-packages", &viewer).await.expect(403);
    let asked = api.post("/evidence-packages", &auditor, body.clone()).await.expect(202);
    let id = id_of(&asked);
    api.get(&format!("/evidence-packages/{id}"), &org.admin_key)
        .await
        .expect(200);
    api.get(&format!("/evidence-packages/{id}"), &other.admin_key)
        .await
        .expect(404);
    let theirs = api.get("/evidence-packages", &other.admin_key).await.expect(200);
    assert_eq!(theirs["data"], json!([]));
    let ours = api.get("/evidence-packages", &org.admin_key).await.expect(200);
    assert_eq!(ours["data"][0]["id"], id.as_str());

    for (bad, field) in [
        (json!({ "asOf": "2999-01-01", "from": today, "to": today }), "asOf"),
        (json!({ "asOf": today, "from": today, "to": "2020-01-01" }), "to"),
        (json!({ "asOf": "yesterday", "from": today, "to": today }), "asOf"),
        (
            json!({ "asOf": today, "from": today, "to": today, "sample": { "userIds": ["nope"] } }),
            "sample.userIds[0]",
        ),
    ] {
        let answer = api
            .post("/evidence-packages", &org.admin_key, bad.clone())
            .await
            .expect(400);
        assert_eq!(answer["error"]["field"], field, "{bad}: {answer}");
    }
    let unknown = api
        .post(
            "/evidence-packages",
            &org.admin_key,
            json!({ "asOf": today, "from": today, "to": today, "scope": "all" }),
        )
        .await
        .expect(400);
    assert!(unknown.to_string().contains("scope"), "{unknown}");
    api.get("/evidence-packages/evp_nope", &org.admin_key).await.expect(400);
}

#[tokio::test]
async fn a_build_that_cannot_store_its_zip_is_retried_then_fails_with_a_reason() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let today = api.clock().today().to_string();
    let asked = api
        .post(
            "/evidence-packages",
            &org.admin_key,
            json!({ "asOf": today, "from": today, "to": today }),
        )
        .await
        .expect(202);
    let id = id_of(&asked);
    let nowhere = ExportBucket::new(api.s3.clone(), "no-such-bucket-for-evidence");
    for attempt in 1..=MAX_BUILD_ATTEMPTS {
        let report = evidence_builder::run(&builder(&api, &nowhere)).await.unwrap();
        assert_eq!(report.retried.len(), 1, "attempt {attempt}: {report:?}");
        let package = api
            .get(&format!("/evidence-packages/{id}"), &org.admin_key)
            .await
            .expect(200);
        assert_eq!(package["status"], "pending", "back in the queue");
        assert_eq!(package["attempts"], attempt);
    }
    let report = evidence_builder::run(&builder(&api, &nowhere)).await.unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let package = api
        .get(&format!("/evidence-packages/{id}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(package["status"], "failed");
    assert!(
        package["failureReason"].as_str().unwrap().contains("ask for it again"),
        "{package}"
    );
    assert_eq!(package["download"], Value::Null);
    // Nothing more to do: the queue is empty.
    let report = build_run(&api).await;
    assert!(report.built.is_empty() && report.failed.is_empty() && report.retried.is_empty());
}
