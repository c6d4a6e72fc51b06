//! Invitations: create (one, a batch, several organizations), list, validate, accept,
//! resend and cancel. See `docs/invitations.md` for why the email is sent before the
//! invitation is written.

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, ErrorDetail};
use crate::ids::{InvitationId, OrgId};
use crate::mail::Mailer;
use crate::model::caller::{Actor, Caller};
use crate::model::invitation_email;
use crate::model::invitations::{
    AcceptInvitation, Invitation, InvitationFilter, InvitationStatus, InvitationTerms, InvitationView, MAX_BATCH,
    NewInvitation, ValidInvitation, invalid_token, new_invitation, parse_token,
};
use crate::model::roles::RolesDocument;
use crate::model::users::{MAX_NAME_LENGTH, Member, MemberStatus, UserView};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;
use crate::validation;

/// Configuration of the invitations function (environment, read once per cold start).
#[derive(Debug, Clone)]
pub struct InvitationSettings {
    /// The page that takes the token as its `token` query parameter.
    pub accept_url: String,
    pub daily_email_cap: u64,
}

/// What the function needs besides the store: who sends, and how.
pub struct Outbox<'a> {
    pub mailer: &'a Mailer,
    pub settings: &'a InvitationSettings,
}

/// One result of a batch, per item and organization, in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    pub index: usize,
    pub organization_id: Option<OrgId>,
    pub email: Option<String>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation: Option<InvitationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

impl BatchResult {
    fn of(index: usize, organization: Option<&OrgId>, email: Option<&str>, result: ApiResult<InvitationView>) -> Self {
        let (status, invitation, error) = match result {
            Ok(view) => (201, Some(view), None),
            Err(error) => (error.status(), None, Some(error.body().error)),
        };
        BatchResult {
            index,
            organization_id: organization.cloned(),
            email: email.map(str::to_string),
            status,
            invitation,
            error,
        }
    }
}

/// Creates one invitation in the caller's organization.
pub async fn create_one(
    store: &Store,
    outbox: &Outbox<'_>,
    caller: &Caller,
    input: NewInvitation,
) -> ApiResult<InvitationView> {
    caller.require(Permission::InvitationsWrite)?;
    if input.organization_ids.is_some() {
        return Err(ApiError::validation(
            "organizationIds",
            "`organizationIds` belongs to batch items: send {\"invitations\": [...]}",
        ));
    }
    invite(store, outbox, caller, &input.terms()?).await
}

/// A batch (seed 002): each item into each organization it names (the caller's by
/// default). The caller's account must hold `invitations:write` and the roles it grants in
/// each organization through its own membership there, and its key must carry them. One
/// bad row never sinks the batch: every item and organization gets its own result.
pub async fn create_batch(
    store: &Store,
    outbox: &Outbox<'_>,
    caller: &Caller,
    items: Vec<Value>,
) -> ApiResult<Vec<BatchResult>> {
    caller.require(Permission::InvitationsWrite)?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::validation(
            "invitations",
            format!("`invitations` must hold from 1 to {MAX_BATCH} items"),
        ));
    }
    let mut inviters: Vec<(OrgId, ApiResult<Caller>)> = vec![(caller.org().clone(), Ok(caller.clone()))];
    let mut results = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let parsed: ApiResult<NewInvitation> =
            crate::json::from_value(item).map_err(|error| prefix_field(error, &format!("invitations[{index}]")));
        let input = match parsed {
            Ok(input) => input,
            Err(error) => {
                results.push(BatchResult::of(index, None, None, Err(error)));
                continue;
            }
        };
        let mut organizations: Vec<OrgId> = Vec::new();
        for organization in input
            .organization_ids
            .clone()
            .unwrap_or_else(|| vec![caller.org().clone()])
        {
            // A repeated organization gets one result, at its first place.
            if !organizations.contains(&organization) {
                organizations.push(organization);
            }
        }
        let terms = input.terms();
        for organization in organizations {
            if results.len() >= MAX_BATCH {
                return Err(ApiError::validation(
                    "invitations",
                    format!("a batch may create at most {MAX_BATCH} invitations in all (items × organizations)"),
                ));
            }
            let result = match &terms {
                Err(error) => Err(prefix_field(clone_error(error), &format!("invitations[{index}]"))),
                Ok(terms) => match inviter_in(store, caller, &organization, &mut inviters).await {
                    Ok(inviter) => invite(store, outbox, &inviter, terms).await,
                    Err(error) => Err(error),
                },
            };
            results.push(BatchResult::of(
                index,
                Some(&organization),
                terms.as_ref().ok().map(|terms| terms.email.as_str()),
                result,
            ));
        }
    }
    Ok(results)
}

