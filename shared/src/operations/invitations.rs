//! Invitations: create (one, a batch, several organizations), list, validate, accept,
//! resend and cancel. See `docs/invitations.md` for why the email is sent before the
//! invitation is written.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use tokio::time::Instant;

use crate::error::{ApiError, ApiResult};
use crate::ids::{InvitationId, OrgId, UserId};
use crate::mail::Mailer;
use crate::model::account_linking::{AccountChoice, IdentityProof, account_for_new_membership};
use crate::model::events::Event;
use crate::model::events::invitations::{InvitationAccepted, InvitationCancelled, InvitationCreated, InvitationResent};
use crate::model::events::users::UserCreated;
use crate::model::invitation_email;
use crate::model::invitations::{
    Acceptance, BatchItem, BatchOutcome, CreatedInvitation, Invitation, InvitationFilter, InvitationStatus,
    InvitationTerms, MAX_BATCH, invalid_token, new_invitation, parse_token, send_offset,
};
use crate::model::principal::{Actor, Principal};
use crate::model::secret_tokens::{ExposeSecret, SecretString};
use crate::model::users::{Member, MemberStatus};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;
use crate::validation::{DisplayName, Email};

/// Configuration of the invitations function (environment, read once per cold start).
#[derive(Debug, Clone)]
pub struct InvitationSettings {
    /// The page that takes the token as its `token` query parameter.
    pub accept_url: String,
    pub daily_email_cap: u64,
    /// How fast a batch sends (`DEFAULT_EMAILS_PER_SECOND`): the SES account's rate.
    pub emails_per_second: u32,
}

/// What the function needs besides the store: who sends, and how.
pub struct Outbox<'a> {
    pub mailer: &'a Mailer,
    pub settings: &'a InvitationSettings,
}

impl BatchOutcome {
    fn of(
        index: usize,
        organization: Option<&OrgId>,
        email: Option<&Email>,
        result: ApiResult<CreatedInvitation>,
    ) -> Self {
        BatchOutcome {
            index,
            organization_id: organization.cloned(),
            email: email.cloned(),
            result,
        }
    }
}

/// Creates one invitation in the caller's organization.
pub async fn create_one(
    store: &Store,
    outbox: &Outbox<'_>,
    principal: &Principal,
    terms: InvitationTerms,
) -> ApiResult<CreatedInvitation> {
    principal.require(Permission::InvitationsWrite)?;
    let cap = outbox.settings.daily_email_cap;
    invite(
        store,
        outbox,
        principal,
        &terms,
        EmailBudget::CountedWithTheInvitation(cap),
    )
    .await
}

/// How many invitations a batch runs at once: each waits on SES and DynamoDB, so a
/// hundred in a row would outlast the function's timeout.
const BATCH_CONCURRENCY: usize = 10;

/// One row of a batch once its batch-level rules hold: either already answered (its own
/// fields are invalid, or the day's emails ran out before it) or to be invited.
enum Row<'a> {
    Answered(Box<BatchOutcome>),
    Invite {
        index: usize,
        inviter: &'a Principal,
        terms: InvitationTerms,
        /// When its email may go out, so the batch keeps to SES's sending rate.
        send_at: Instant,
    },
}

/// A batch (seed 002): each item into each organization it names (the caller's by
/// default). A credential acts only where that organization's admins can see and revoke
/// it, so an item that names another organization is invited with the caller's key of
/// that organization (`keys_elsewhere`, sent after the first key in `X-API-Key`), never
/// with this one.
///
/// The batch-level rules (item count, invitations in all, a usable key in every
/// organization named) are checked before anything is written or sent: a batch that
/// breaks one is refused whole. After that, an item whose own fields are invalid (its
/// door's parse error in `items`) gets that error as its result and nothing is made for
/// it, and each item and organization gets exactly one result, in order.
pub async fn create_batch(
    store: &Store,
    outbox: &Outbox<'_>,
    principal: &Principal,
    keys_elsewhere: &[Principal],
    items: Vec<ApiResult<BatchItem>>,
) -> ApiResult<Vec<BatchOutcome>> {
    // Each row is its own change with its own answer.
    store::transaction::each_commit_sent(invite_each(store, outbox, principal, keys_elsewhere, items)).await
}

