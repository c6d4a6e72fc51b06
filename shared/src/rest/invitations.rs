//! Invitations through the REST door: the bodies (one invitation, a batch item, an
//! acceptance), parsed into the commands' inputs with errors naming the JSON fields, and
//! the views (never the token's hash; the token itself only when no email carried it).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult, ErrorDetail};
use crate::ids::{InvitationId, OrgId, UserId};
use crate::model::invitations::{
    self, Acceptance, BatchItem, BatchOutcome, CreatedInvitation, Invitation, InvitationFilter, InvitationStatus,
    InvitationTerms,
};
use crate::model::principal::Principal;
use crate::model::roles::RolesDocument;
use crate::model::roles::{RoleRef, SystemRole};
use crate::model::secret_tokens::{self, SecretString};
use crate::model::users::{MAX_NAME_LENGTH, normalize_roles};
use crate::operations::invitations::{self as commands, Outbox};
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::rest::users::UserView;
use crate::store::Store;
use crate::time::Timestamp;
use crate::validation::{self, DisplayName, Email};

/// An invitation as the API shows it: never the token or its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: InvitationId,
    pub organization_id: OrgId,
    pub email: String,
    pub display_name: Option<String>,
    pub roles: Vec<RoleRef>,
    pub identity_provider: Option<String>,
    pub status: InvitationStatus,
    pub expires_at: Timestamp,
    pub email_sent: bool,
    pub send_count: u32,
    pub last_sent_at: Option<Timestamp>,
    pub invited_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub accepted_user_id: Option<UserId>,
    pub cancelled_at: Option<Timestamp>,
    pub cancelled_by: Option<UserId>,
    /// Only on creation with `"sendEmail": false`, for a custom onboarding flow.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "secret_tokens::serialize_exposed_option"
    )]
    #[schema(value_type = Option<String>)]
    pub token: Option<SecretString>,
}

impl InvitationView {
    /// The invitation with the status a reader sees at `now` (a pending one past its
    /// expiry reads as expired).
    pub fn of(invitation: &Invitation, now: Timestamp) -> Self {
        InvitationView {
            id: invitation.id.clone(),
            organization_id: invitation.organization_id.clone(),
            email: invitation.email.to_string(),
            display_name: invitation.display_name.as_ref().map(DisplayName::to_string),
            roles: invitation.roles.clone(),
            identity_provider: invitation.identity_provider.clone(),
            status: invitation.status_at(now),
            expires_at: invitation.expires_at,
            email_sent: invitation.email_sent,
            send_count: invitation.send_count,
            last_sent_at: invitation.last_sent_at,
            invited_by: invitation.invited_by.clone(),
            created_at: invitation.created_at,
            updated_at: invitation.updated_at,
            accepted_at: invitation.accepted_at,
            accepted_user_id: invitation.accepted_user_id.clone(),
            cancelled_at: invitation.cancelled_at,
            cancelled_by: invitation.cancelled_by.clone(),
            token: None,
        }
    }

    /// A new invitation, with its token when the command returned one.
    pub fn created(created: CreatedInvitation, now: Timestamp) -> Self {
        InvitationView {
            token: created.token,
            ..InvitationView::of(&created.invitation, now)
        }
    }
}

/// What `GET /invitations/validate` tells the person holding a valid token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidInvitation {
    pub organization_id: OrgId,
    pub organization_name: String,
    pub email: String,
    pub display_name: Option<String>,
    pub roles: Vec<RoleRef>,
    pub identity_provider: Option<String>,
    pub expires_at: Timestamp,
}

impl ValidInvitation {
    pub fn of(invitation: &Invitation) -> Self {
        ValidInvitation {
            organization_id: invitation.organization_id.clone(),
            organization_name: invitation.organization_name.clone(),
            email: invitation.email.to_string(),
            display_name: invitation.display_name.as_ref().map(DisplayName::to_string),
            roles: invitation.roles.clone(),
            identity_provider: invitation.identity_provider.clone(),
            expires_at: invitation.expires_at,
        }
    }
}

/// One invitation to create (`POST /invitations`, alone or as an item of a batch).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewInvitation {
    pub email: String,
    pub display_name: Option<String>,
    /// Defaults to `["viewer"]`.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub roles: Option<Vec<RoleRef>>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub expires_in_days: Option<u32>,
    pub identity_provider: Option<String>,
    /// `false`: no email; the response carries the token (needs `users:write` too).
    #[serde(default, deserialize_with = "patch::not_null")]
    pub send_email: Option<bool>,
    /// Batch items only; by default the caller's organization.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub organization_ids: Option<Vec<OrgId>>,
}