/// The caller as a member of `organization`: its membership there (active), that
/// organization's roles, and at most what the caller's key may do now.
async fn inviter_in(
    store: &Store,
    caller: &Caller,
    organization: &OrgId,
    known: &mut Vec<(OrgId, ApiResult<Caller>)>,
) -> ApiResult<Caller> {
    if let Some((_, found)) = known.iter().find(|(org, _)| org == organization) {
        return clone_result(found);
    }
    let records = store::members::get_for_authentication(store, organization, caller.user(), None).await?;
    let inviter = match records.member {
        Some(member) if member.status == MemberStatus::Active => {
            let granted = records.roles.permissions_of(&member.roles);
            Ok(Caller {
                actor: Actor {
                    org_id: organization.clone(),
                    user_id: caller.user().clone(),
                    api_key_id: caller.actor.api_key_id.clone(),
                },
                permissions: caller.permissions.intersection(&granted).copied().collect(),
                member,
                roles: records.roles,
            })
        }
        // The same answer whether the organization exists or not.
        _ => Err(ApiError::forbidden_action(format!(
            "you are not an active member of organization `{organization}`"
        ))),
    };
    let answer = clone_result(&inviter);
    known.push((organization.clone(), inviter));
    answer
}

fn clone_result(result: &ApiResult<Caller>) -> ApiResult<Caller> {
    match result {
        Ok(caller) => Ok(caller.clone()),
        Err(error) => Err(clone_error(error)),
    }
}

/// Errors are not `Clone` (an internal one carries a detail); the batch repeats them.
fn clone_error(error: &ApiError) -> ApiError {
    match error {
        ApiError::Validation { field, message } => ApiError::validation(field.clone(), message.clone()),
        ApiError::Forbidden { permission } => ApiError::Forbidden {
            permission: *permission,
        },
        ApiError::ForbiddenAction { message } => ApiError::forbidden_action(message.clone()),
        ApiError::NotFound { resource } => ApiError::NotFound { resource },
        ApiError::NotFoundId { resource, id } => ApiError::NotFoundId {
            resource,
            id: id.clone(),
        },
        ApiError::Conflict { message } => ApiError::conflict(message.clone()),
        other => ApiError::internal(other.to_string()),
    }
}

fn prefix_field(error: ApiError, prefix: &str) -> ApiError {
    match error {
        ApiError::Validation { field, message } => ApiError::validation(format!("{prefix}.{field}"), message),
        other => other,
    }
}

/// Authorize, pre-check, send, then write: the invitation exists only once its email went
/// out (`docs/invitations.md`).
async fn invite(
    store: &Store,
    outbox: &Outbox<'_>,
    inviter: &Caller,
    terms: &InvitationTerms,
) -> ApiResult<InvitationView> {
    inviter.require(Permission::InvitationsWrite)?;
    if !terms.send_email {
        // Whoever holds the token can create the account.
        inviter.require(Permission::UsersWrite)?;
    }
    inviter.require_can_grant(&terms.roles)?;
    let now = Timestamp::now();
    let (invitation, token) = new_invitation(
        terms,
        (inviter.org(), &inviter.member.organization_name),
        (inviter.user(), &inviter.member.display_name),
        now,
    )?;
    let cap = terms.send_email.then_some(outbox.settings.daily_email_cap);
    store::invitations::check_can_invite(store, &invitation, now, cap).await?;
    if terms.send_email {
        send(outbox, &invitation, &token).await?;
    }

    let mut transaction = Transaction::new();
    store::invitations::put_new(&mut transaction, &invitation, now)?;
    if let Some(cap) = cap {
        store::invitations::count_email(&mut transaction, inviter.org(), now, cap)?;
    }
    store::audit::record(
        &mut transaction,
        &inviter.actor,
        "invitation.created",
        "invitation",
        invitation.id.as_str(),
        json!({
            "email": invitation.email,
            "roles": invitation.roles,
            "expiresAt": invitation.expires_at,
            "emailSent": invitation.email_sent,
            "identityProvider": invitation.identity_provider,
        }),
    )?;
    transaction.commit(store).await?;
    let mut view = InvitationView::of(&invitation, now);
    if !terms.send_email {
        view.token = Some(token);
    }
    Ok(view)
}