async fn invite_each(
    store: &Store,
    outbox: &Outbox<'_>,
    principal: &Principal,
    keys_elsewhere: &[Principal],
    items: Vec<ApiResult<BatchItem>>,
) -> ApiResult<Vec<BatchOutcome>> {
    principal.require(Permission::InvitationsWrite)?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::validation(
            "invitations",
            format!("`invitations` must hold from 1 to {MAX_BATCH} items"),
        ));
    }
    let inviters = inviters_by_organization(principal, keys_elsewhere)?;

    // Every item, and every organization it names, is checked before anything is written.
    let in_all: usize = items
        .iter()
        .map(|item| item.as_ref().map_or(1, |item| item.organizations.len()))
        .sum();
    if in_all > MAX_BATCH {
        return Err(ApiError::validation(
            "invitations",
            format!("a batch may create at most {MAX_BATCH} invitations in all (items × organizations), not {in_all}"),
        ));
    }
    for item in items.iter().flatten() {
        for organization in &item.organizations {
            inviter_in(&inviters, organization)?.require(Permission::InvitationsWrite)?;
        }
    }

    // The day's emails, taken at once per organization, in item order.
    let now = store.clock().now();
    let cap = outbox.settings.daily_email_cap;
    let mut reserved: Vec<(OrgId, u64, AtomicU64)> = Vec::new();
    for item in items.iter().flatten().filter(|item| item.terms.send_email) {
        for organization in &item.organizations {
            match reserved.iter_mut().find(|(org, _, _)| org == organization) {
                Some((_, wanted, _)) => *wanted += 1,
                None => reserved.push((organization.clone(), 1, AtomicU64::new(0))),
            }
        }
    }
    for position in 0..reserved.len() {
        let (organization, wanted, _) = &reserved[position];
        match store::invitations::reserve_emails(store, organization, now, cap, *wanted).await {
            Ok(taken) => reserved[position].1 = taken,
            Err(error) => {
                // Nothing was sent: give back what the organizations before this one took.
                give_back(store, &reserved[..position], now).await;
                return Err(error);
            }
        }
    }

    let mut rows = Vec::with_capacity(in_all);
    let started = Instant::now();
    let mut emails_planned: u32 = 0;
    // The same email twice into one organization: the second would race the first's
    // pending marker after both emails went out, so it is answered here instead.
    let mut invited: HashSet<(OrgId, String)> = HashSet::new();
    let mut emails_left: Vec<(OrgId, u64)> = reserved.iter().map(|(org, taken, _)| (org.clone(), *taken)).collect();
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Err(error) => rows.push(Row::Answered(Box::new(BatchOutcome::of(index, None, None, Err(error))))),
            Ok(BatchItem { terms, organizations }) => {
                for organization in organizations {
                    if !invited.insert((organization.clone(), terms.email.lowercase())) {
                        rows.push(Row::Answered(Box::new(BatchOutcome::of(
                            index,
                            Some(&organization),
                            Some(&terms.email),
                            Err(ApiError::conflict(format!(
                                "`{}` is invited to this organization by an earlier item of this batch",
                                terms.email
                            ))),
                        ))));
                        continue;
                    }
                    let left = emails_left.iter_mut().find(|(org, _)| org == &organization);
                    match left {
                        Some((_, 0)) if terms.send_email => rows.push(Row::Answered(Box::new(BatchOutcome::of(
                            index,
                            Some(&organization),
                            Some(&terms.email),
                            Err(store::invitations::emails_used_up(cap, now)),
                        )))),
                        left => {
                            if let Some((_, count)) = left.filter(|_| terms.send_email) {
                                *count -= 1;
                            }
                            let send_at = started + send_offset(emails_planned, outbox.settings.emails_per_second);
                            emails_planned += u32::from(terms.send_email);
                            rows.push(Row::Invite {
                                index,
                                inviter: inviter_in(&inviters, &organization)?,
                                terms: terms.clone(),
                                send_at,
                            });
                        }
                    }
                }
            }
        }
    }

    // Futures made first and then run a few at a time, results in item order.
    let pending: Vec<_> = rows
        .into_iter()
        .map(|row| run_row(store, outbox, &reserved, row))
        .collect();
    let results = futures::stream::iter(pending)
        .buffered(BATCH_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;

    give_back(store, &reserved, now).await;
    Ok(results)
}

