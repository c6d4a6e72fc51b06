//! The tamper-evident audit trail (`docs/audit.md`): the digest job signs each
//! organization's new events with the emulator's KMS key; `GET /audit-events/verify`
//! recomputes them. Each kind of tampering an operator with table access could do is made
//! directly in the table, and verification names it.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::fault_proxy::{Fault, Target, Times};
use integration_tests::{FaultProxy, TestApi, TestOrg};
use raptor_shared::model::audit_digest::{AuditBundle, AuditDigest, PublicKey, string_to_sign, verify_bundle};
use raptor_shared::operations::audit_digests::{self, DigestRunReport};
use raptor_shared::store::keys;
use raptor_shared::time::Timestamp;
use serde_json::{Value, json};

/// A run of the digest job as the schedule would make it a little later: the settling
/// margin has passed for everything written so far.
async fn run_job(api: &TestApi) -> DigestRunReport {
    let later = Timestamp::from_millis(api.clock().now().millis() + 6_000);
    audit_digests::run(api.store(), &api.audit.signer, later)
        .await
        .expect("the digest job runs")
}

async fn changes(api: &TestApi, org: &TestOrg, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let facility = api
            .post(
                "/facilities",
                &org.admin_key,
                json!({ "name": format!("Substation {}", raptor_shared::ids::UserId::new()) }),
            )
            .await
            .expect(201);
        ids.push(facility["id"].as_str().unwrap().to_string());
    }
    ids
}

async fn event_ids(api: &TestApi, org: &TestOrg) -> Vec<String> {
    let events = api.get("/audit-events?limit=100", &org.admin_key).await.expect(200);
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["id"].as_str().unwrap().to_string())
        .collect()
}

async fn digests(api: &TestApi, org: &TestOrg) -> Vec<AuditDigest> {
    let page = api
        .get("/audit-events/digests?limit=100", &org.admin_key)
        .await
        .expect(200);
    serde_json::from_value(page["data"].clone()).unwrap()
}

async fn verify(api: &TestApi, org: &TestOrg) -> Value {
    api.get("/audit-events/verify", &org.admin_key).await.expect(200)
}

/// What `scripts/audit-bundle` exports, read through the API the same way.
async fn bundle(api: &TestApi, org: &TestOrg) -> AuditBundle {
    let key = &org.admin_key;
    let events = api.get("/audit-events?limit=100", key).await.expect(200);
    let public_key = api.get("/audit-events/public-key", key).await.expect(200);
    serde_json::from_value(json!({
        "from": "1970-01-01T00:00:00Z",
        "to": api.clock().now().to_string(),
        "publicKey": public_key,
        "digests": serde_json::to_value(digests(api, org).await).unwrap(),
        "events": events["data"],
    }))
    .unwrap()
}

/// The server's verification and the offline one (with a key pinned before any
/// tampering) say the same.
async fn both_verifications(api: &TestApi, org: &TestOrg, pinned: &PublicKey) -> Value {
    let report = verify(api, org).await;
    let offline = verify_bundle(&bundle(api, org).await, Some(pinned)).unwrap();
    assert_eq!(offline.verified, report["verified"] == true, "{report}");
    assert_eq!(json!(offline.events_changed), report["eventsChanged"]);
    assert_eq!(json!(offline.events_missing), report["eventsMissing"]);
    assert_eq!(json!(offline.digests_missing), report["digestsMissing"]);
    report
}

fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect()
}

fn event_key(org: &TestOrg, id: &str) -> std::collections::HashMap<String, AttributeValue> {
    keys::key(keys::audit_partition(&org.id), id)
}