async fn send(outbox: &Outbox<'_>, invitation: &Invitation, token: &str) -> ApiResult<()> {
    let email = invitation_email::render(
        invitation.display_name.as_deref(),
        &invitation.invited_by_name,
        &invitation.organization_name,
        &outbox.settings.accept_url,
        token,
        invitation.expires_at,
    )
    .map_err(ApiError::internal)?;
    outbox.mailer.send(&invitation.email, &email).await
}

pub async fn list_invitations(
    store: &Store,
    caller: &Caller,
    filter: &InvitationFilter,
    page: &PageRequest,
) -> ApiResult<ListPage<InvitationView>> {
    caller.require(Permission::InvitationsRead)?;
    let now = Timestamp::now();
    let result = store::invitations::list(store, caller.org(), filter, now, page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result
            .items
            .iter()
            .map(|invitation| InvitationView::of(invitation, now))
            .collect(),
        next_cursor: page.next_cursor(result.next),
    })
}

/// What a usable token leads to: the invitation, the organization's roles, and the
/// inviter as read (the accept transaction is conditioned on it).
struct Admitted {
    invitation: Invitation,
    roles: RolesDocument,
    inviter: Member,
}

/// The invitation a token admits (or the one uniform refusal), provided its inviter may
/// still grant what it grants: an invitation gives no more than its inviter may give now,
/// so a departed or demoted inviter's invitations stop admitting anyone.
async fn admitted(store: &Store, token: &str, now: Timestamp) -> ApiResult<Admitted> {
    let (id, secret) = parse_token(token).ok_or_else(invalid_token)?;
    let invitation = match store::invitations::get(store, &id).await? {
        Some(invitation) if invitation.admits(secret, now) => invitation,
        _ => return Err(invalid_token()),
    };
    let org = &invitation.organization_id;
    let records = store::members::get_for_authentication(store, org, &invitation.invited_by, None).await?;
    let roles = records.roles;
    roles
        .check_exist(&invitation.roles)
        .map_err(|_| ApiError::conflict("a role this invitation grants no longer exists; ask for a new invitation"))?;
    let granted = roles.permissions_of(&invitation.roles);
    let inviter = records
        .member
        .filter(|inviter| inviter.status == MemberStatus::Active)
        .filter(|inviter| roles.permissions_of(&inviter.roles).is_superset(&granted))
        .ok_or_else(|| {
            ApiError::conflict(
                "the person who invited you can no longer grant this access; ask the organization for a new invitation",
            )
        })?;
    Ok(Admitted {
        invitation,
        roles,
        inviter,
    })
}

/// `GET /invitations/validate?token=…`: no API key; what an onboarding screen shows.
pub async fn validate(store: &Store, token: Option<&str>) -> ApiResult<ValidInvitation> {
    let token = token.ok_or_else(|| ApiError::validation("token", "`token` is required"))?;
    admitted(store, token, Timestamp::now())
        .await
        .map(|admitted| ValidInvitation::of(&admitted.invitation))
}