/// Returns to each organization's day count the emails a batch took and did not send.
async fn give_back(store: &Store, reserved: &[(OrgId, u64, AtomicU64)], now: Timestamp) {
    for (organization, taken, sent) in reserved {
        let unused = taken.saturating_sub(sent.load(Ordering::SeqCst));
        if let Err(error) = store::invitations::release_emails(store, organization, now, unused).await {
            // The day's count stays higher than what was sent: fewer emails, never more.
            tracing::warn!(reason = %error, organizationId = %organization, unused, "unused invitation emails were not given back");
        }
    }
}

async fn run_row(
    store: &Store,
    outbox: &Outbox<'_>,
    reserved: &[(OrgId, u64, AtomicU64)],
    row: Row<'_>,
) -> BatchOutcome {
    match row {
        Row::Answered(result) => *result,
        Row::Invite {
            index,
            inviter,
            terms,
            send_at,
        } => {
            let budget = match reserved.iter().find(|(org, _, _)| org == inviter.org()) {
                Some((_, _, sent)) => EmailBudget::Reserved { sent, send_at },
                None => EmailBudget::NoEmail,
            };
            let result = invite(store, outbox, inviter, &terms, budget).await;
            BatchOutcome::of(index, Some(inviter.org()), Some(&terms.email), result)
        }
    }
}

/// The key of each organization the request may act in: the one it authenticated with and
/// those sent after it, one per organization.
fn inviters_by_organization<'a>(
    principal: &'a Principal,
    keys_elsewhere: &'a [Principal],
) -> ApiResult<Vec<&'a Principal>> {
    let mut inviters = vec![principal];
    for other in keys_elsewhere {
        if inviters.iter().any(|known| known.org() == other.org()) {
            return Err(ApiError::validation(
                "X-API-Key",
                format!("send at most one key per organization (two act in `{}`)", other.org()),
            ));
        }
        inviters.push(other);
    }
    Ok(inviters)
}

/// The key that acts in `organization`; without one the batch is refused, with the same
/// answer whether the organization exists or not.
fn inviter_in<'a>(inviters: &[&'a Principal], organization: &OrgId) -> ApiResult<&'a Principal> {
    inviters
        .iter()
        .find(|inviter| inviter.org() == organization)
        .copied()
        .ok_or_else(|| {
            ApiError::forbidden_action(format!(
                "no API key of organization `{organization}` was sent: a key acts only in the organization that issued it, \
                 so send a key issued there after this one in `X-API-Key` (comma-separated)"
            ))
        })
}

/// How an invitation's email counts against the organization's daily cap.
enum EmailBudget<'a> {
    /// One invitation: its transaction adds the email to the day's count, within the cap.
    CountedWithTheInvitation(u64),
    /// A batch item: the batch took its emails beforehand; this counts what was sent, and
    /// sends no earlier than `send_at`.
    Reserved { sent: &'a AtomicU64, send_at: Instant },
    /// A batch item that sends no email.
    NoEmail,
}