#[tokio::test]
async fn every_event_is_in_a_signed_chained_digest_and_an_untouched_trail_verifies() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    changes(&api, &org, 3).await;
    let first_run = run_job(&api).await;
    assert!(first_run.digests_written >= 1);

    let listed = digests(&api, &org).await;
    assert_eq!(listed.len(), 1);
    let mut listed_ids: Vec<String> = listed[0].document.events.iter().map(|e| e.id.to_string()).collect();
    let mut stored = event_ids(&api, &org).await;
    listed_ids.sort();
    stored.sort();
    assert_eq!(listed_ids, stored, "the digest lists every event of the organization");
    assert_eq!(listed[0].document.sequence, 1);
    assert_eq!(listed[0].document.previous_sha256, None);

    // The published key verifies the signature; KMS signed it, not us.
    let key: PublicKey =
        serde_json::from_value(api.get("/audit-events/public-key", &org.admin_key).await.expect(200)).unwrap();
    assert!(key.pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let digest = &listed[0];
    assert!(key.verifies(
        &string_to_sign(&digest.document, &digest.document_sha256),
        &digest.signature
    ));
    // AWS names the key by its ARN in both answers; the emulator's GetPublicKey by its id.
    assert!(digest.key_id.ends_with(key.key_id.rsplit('/').next().unwrap()));

    let report = verify(&api, &org).await;
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["eventsCovered"], stored.len());

    // Nothing new: no digest, and the chain still links when something new comes.
    let idle = run_job(&api).await;
    assert_eq!(idle.digests_written, 0, "{idle:?}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    changes(&api, &org, 1).await;
    let later = Timestamp::from_millis(api.clock().now().millis() + 12_000);
    audit_digests::run(api.store(), &api.audit.signer, later).await.unwrap();
    let listed = digests(&api, &org).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].document.sequence, 2);
    assert_eq!(
        listed[1].document.previous_sha256.as_deref(),
        Some(listed[0].document_sha256.as_str())
    );
    assert_eq!(verify(&api, &org).await["verified"], true);
}