/// `POST /invitations/accept`: no API key. Creates the membership (in the account that
/// already has this email elsewhere, or a new one), grants the roles and marks the
/// invitation accepted, in one transaction: of two concurrent accepts, one commits.
pub async fn accept(store: &Store, input: AcceptInvitation) -> ApiResult<UserView> {
    let now = Timestamp::now();
    let Admitted {
        invitation: before,
        roles,
        inviter,
    } = admitted(store, &input.token, now).await?;
    let display_name = match (&input.display_name, &before.display_name) {
        (Some(name), _) => validation::required_text("displayName", name, MAX_NAME_LENGTH)?,
        (None, Some(name)) => name.clone(),
        (None, None) => {
            return Err(ApiError::validation(
                "displayName",
                "`displayName` is required: the invitation names none",
            ));
        }
    };
    let title = validation::optional_text("title", input.title.as_deref(), MAX_NAME_LENGTH)?;
    let org = &before.organization_id;
    let user_id = store::members::account_to_join(store, &before.email, org)
        .await?
        .unwrap_or_default();
    let member = Member {
        user_id: user_id.clone(),
        organization_id: org.clone(),
        organization_name: before.organization_name.clone(),
        email: before.email.clone(),
        display_name,
        title,
        external_id: None,
        roles: before.roles.clone(),
        status: MemberStatus::Active,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let mut after = before.clone();
    after.status = InvitationStatus::Accepted;
    after.accepted_at = Some(now);
    after.accepted_user_id = Some(user_id.clone());
    after.updated_at = now;
    after.version += 1;
    // The invitee acts for themselves; no API key is involved.
    let actor = Actor {
        org_id: org.clone(),
        user_id: user_id.clone(),
        api_key_id: None,
    };

    let mut transaction = Transaction::new();
    store::invitations::put_updated(&mut transaction, &before, &after, now)?;
    store::members::put_new(&mut transaction, &member)?;
    store::members::check_unchanged(&mut transaction, &inviter)?;
    if RolesDocument::holds_custom_role(&member.roles) {
        let mut document = roles.clone();
        document.move_holders(&[], &member.roles);
        store::roles::put_document(&mut transaction, org, &document)?;
    }
    store::audit::record(
        &mut transaction,
        &actor,
        "invitation.accepted",
        "invitation",
        before.id.as_str(),
        json!({ "email": before.email, "userId": user_id }),
    )?;
    store::audit::record(
        &mut transaction,
        &actor,
        "user.created",
        "user",
        user_id.as_str(),
        json!({ "email": member.email, "displayName": member.display_name, "roles": member.roles, "invitationId": before.id }),
    )?;
    transaction.commit(store).await?;
    Ok(UserView::of(&member))
}

/// An invitation of the caller's organization; another's is indistinguishable from none.
async fn get_in_org(store: &Store, org: &OrgId, id: &InvitationId) -> ApiResult<Invitation> {
    match store::invitations::get(store, id).await? {
        Some(invitation) if &invitation.organization_id == org => Ok(invitation),
        _ => Err(ApiError::NotFound { resource: "invitation" }),
    }
}

/// Cancels a pending (or expired) invitation: its link stops working at once; the record
/// stays. Cancelling twice answers the same final state.
pub async fn cancel(store: &Store, caller: &Caller, id: &InvitationId) -> ApiResult<InvitationView> {
    caller.require(Permission::InvitationsWrite)?;
    let now = Timestamp::now();
    let before = get_in_org(store, caller.org(), id).await?;
    match before.status {
        InvitationStatus::Cancelled => return Ok(InvitationView::of(&before, now)),
        InvitationStatus::Accepted => {
            return Err(ApiError::conflict(
                "this invitation was accepted; delete the user to remove their access",
            ));
        }
        _ => {}
    }
    let mut after = before.clone();
    after.status = InvitationStatus::Cancelled;
    after.cancelled_at = Some(now);
    after.cancelled_by = Some(caller.user().clone());
    after.updated_at = now;
    after.version += 1;
    let mut transaction = Transaction::new();
    store::invitations::put_updated(&mut transaction, &before, &after, now)?;
    store::audit::record(
        &mut transaction,
        &caller.actor,
        "invitation.cancelled",
        "invitation",
        id.as_str(),
        json!({ "email": before.email, "statusBefore": before.status_at(now) }),
    )?;
    transaction.commit(store).await?;
    Ok(InvitationView::of(&after, now))
}

/// Sends a pending or expired invitation again with a new token and expiry: the old link
/// stops working at once. Accepted and cancelled invitations are final (409).
pub async fn resend(
    store: &Store,
    outbox: &Outbox<'_>,
    caller: &Caller,
    id: &InvitationId,
) -> ApiResult<InvitationView> {
    caller.require(Permission::InvitationsWrite)?;
    let now = Timestamp::now();
    let before = get_in_org(store, caller.org(), id).await?;
    if matches!(before.status, InvitationStatus::Accepted | InvitationStatus::Cancelled) {
        return Err(ApiError::conflict(format!(
            "this invitation is {}; create a new one instead",
            before.status.as_str()
        )));
    }
    caller.require_can_grant(&before.roles)?;
    let mut after = before.clone();
    let token = after.rotate_token(now)?;
    after.email_sent = true;
    after.send_count += 1;
    after.last_sent_at = Some(now);
    after.updated_at = now;
    after.version += 1;
    let cap = outbox.settings.daily_email_cap;
    store::invitations::check_can_invite(store, &after, now, Some(cap)).await?;
    send(outbox, &after, &token).await?;

    let mut transaction = Transaction::new();
    store::invitations::put_updated(&mut transaction, &before, &after, now)?;
    store::invitations::count_email(&mut transaction, caller.org(), now, cap)?;
    store::audit::record(
        &mut transaction,
        &caller.actor,
        "invitation.resent",
        "invitation",
        id.as_str(),
        json!({ "email": after.email, "expiresAt": after.expires_at, "sendCount": after.send_count }),
    )?;
    transaction.commit(store).await?;
    Ok(InvitationView::of(&after, now))
}