/// Authorize, pre-check, send, then write: the invitation exists only once its email went
/// out (`docs/invitations.md`).
async fn invite(
    store: &Store,
    outbox: &Outbox<'_>,
    inviter: &Principal,
    terms: &InvitationTerms,
    budget: EmailBudget<'_>,
) -> ApiResult<CreatedInvitation> {
    inviter.require(Permission::InvitationsWrite)?;
    if !terms.send_email {
        // Whoever holds the token can create the account.
        inviter.require(Permission::UsersWrite)?;
    }
    inviter.require_can_grant(&terms.roles)?;
    let now = store.clock().now();
    let inviting_member = inviter.acting_member()?;
    let (invitation, token) = new_invitation(
        terms,
        (inviter.org(), &inviting_member.organization_name),
        (inviter.user(), &inviting_member.display_name.to_string()),
        now,
    )?;
    let cap = match budget {
        EmailBudget::CountedWithTheInvitation(cap) if terms.send_email => Some(cap),
        _ => None,
    };
    store::invitations::check_can_invite(store, &invitation, now, cap).await?;
    if terms.send_email {
        if let EmailBudget::Reserved { send_at, .. } = budget {
            tokio::time::sleep_until(send_at).await;
        }
        send(outbox, &invitation, &token).await?;
        if let EmailBudget::Reserved { sent, .. } = budget {
            sent.fetch_add(1, Ordering::SeqCst);
        }
    }

    let mut transaction = Transaction::new();
    store::invitations::put_new(&mut transaction, &invitation, now)?;
    if let Some(cap) = cap {
        store::invitations::count_email(&mut transaction, inviter.org(), now, cap)?;
    }
    let event = Event::InvitationCreated(InvitationCreated {
        email: invitation.email.to_string(),
        roles: invitation.roles.clone(),
        expires_at: invitation.expires_at,
        email_sent: invitation.email_sent,
        identity_provider: invitation.identity_provider.clone(),
    });
    store::audit::record(
        &mut transaction,
        &inviter.actor,
        store.clock().now(),
        invitation.id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(CreatedInvitation {
        invitation,
        // Whoever holds an emailed token proved control of the mailbox: it is never shown.
        token: (!terms.send_email).then_some(token),
    })
}

async fn send(outbox: &Outbox<'_>, invitation: &Invitation, token: &SecretString) -> ApiResult<()> {
    let email = invitation_email::render(
        invitation.display_name.as_ref().map(DisplayName::as_str),
        &invitation.invited_by_name,
        &invitation.organization_name,
        &outbox.settings.accept_url,
        token.expose_secret(),
        invitation.expires_at,
    )
    .map_err(ApiError::internal)?;
    outbox.mailer.send(invitation.email.as_str(), &email).await
}

pub async fn list_invitations(
    store: &Store,
    principal: &Principal,
    filter: &InvitationFilter,
    page: &PageRequest,
) -> ApiResult<ListPage<Invitation>> {
    principal.require(Permission::InvitationsRead)?;
    let now = store.clock().now();
    let result = store::invitations::list(store, principal.org(), filter, now, page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

/// What a usable token leads to: the invitation and the inviter as read (the accept
/// transaction is conditioned on it).
struct Admitted {
    invitation: Invitation,
    inviter: Member,
}

/// The invitation a token admits (or the one uniform refusal), provided its inviter may
/// still invite and still grant what it grants: an invitation gives no more than its
/// inviter may give now, so a departed or demoted inviter's invitations admit nobody.
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
        .filter(|inviter| {
            let held = roles.permissions_of(&inviter.effective_roles(&roles));
            held.contains(&Permission::InvitationsWrite) && held.is_superset(&granted)
        })
        .ok_or_else(|| {
            ApiError::conflict(
                "the person who invited you can no longer grant this access; ask the organization for a new invitation",
            )
        })?;
    Ok(Admitted { invitation, inviter })
}

/// The invitation a token admits, for an onboarding screen: no API key, the token is the
/// credential.
pub async fn validate(store: &Store, token: &str) -> ApiResult<Invitation> {
    admitted(store, token, store.clock().now())
        .await
        .map(|admitted| admitted.invitation)
}

/// Accepts an invitation: the token is the credential; a principal may come with it to
/// join the caller's own account. Creates the membership, grants the roles and marks
/// the invitation accepted, in one transaction: of two concurrent accepts, one commits.
/// Which account the membership belongs to is `model::account_linking`'s rule: a token
/// the inviter could see never joins an account that exists through another organization.
pub async fn accept(store: &Store, principal: Option<&Principal>, input: Acceptance) -> ApiResult<Member> {
    let now = store.clock().now();
    let Admitted {
        invitation: before,
        inviter,
    } = admitted(store, input.token.expose_secret(), now).await?;
    let display_name = match (input.display_name, &before.display_name) {
        (Some(name), _) => name,
        // An invitation made before names could not hold a link is checked again here: the
        // invitee then gives a name of their own.
        (None, Some(name)) => DisplayName::parse("displayName", name.as_str())?,
        (None, None) => {
            return Err(ApiError::validation(
                "displayName",
                "`displayName` is required: the invitation names none",
            ));
        }
    };
    let org = &before.organization_id;
    let proof = match principal {
        Some(principal) => IdentityProof::Account(principal.user().clone()),
        None if before.token_reached_only_the_mailbox() => IdentityProof::Mailbox,
        None => IdentityProof::OrganizationsWordOnly,
    };
    let accounts = store::members::accounts_with_email(store, before.email.as_str(), org).await?;
    let user_id = match account_for_new_membership(&proof, &accounts)? {
        AccountChoice::Join(user) => user,
        AccountChoice::New => UserId::new(),
    };
    let member = Member {
        user_id: user_id.clone(),
        organization_id: org.clone(),
        organization_name: before.organization_name.clone(),
        email: Email::parse("email", before.email.as_str())?,
        display_name,
        title: input.title,
        external_id: None,
        roles: before.roles.clone(),
        status: MemberStatus::Active,
        facility_ids: Vec::new(),
        group_ids: Vec::new(),
        profile: Default::default(),
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
    crate::operations::users::update_role_holders(&mut transaction, store, org, &user_id, &[], &member.roles)?;
    let accepted = Event::InvitationAccepted(InvitationAccepted {
        email: before.email.to_string(),
        user_id: user_id.clone(),
    });
    store::audit::record(&mut transaction, &actor, now, before.id.as_str(), &accepted)?;
    let created = Event::UserCreated(UserCreated {
        email: member.email.to_string(),
        display_name: Some(member.display_name.to_string()),
        roles: member.roles.clone(),
        invitation_id: Some(before.id.clone()),
        profile: Default::default(),
        suspended: None,
    });
    store::audit::record(&mut transaction, &actor, now, user_id.as_str(), &created)?;
    transaction.commit(store).await?;
    Ok(member)
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
pub async fn cancel(store: &Store, principal: &Principal, id: &InvitationId) -> ApiResult<Invitation> {
    principal.require(Permission::InvitationsWrite)?;
    let now = store.clock().now();
    let before = get_in_org(store, principal.org(), id).await?;
    match before.status {
        InvitationStatus::Cancelled => return Ok(before),
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
    after.cancelled_by = Some(principal.user().clone());
    after.updated_at = now;
    after.version += 1;
    let mut transaction = Transaction::new();
    store::invitations::put_updated(&mut transaction, &before, &after, now)?;
    let event = Event::InvitationCancelled(InvitationCancelled {
        email: before.email.to_string(),
        status_before: before.status_at(now),
    });
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(after)
}

/// Sends a pending or expired invitation again with a new token and expiry: the old link
/// stops working at once. Accepted and cancelled invitations are final (409).
pub async fn resend(
    store: &Store,
    outbox: &Outbox<'_>,
    principal: &Principal,
    id: &InvitationId,
) -> ApiResult<Invitation> {
    principal.require(Permission::InvitationsWrite)?;
    let now = store.clock().now();
    let before = get_in_org(store, principal.org(), id).await?;
    if matches!(before.status, InvitationStatus::Accepted | InvitationStatus::Cancelled) {
        return Err(ApiError::conflict(format!(
            "this invitation is {}; create a new one instead",
            before.status.as_str()
        )));
    }
    principal.require_can_grant(&before.roles)?;
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
    store::invitations::count_email(&mut transaction, principal.org(), now, cap)?;
    let event = Event::InvitationResent(InvitationResent {
        email: after.email.to_string(),
        expires_at: after.expires_at,
        send_count: after.send_count,
    });
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(after)
}
