//! The request path without I/O (issue: handler CPU < 50 µs a request): route matching,
//! parsing and validating a JSON body, the permission check of authentication, and
//! serialising a page of 100 users. `cargo bench -p raptor-shared` prints the figures;
//! `scripts/bench` runs it with the cold-start benchmark.

use std::collections::BTreeMap;
use std::hint::black_box;

use raptor_shared::ids::{OrgId, RoleId, UserId};
use raptor_shared::json;
use raptor_shared::model::roles::{CustomRole, RoleRef, RolesDocument, SystemRole};
use raptor_shared::model::users::{MAX_NAME_LENGTH, Member, MemberStatus};
use raptor_shared::pagination::ListPage;
use raptor_shared::permissions::{Permission, PermissionSet};
use raptor_shared::rest::users::{CreateUser, UserView};
use raptor_shared::routes;
use raptor_shared::time::Timestamp;
use raptor_shared::validation;
use raptor_shared::validation::{DisplayName, Email};

fn main() {
    divan::main();
}

const PATHS: [(&str, &str); 4] = [
    ("GET", "/users/me"),
    ("PATCH", "/users/usr_01jd8v4m7ffq1yv1d3m2c5h4kq"),
    ("POST", "/training-assignments/ta_01jd8v4m7ffq1yv1d3m2c5h4kq/complete"),
    (
        "DELETE",
        "/training-assignments/ta_01jd8v4m7ffq1yv1d3m2c5h4kq/facilities/fac_01jd8v4m7ffq1yv1d3m2c5h4kr",
    ),
];

const CREATE_USER: &[u8] = br#"{"email": "Grace.Hopper@Utility.example", "displayName": "Grace Hopper",
    "title": "Control Center Engineer", "externalId": "00u1ab2cd3EF4gh5ij6k", "roles": ["developer", "viewer"]}"#;

#[divan::bench]
fn match_a_route() {
    for (method, path) in PATHS {
        black_box(routes::match_path(black_box(method), black_box(path)));
    }
}

fn parse_and_validate_create_user(body: &[u8]) -> (String, String, Option<String>, Option<String>) {
    let input: CreateUser = json::from_slice(body).expect("a valid body");
    (
        validation::email("email", &input.email).expect("email"),
        validation::display_name("displayName", &input.display_name).expect("name"),
        validation::optional_one_line_text("title", input.title.as_deref(), MAX_NAME_LENGTH).expect("title"),
        validation::optional_one_line_text("externalId", input.external_id.as_deref(), MAX_NAME_LENGTH).expect("id"),
    )
}

#[divan::bench]
fn parse_and_validate_a_create_user_body() {
    black_box(parse_and_validate_create_user(black_box(CREATE_USER)));
}

fn roles_document() -> RolesDocument {
    let mut roles = BTreeMap::new();
    for (name, permissions) in [
        ("LMS sync", vec![Permission::TrainingRead, Permission::TrainingWrite]),
        ("Auditor", vec![Permission::UsersRead, Permission::AuditRead]),
    ] {
        let id = RoleId::new();
        roles.insert(
            id.to_string(),
            CustomRole {
                id,
                name: name.into(),
                description: None,
                permissions,
                created_at: Timestamp::now(),
                updated_at: Timestamp::now(),
                closing_until: None,
            },
        );
    }
    RolesDocument {
        version: 3,
        roles,
        group_grants: Default::default(),
    }
}

/// What authentication computes from the records it read: the member's roles' grants,
/// intersected with the key's scope, then the operation's permission check.
fn effective_permissions(roles: &RolesDocument, held: &[RoleRef], scope: &[Permission]) -> bool {
    let granted = roles.permissions_of(held);
    let permissions: PermissionSet = scope.iter().copied().filter(|p| granted.contains(p)).collect();
    permissions.contains(&Permission::TrainingWrite)
}

#[divan::bench]
fn check_a_permission(bencher: divan::Bencher) {
    let roles = roles_document();
    let mut held: Vec<RoleRef> = roles
        .roles
        .values()
        .map(|role| RoleRef::Custom(role.id.clone()))
        .collect();
    held.push(RoleRef::System(SystemRole::Viewer));
    let scope = Permission::ALL.to_vec();
    bencher.bench(|| black_box(effective_permissions(&roles, black_box(&held), &scope)));
}

fn member(index: usize) -> Member {
    Member {
        user_id: UserId::new(),
        organization_id: OrgId::new(),
        organization_name: "Northwind Transmission".into(),
        email: Email::parse("email", &format!("person.{index}@northwind.example")).expect("a valid email"),
        display_name: DisplayName::parse("displayName", &format!("Person Number {index}")).expect("a valid name"),
        title: Some("Substation Technician".into()),
        external_id: Some(format!("00u{index:017}")),
        roles: vec![RoleRef::System(SystemRole::Viewer)],
        status: MemberStatus::Active,
        facility_ids: Vec::new(),
        group_ids: Vec::new(),
        profile: Default::default(),
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        deleted_at: None,
        version: 1,
    }
}

#[divan::bench]
fn serialize_a_page_of_100_users(bencher: divan::Bencher) {
    let roles = roles_document();
    let members: Vec<Member> = (0..100).map(member).collect();
    bencher.bench(|| {
        let page = ListPage {
            data: members
                .iter()
                .map(|member| UserView::of(member, &roles))
                .collect::<Vec<_>>(),
            next_cursor: Some("eyJQSyI6Ik9SRyMuLi4ifQ".into()),
        };
        black_box(serde_json::to_vec(&page).expect("serialisable"))
    });
}

/// The four together: the CPU one request spends outside I/O, at most.
#[divan::bench]
fn one_request_without_io(bencher: divan::Bencher) {
    let roles = roles_document();
    let held = vec![RoleRef::System(SystemRole::Admin)];
    let scope = Permission::ALL.to_vec();
    let members: Vec<Member> = (0..100).map(member).collect();
    bencher.bench(|| {
        black_box(routes::match_path("POST", black_box("/users")));
        black_box(parse_and_validate_create_user(black_box(CREATE_USER)));
        black_box(effective_permissions(&roles, &held, &scope));
        let page = ListPage {
            data: members
                .iter()
                .map(|member| UserView::of(member, &roles))
                .collect::<Vec<_>>(),
            next_cursor: None,
        };
        black_box(serde_json::to_vec(&page).expect("serialisable"))
    });
}