#[tokio::test]
async fn a_changed_deleted_inserted_or_swapped_event_and_a_deleted_digest_are_each_named() {
    let api = TestApi::new().await;
    let client = api.store().client();
    let table = api.store().table();

    // Changed: one field of one event.
    let changed = api.new_organization().await;
    changes(&api, &changed, 2).await;
    // Deleted: one event gone.
    let deleted = api.new_organization().await;
    changes(&api, &deleted, 2).await;
    // Inserted: a copy of an event under a new id, in a digested period.
    let inserted = api.new_organization().await;
    changes(&api, &inserted, 2).await;
    // Swapped: the summaries of two events exchanged.
    let swapped = api.new_organization().await;
    changes(&api, &swapped, 2).await;
    // A digest deleted.
    let undigested = api.new_organization().await;
    changes(&api, &undigested, 2).await;
    let untouched = api.new_organization().await;
    changes(&api, &untouched, 2).await;
    run_job(&api).await;
    // A second digest for the organization whose first digest goes.
    changes(&api, &undigested, 1).await;
    let later = Timestamp::from_millis(api.clock().now().millis() + 12_000);
    audit_digests::run(api.store(), &api.audit.signer, later).await.unwrap();
    let pinned: PublicKey = serde_json::from_value(
        api.get("/audit-events/public-key", &changed.admin_key)
            .await
            .expect(200),
    )
    .unwrap();

    let target = event_ids(&api, &changed).await[0].clone();
    client
        .update_item()
        .table_name(table)
        .set_key(Some(event_key(&changed, &target)))
        .update_expression("SET #summary.#name = :forged")
        .expression_attribute_names("#summary", "summary")
        .expression_attribute_names("#name", "name")
        .expression_attribute_values(":forged", AttributeValue::S("Substation Forged".into()))
        .send()
        .await
        .unwrap();
    let report = both_verifications(&api, &changed, &pinned).await;
    assert_eq!(report["verified"], false);
    assert_eq!(ids(&report["eventsChanged"]), vec![target]);

    let gone = event_ids(&api, &deleted).await[1].clone();
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(event_key(&deleted, &gone)))
        .send()
        .await
        .unwrap();
    let report = both_verifications(&api, &deleted, &pinned).await;
    assert_eq!(report["verified"], false);
    assert_eq!(ids(&report["eventsMissing"]), vec![gone]);

    let original = event_ids(&api, &inserted).await[0].clone();
    let item = client
        .get_item()
        .table_name(table)
        .set_key(Some(event_key(&inserted, &original)))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    // An id a millisecond after the original's: inside the period the digest covers.
    let forged_id = raptor_shared::ids::EventId::at(Timestamp::from_millis(
        digests(&api, &inserted).await[0].document.period_start.millis() + 1,
    ))
    .to_string();
    let mut forged = item.clone();
    forged.insert("SK".into(), AttributeValue::S(forged_id.clone()));
    forged.insert("id".into(), AttributeValue::S(forged_id.clone()));
    client
        .put_item()
        .table_name(table)
        .set_item(Some(forged))
        .send()
        .await
        .unwrap();
    let report = both_verifications(&api, &inserted, &pinned).await;
    assert_eq!(report["verified"], false);
    assert_eq!(ids(&report["eventsNotDigested"]), vec![forged_id]);

    let pair = event_ids(&api, &swapped).await;
    let summaries: Vec<AttributeValue> = {
        let mut found = Vec::new();
        for id in &pair[..2] {
            let item = client
                .get_item()
                .table_name(table)
                .set_key(Some(event_key(&swapped, id)))
                .send()
                .await
                .unwrap()
                .item
                .unwrap();
            found.push(item["summary"].clone());
        }
        found
    };
    for (id, summary) in pair[..2].iter().zip(summaries.iter().rev()) {
        client
            .update_item()
            .table_name(table)
            .set_key(Some(event_key(&swapped, id)))
            .update_expression("SET #summary = :summary")
            .expression_attribute_names("#summary", "summary")
            .expression_attribute_values(":summary", summary.clone())
            .send()
            .await
            .unwrap();
    }
    let report = both_verifications(&api, &swapped, &pinned).await;
    let mut changed_ids = ids(&report["eventsChanged"]);
    changed_ids.sort();
    let mut expected = pair[..2].to_vec();
    expected.sort();
    assert_eq!(changed_ids, expected);

    let digest = &digests(&api, &undigested).await[0];
    assert_eq!(digest.document.sequence, 1);
    let digest_items = client
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ORG#{}#AUDIT_DIGEST", undigested.id)))
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(digest_items.len(), 2);
    let mut key = digest_items
        .iter()
        .find(|item| item["sequence"] == AttributeValue::N("1".into()))
        .unwrap()
        .clone();
    key.retain(|name, _| name == "PK" || name == "SK");
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(key))
        .send()
        .await
        .unwrap();
    let report = both_verifications(&api, &undigested, &pinned).await;
    assert_eq!(report["verified"], false);
    assert_eq!(report["digestsMissing"], json!([digest.document.sequence]));
    assert_eq!(
        report["eventsNotDigested"].as_array().unwrap().len(),
        digest.document.events.len()
    );

    let report = both_verifications(&api, &untouched, &pinned).await;
    assert_eq!(
        report["verified"], true,
        "the others' tampering touches nothing of ours: {report}"
    );
}

#[tokio::test]
async fn an_event_stored_after_its_period_was_digested_is_covered_by_the_next_digest_as_late() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    changes(&api, &org, 1).await;
    let first = run_job(&api).await;
    let covered_until = first.covered_until.unwrap();
    // A slow writer: an event whose time is before the run's watermark, stored after it.
    let slow = Timestamp::from_millis(covered_until.millis() - 1_000);
    let mut transaction = raptor_shared::store::Transaction::new();
    let actor = raptor_shared::model::principal::Actor {
        org_id: org.id.clone(),
        user_id: org.admin_id.clone(),
        api_key_id: None,
    };
    let event = raptor_shared::model::events::Event::FacilityDeleted(
        raptor_shared::model::events::facilities::FacilityDeleted { name: "Slow".into() },
    );
    raptor_shared::store::audit::record(&mut transaction, &actor, slow, "fac_01hx2m7k3q9v8c6b5n4m3k2j1h", &event)
        .unwrap();
    transaction.send(api.store()).await.unwrap();
    let report = verify(&api, &org).await;
    assert_eq!(
        report["verified"], false,
        "not yet digested, and its period is: {report}"
    );

    let later = Timestamp::from_millis(api.clock().now().millis() + 12_000);
    let second = audit_digests::run(api.store(), &api.audit.signer, later).await.unwrap();
    assert_eq!(second.late_events, 1);
    let report = verify(&api, &org).await;
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["lateEvents"][0]["coveredBy"], 2);
    assert_eq!(report["lateEvents"][0]["belongsTo"], 1);
}

