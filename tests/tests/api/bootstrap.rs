use integration_tests::TestApi;
use raptor_shared::model::organizations::{BootstrapOutcome, NewOrganization};
use raptor_shared::operations::organizations;

#[tokio::test]
async fn bootstrapping_the_same_organization_twice_changes_nothing_the_second_time() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let again = organizations::bootstrap(
        api.store(),
        NewOrganization::parse(&org.name.to_uppercase(), "someone.else@utility.example", "Someone Else").unwrap(),
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
