//! Bootstrap: the first organization, its first admin and an admin API key, created
//! together against any DynamoDB endpoint.

use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, UserId};
use crate::model::api_keys::new_key;
use crate::model::events::Event;
use crate::model::events::api_keys::ApiKeyCreated;
use crate::model::events::organizations::OrganizationCreated;
use crate::model::events::users::UserCreated;
use crate::model::organizations::{BootstrapOutcome, NewOrganization, Organization};
use crate::model::principal::Actor;
use crate::model::roles::{RoleRef, SystemRole};
use crate::model::users::{Member, MemberStatus};
use crate::permissions::all_permissions;
use crate::store::{self, Store, Transaction};

/// Creates the organization unless one of the same name exists (then changes nothing).
/// No principal: bootstrap runs with the table's credentials, before anyone holds a key.
pub async fn bootstrap(store: &Store, input: NewOrganization) -> ApiResult<BootstrapOutcome> {
    let NewOrganization {
        name,
        admin_email,
        admin_name,
    } = input;
    if let Some(existing) = store::organizations::find_by_name(store, &name).await? {
        return Ok(BootstrapOutcome::AlreadyExists { organization: existing });
    }

    let now = store.clock().now();
    let organization = Organization {
        id: OrgId::new(),
        name,
        created_at: now,
    };
    let admin = Member {
        user_id: UserId::new(),
        organization_id: organization.id.clone(),
        organization_name: organization.name.clone(),
        email: admin_email,
        display_name: admin_name,
        title: None,
        external_id: None,
        roles: vec![RoleRef::System(SystemRole::Admin)],
        status: MemberStatus::Active,
        facility_ids: Vec::new(),
        group_ids: Vec::new(),
        profile: Default::default(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let (key, token) = new_key(
        &organization.id,
        &admin.user_id,
        "bootstrap admin key".into(),
        &all_permissions(),
        &admin.user_id,
        now,
    )?;
    // Bootstrap acts as the new admin, without an API key.
    let actor = Actor {
        org_id: organization.id.clone(),
        user_id: admin.user_id.clone(),
        api_key_id: None,
    };

    let mut transaction = Transaction::new();
    store::organizations::put_new(&mut transaction, &organization)?;
    store::members::put_new(&mut transaction, &admin)?;
    store::api_keys::put_new(&mut transaction, &key)?;
    let now = store.clock().now();
    let events = [
        (
            organization.id.as_str(),
            Event::OrganizationCreated(OrganizationCreated {
                name: organization.name.clone(),
            }),
        ),
        (
            admin.user_id.as_str(),
            Event::UserCreated(UserCreated {
                email: admin.email.to_string(),
                display_name: None,
                roles: admin.roles.clone(),
                invitation_id: None,
                profile: Default::default(),
                suspended: None,
            }),
        ),
        (
            key.id.as_str(),
            Event::ApiKeyCreated(ApiKeyCreated {
                name: key.name.clone(),
                user_id: key.user_id.clone(),
                permissions: None,
            }),
        ),
    ];
    for (target, event) in &events {
        store::audit::record(&mut transaction, &actor, now, target, event)?;
    }
    match transaction.commit(store).await {
        Ok(()) => Ok(BootstrapOutcome::Created {
            organization,
            admin: admin.user_id,
            api_key: token,
        }),
        // Another bootstrap of the same name won the race.
        Err(ApiError::Conflict { .. }) => match store::organizations::find_by_name(store, &organization.name).await? {
            Some(existing) => Ok(BootstrapOutcome::AlreadyExists { organization: existing }),
            None => Err(ApiError::internal("bootstrap conflicted but no organization exists")),
        },
        Err(other) => Err(other),
    }
}