#[tokio::test]
async fn two_runs_at_once_make_one_chain_and_another_organization_sees_none_of_it() {
    let api = TestApi::new().await;
    let mine = api.new_organization().await;
    let theirs = api.new_organization().await;
    changes(&api, &mine, 2).await;
    let (a, b) = tokio::join!(run_job(&api), run_job(&api));
    assert!(a.digests_written + b.digests_written >= 2, "{a:?} {b:?}");
    let chain = digests(&api, &mine).await;
    assert_eq!(chain.len(), 1, "one digest of my events, never two forks");
    assert_eq!(verify(&api, &mine).await["verified"], true);

    let theirs_listed = digests(&api, &theirs).await;
    for digest in &theirs_listed {
        assert_eq!(digest.document.organization_id, theirs.id);
    }
    let mine_ids = event_ids(&api, &mine).await;
    let their_report = verify(&api, &theirs).await;
    assert_eq!(their_report["verified"], true);
    assert!(!their_report.to_string().contains(&mine_ids[0]));
}

#[tokio::test]
async fn a_run_that_cannot_sign_writes_nothing_and_the_next_run_digests_everything() {
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    let api = TestApi::through(&proxy).await;
    let org = api.new_organization().await;
    changes(&api, &org, 2).await;
    proxy.fault(Target::Kms("Sign"), Fault::InternalServerError, Times::Always);
    let later = Timestamp::from_millis(api.clock().now().millis() + 6_000);
    let failed = audit_digests::run(api.store(), &api.audit.signer, later).await;
    proxy.heal();
    assert!(
        matches!(failed, Err(raptor_shared::error::ApiError::Unavailable { .. })),
        "{failed:?}"
    );
    assert!(proxy.count("KMS.Sign") >= 1);
    assert!(digests(&api, &org).await.is_empty());
    let report = audit_digests::run(api.store(), &api.audit.signer, later).await.unwrap();
    assert!(report.digests_written >= 1);
    assert_eq!(verify(&api, &org).await["verified"], true);
}

#[tokio::test]
async fn a_key_without_audit_read_reads_no_digest_no_verification_and_no_key() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let key = crate::training_program::scoped_key(&api, &org, &["users:read"]).await;
    for path in [
        "/audit-events/digests",
        "/audit-events/verify",
        "/audit-events/public-key",
    ] {
        api.get(path, &key).await.expect_error(403, "forbidden");
    }
    api.get(
        "/audit-events/verify?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z",
        &org.admin_key,
    )
    .await
    .expect_error(400, "validation_error");
}

#[tokio::test]
async fn digests_come_at_most_twenty_a_page_and_every_page_links_on() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    for round in 0..21 {
        changes(&api, &org, 1).await;
        let at = Timestamp::from_millis(api.clock().now().millis() + 6_000 + round * 1_000);
        audit_digests::run(api.store(), &api.audit.signer, at).await.unwrap();
    }
    let first = api
        .get("/audit-events/digests?limit=100", &org.admin_key)
        .await
        .expect(200);
    assert_eq!(first["data"].as_array().unwrap().len(), 20);
    let cursor = first["nextCursor"].as_str().expect("a next page");
    let rest = api
        .get(
            &format!("/audit-events/digests?limit=100&cursor={cursor}"),
            &org.admin_key,
        )
        .await
        .expect(200);
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["data"][0]["sequence"], 21);
    assert_eq!(verify(&api, &org).await["verified"], true);
}