/// `{"invitations": [...]}`: up to `MAX_BATCH` items (seed 002).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvitationBatch {
    pub invitations: Vec<NewInvitation>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptInvitation {
    #[schema(value_type = String)]
    pub token: SecretString,
    /// Required unless the invitation names one.
    pub display_name: Option<String>,
    pub title: Option<String>,
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
    pub fn of(outcome: BatchOutcome, now: Timestamp) -> Self {
        let (status, invitation, error) = match outcome.result {
            Ok(created) => (201, Some(InvitationView::created(created, now)), None),
            Err(error) => (error.status(), None, Some(error.body().error)),
        };
        BatchResult {
            index: outcome.index,
            organization_id: outcome.organization_id,
            email: outcome.email.map(|email| email.to_string()),
            status,
            invitation,
            error,
        }
    }
}

impl NewInvitation {
    /// The terms of one invitation into the caller's organization.
    pub fn parse(self) -> ApiResult<InvitationTerms> {
        if self.organization_ids.is_some() {
            return Err(ApiError::validation(
                "organizationIds",
                "`organizationIds` belongs to batch items: send {\"invitations\": [...]}",
            ));
        }
        self.terms()
    }

    /// A batch item: its terms, and the organizations it names (the caller's, `home`, by
    /// default), each once, in order.
    pub fn parse_item(self, home: &OrgId) -> ApiResult<BatchItem> {
        let terms = self.terms()?;
        let named = self.organization_ids.unwrap_or_else(|| vec![home.clone()]);
        if named.is_empty() {
            return Err(ApiError::validation(
                "organizationIds",
                "`organizationIds` must name at least one organization (leave it out for your own)",
            ));
        }
        let mut organizations: Vec<OrgId> = Vec::with_capacity(named.len());
        for organization in named {
            if !organizations.contains(&organization) {
                organizations.push(organization);
            }
        }
        Ok(BatchItem { terms, organizations })
    }

    /// The first invalid field is the error, in this order: `expiresInDays`, `roles`,
    /// `email`, `displayName`, `identityProvider`.
    fn terms(&self) -> ApiResult<InvitationTerms> {
        let expires_in_days = invitations::expires_in_days("expiresInDays", self.expires_in_days)?;
        let roles = normalize_roles(
            self.roles
                .clone()
                .unwrap_or_else(|| vec![RoleRef::System(SystemRole::Viewer)]),
        )?;
        Ok(InvitationTerms {
            email: Email::parse("email", &self.email)?,
            display_name: self
                .display_name
                .as_deref()
                .map(|name| DisplayName::parse("displayName", name))
                .transpose()?,
            roles,
            expires_in_days,
            identity_provider: self
                .identity_provider
                .as_deref()
                .map(|slug| invitations::identity_provider("identityProvider", slug))
                .transpose()?,
            send_email: self.send_email.unwrap_or(true),
        })
    }
}

impl AcceptInvitation {
    pub fn parse(self) -> ApiResult<Acceptance> {
        Ok(Acceptance {
            token: self.token,
            display_name: self
                .display_name
                .as_deref()
                .map(|name| DisplayName::parse("displayName", name))
                .transpose()?,
            title: validation::optional_one_line_text("title", self.title.as_deref(), MAX_NAME_LENGTH)?,
        })
    }
}

/// `POST /invitations` with one invitation. The permission is checked before the body's
/// fields, as the command would, so a caller without it learns nothing from validation
/// errors.
pub async fn create(
    store: &Store,
    outbox: &Outbox<'_>,
    principal: &Principal,
    body: NewInvitation,
) -> ApiResult<InvitationView> {
    principal.require(Permission::InvitationsWrite)?;
    let created = commands::create_one(store, outbox, principal, body.parse()?).await?;
    Ok(InvitationView::created(created, store.clock().now()))
}

/// `POST /invitations` with `{"invitations": [...]}`. An item that is not a valid
/// invitation gets its own 400 result, its fields named under `invitations[i]`; the
/// batch goes on without it.
pub async fn create_batch(
    store: &Store,
    outbox: &Outbox<'_>,
    principal: &Principal,
    keys_elsewhere: &[Principal],
    items: Vec<Value>,
) -> ApiResult<Vec<BatchResult>> {
    principal.require(Permission::InvitationsWrite)?;
    let items = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            crate::json::from_value::<NewInvitation>(item)
                .and_then(|body| body.parse_item(principal.org()))
                .map_err(|error| prefix_field(error, &format!("invitations[{index}]")))
        })
        .collect();
    let outcomes = commands::create_batch(store, outbox, principal, keys_elsewhere, items).await?;
    let now = store.clock().now();
    Ok(outcomes
        .into_iter()
        .map(|outcome| BatchResult::of(outcome, now))
        .collect())
}

fn prefix_field(error: ApiError, prefix: &str) -> ApiError {
    match error {
        ApiError::Validation { field, message } => ApiError::validation(format!("{prefix}.{field}"), message),
        other => other,
    }
}

