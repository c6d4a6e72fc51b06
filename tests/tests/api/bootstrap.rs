use integration_tests::TestApi;
use raptor_shared::model::organizations::{Bootstrap, BootstrapOutcome};
use raptor_shared::operations::organizations;

#[tokio::test]
async fn bootstrapping_the_same_organization_twice_changes_nothing_the_second_time() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let again = organizations::bootstrap(
        api.store(),
        Bootstrap {
            organization_name: org.name.to_uppercase(),
            admin_email: "someone.else@utility.example".into(),
            admin_name: "Someone Else".into(),
        },
    )
    .await
    .unwrap();
    match again {
        BootstrapOutcome::AlreadyExists { organization } => assert_eq!(organization, org.id),
        BootstrapOutcome::Created { .. } => panic!("a second organization of the same name was created"),
    }
    // Still exactly one member, and the first key still works.
    let users = api.get("/users", &org.admin_key).await.expect(200);
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
    assert_eq!(users["data"][0]["email"], "admin@utility.example");
}

#[tokio::test]
async fn bootstrap_refuses_bad_input_before_writing() {
    let api = TestApi::new().await;
    let refused = organizations::bootstrap(
        api.store(),
        Bootstrap {
            organization_name: "   ".into(),
            admin_email: "admin@utility.example".into(),
            admin_name: "Admin".into(),
        },
    )
    .await;
    assert!(matches!(
        refused,
        Err(raptor_shared::error::ApiError::Validation { .. })
    ));
}
