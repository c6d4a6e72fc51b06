//! Evidence package records in the table (`store/evidence_packages.rs`): a package is
//! listed only to its organization, sits in the builder's queue while pending or building
//! and leaves it when finished, and a second run's claim on a package it read before the
//! first one's loses.

use integration_tests::TestApi;
use raptor_shared::error::ApiError;
use raptor_shared::model::evidence_packages::{EvidencePackage, PackageRequest, PackageStatus};
use raptor_shared::model::principal::Actor;
use raptor_shared::store::{Transaction, evidence_packages};
use raptor_shared::time::{Date, Timestamp};

fn request(today: Date) -> PackageRequest {
    PackageRequest::new(today, today, today, vec![], today).unwrap()
}

async fn commit(api: &TestApi, write: impl FnOnce(&mut Transaction)) -> Result<(), ApiError> {
    let mut transaction = Transaction::new();
    write(&mut transaction);
    transaction.commit(api.store()).await
}

#[tokio::test]
async fn a_package_is_queued_until_finished_and_seen_only_by_its_organization() {
    let api = TestApi::new().await;
    let (ours, theirs) = (api.new_organization().await, api.new_organization().await);
    let now = api.clock().now();
    let actor = Actor {
        org_id: ours.id.clone(),
        user_id: ours.admin_id.clone(),
        api_key_id: None,
    };
    let package = EvidencePackage::new(&actor, request(api.clock().today()), now);
    commit(&api, |t| evidence_packages::put_new(t, &package).unwrap())
        .await
        .unwrap();

    let stored = evidence_packages::get(api.store(), &ours.id, &package.id)
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), Some(&package), "the record round-trips");
    assert_eq!(
        evidence_packages::get(api.store(), &theirs.id, &package.id)
            .await
            .unwrap(),
        None
    );
    let listed = evidence_packages::list(api.store(), &ours.id, 10, None).await.unwrap();
    assert_eq!(listed.items, vec![package.clone()]);
    assert!(
        evidence_packages::list(api.store(), &theirs.id, 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let queued = evidence_packages::queued(api.store(), 1000).await.unwrap();
    assert!(
        queued.iter().any(|queued| queued.id == package.id),
        "a pending package is queued"
    );

    // Two runs read it; the first claims it, the second's claim finds it changed.
    assert!(package.is_buildable(now));
    let claimed = package.claimed(now);
    commit(&api, |t| evidence_packages::put_updated(t, &package, &claimed).unwrap())
        .await
        .unwrap();
    let late = package.claimed(now);
    let lost = commit(&api, |t| evidence_packages::put_updated(t, &package, &late).unwrap()).await;
    assert!(matches!(lost, Err(ApiError::Conflict { .. })), "{lost:?}");
    assert!(!claimed.is_buildable(now), "a claim holds until it runs out");
    let after_lease = Timestamp::from_millis(claimed.claimed_until.unwrap().millis() + 1);
    assert!(claimed.is_buildable(after_lease), "a dead build's claim runs out");
    let queued = evidence_packages::queued(api.store(), 1000).await.unwrap();
    let building = queued
        .iter()
        .find(|queued| queued.id == package.id)
        .expect("a building package stays queued");
    assert_eq!(building.status, PackageStatus::Building);
    assert_eq!(building.attempts, 1);

    let failed = claimed.failed("nothing to build".into(), now);
    commit(&api, |t| evidence_packages::put_updated(t, &claimed, &failed).unwrap())
        .await
        .unwrap();
    let queued = evidence_packages::queued(api.store(), 1000).await.unwrap();
    assert!(
        queued.iter().all(|queued| queued.id != package.id),
        "a finished package leaves the queue"
    );
    let stored = evidence_packages::get(api.store(), &ours.id, &package.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, PackageStatus::Failed);
    assert_eq!(stored.failure_reason.as_deref(), Some("nothing to build"));
}