pub async fn list(
    store: &Store,
    principal: &Principal,
    filter: &InvitationFilter,
    page: &PageRequest,
) -> ApiResult<ListPage<InvitationView>> {
    let page = commands::list_invitations(store, principal, filter, page).await?;
    let now = store.clock().now();
    Ok(ListPage {
        data: page
            .data
            .iter()
            .map(|invitation| InvitationView::of(invitation, now))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// `GET /invitations/validate?token=…`: no API key; what an onboarding screen shows.
pub async fn validate(store: &Store, token: Option<&str>) -> ApiResult<ValidInvitation> {
    let token = token.ok_or_else(|| ApiError::validation("token", "`token` is required"))?;
    let invitation = commands::validate(store, token).await?;
    Ok(ValidInvitation::of(&invitation))
}

/// `POST /invitations/accept`: the new membership as a user.
pub async fn accept(store: &Store, principal: Option<&Principal>, body: AcceptInvitation) -> ApiResult<UserView> {
    let member = commands::accept(store, principal, body.parse()?).await?;
    // A membership just made belongs to no group: its roles are its own, whichever
    // organization's document is at hand (the principal's may be another's).
    Ok(UserView::of(&member, &RolesDocument::default()))
}

pub async fn cancel(store: &Store, principal: &Principal, id: &InvitationId) -> ApiResult<InvitationView> {
    let invitation = commands::cancel(store, principal, id).await?;
    Ok(InvitationView::of(&invitation, store.clock().now()))
}

pub async fn resend(
    store: &Store,
    outbox: &Outbox<'_>,
    principal: &Principal,
    id: &InvitationId,
) -> ApiResult<InvitationView> {
    let invitation = commands::resend(store, outbox, principal, id).await?;
    Ok(InvitationView::of(&invitation, store.clock().now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::invitations::new_invitation;
    use crate::model::secret_tokens::ExposeSecret;
    use serde_json::json;

    fn body(fields: Value) -> NewInvitation {
        serde_json::from_value(fields).unwrap()
    }

    fn field_of(result: ApiResult<impl std::fmt::Debug>) -> String {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn an_invitation_token_is_in_the_view_json_and_never_in_its_debug_text() {
        let now = Timestamp::parse("t", "2025-04-10T12:00:00Z").unwrap();
        let terms = body(json!({ "email": "new@utility.example" })).parse().unwrap();
        let (invitation, token) =
            new_invitation(&terms, (&OrgId::new(), "Utility"), (&UserId::new(), "Ada"), now).unwrap();
        let exposed = token.expose_secret().to_string();
        let view = InvitationView::created(
            CreatedInvitation {
                invitation,
                token: Some(token),
            },
            now,
        );
        let debug = format!("{view:?}");
        assert!(!debug.contains(&exposed), "{debug}");
        assert_eq!(serde_json::to_value(&view).unwrap()["token"], exposed.as_str());
        let accept: AcceptInvitation = serde_json::from_value(json!({ "token": exposed, "displayName": "A" })).unwrap();
        assert!(!format!("{accept:?}").contains(&exposed));
        assert_eq!(accept.token.expose_secret(), exposed);
    }

    #[test]
    fn terms_default_to_a_viewer_for_seven_days_and_refuse_bad_values() {
        let terms = body(json!({ "email": " New@Utility.example " })).parse().unwrap();
        assert_eq!(terms.email.as_str(), "New@Utility.example");
        assert_eq!(terms.expires_in_days, 7);
        assert_eq!(terms.roles, vec![RoleRef::System(SystemRole::Viewer)]);
        assert!(terms.send_email);
        for days in [0, 31] {
            let refused = body(json!({ "email": "a@utility.example", "expiresInDays": days })).parse();
            assert_eq!(field_of(refused), "expiresInDays");
        }
        let refused = body(json!({ "email": "a@utility.example", "identityProvider": "https://evil.example" })).parse();
        assert_eq!(field_of(refused), "identityProvider");
        // The first invalid field, in the order the terms are read.
        let refused = body(json!({ "email": "nope", "displayName": "x://y", "expiresInDays": 0 })).parse();
        assert_eq!(field_of(refused), "expiresInDays");
        let refused = body(json!({ "email": "nope", "displayName": "x://y" })).parse();
        assert_eq!(field_of(refused), "email");
    }

    #[test]
    fn organizations_belong_to_batch_items_which_name_each_once_and_the_callers_by_default() {
        let home = OrgId::new();
        let other = OrgId::new();
        let one = body(json!({ "email": "a@utility.example", "organizationIds": [home] }));
        assert_eq!(field_of(one.clone().parse()), "organizationIds");
        let item = one.parse_item(&other).unwrap();
        assert_eq!(item.organizations, vec![home.clone()]);
        let item = body(json!({ "email": "a@utility.example" })).parse_item(&home).unwrap();
        assert_eq!(item.organizations, vec![home.clone()]);
        let item = body(json!({ "email": "a@utility.example", "organizationIds": [other, home, other] }))
            .parse_item(&home)
            .unwrap();
        assert_eq!(item.organizations, vec![other.clone(), home.clone()]);
        let none = body(json!({ "email": "a@utility.example", "organizationIds": [] })).parse_item(&home);
        assert_eq!(field_of(none), "organizationIds");
        // A bad field is reported before an empty list of organizations.
        let both = body(json!({ "email": "nope", "organizationIds": [] })).parse_item(&home);
        assert_eq!(field_of(both), "email");
    }
}
