//! The OpenAPI 3.1 description of the whole API, built from the route table and from the
//! request and response types themselves: utoipa derives each schema from the same serde
//! attributes that (de)serialise it, so a field renamed in Rust renames it here too.
//! `describe` matches every operation exhaustively, so a route added without its
//! description does not compile. `docs/openapi.json` is the output
//! (`cargo run -p raptor-shared --bin openapi > docs/openapi.json`); a test fails when the
//! committed file and the code differ.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, ServerBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use crate::error::ErrorBody;
use crate::ids::{
    ApiKeyId, CsmAssignmentId, EventId, EvidencePackageId, FacilityId, GroupId, InvitationId, OrgId,
    TrainingAssignmentId, TrainingModuleId, TrainingRequirementId, UserId, WebhookEndpointId,
};
use crate::model::audit::AuditEvent;
use crate::model::audit_digest::{AuditDigest, PublicKey, VerificationReport};
use crate::model::invitations::InvitationStatus;
use crate::model::roles::RoleRef;
use crate::model::training_assignments::TrainingStatus;
use crate::model::users::MemberStatus;
use crate::model::webhooks::DeliveryStatus;
use crate::permissions::Permission;
use crate::rest::api_keys::{ApiKeyView, CreateApiKey, CreatedApiKey};
use crate::rest::cip_senior_manager::{Correct, CsmAssignmentView, Designate};
use crate::rest::evidence_packages::{CreateEvidencePackage, EvidencePackageView};
use crate::rest::exports::ExportLink;
use crate::rest::facilities::{CreateFacility, FacilityView, UpdateFacility};
use crate::rest::groups::{AddGroupMembers, CreateGroup, GroupMembersAdded, GroupView, UpdateGroup};
use crate::rest::invitations::{
    AcceptInvitation, BatchResult, InvitationBatch, InvitationView, NewInvitation, ValidInvitation,
};
use crate::rest::roles::{CreateRole, RoleView, UpdateRole};
use crate::rest::training_assignments::{
    AssignmentFacilities, CompleteTrainingAssignment, CreateTrainingAssignment, ScopeFacilities,
    TrainingAssignmentView, UpdateTrainingAssignment, WaiveTrainingAssignment,
};
use crate::rest::training_export::ExportObject;
use crate::rest::training_modules::{CreateTrainingModule, TrainingModuleView, UpdateTrainingModule};
use crate::rest::training_requirements::{
    CreateTrainingRequirement, TrainingGapView, TrainingRequirementView, UpdateTrainingRequirement,
};
use crate::rest::training_status::TrainingStatusView;
use crate::rest::users::{
    AccessCheck, AssignRole, AuthorizeFacilities, CreateUser, MembershipView, RoleAssigned, RoleRemoved, UpdateUser,
    UserFacilities, UserView,
};
use crate::rest::users_export::UserExportObject;
use crate::rest::webhooks::{
    CreateWebhookEndpoint, RotateWebhookSecret, UpdateWebhookEndpoint, WebhookDeliveryView, WebhookEndpointView,
    WebhookEndpointWithSecret,
};
use crate::routes::{
    ApiKeysOperation as K, AuditEventsOperation as A, CipSeniorManagerOperation as C, FacilitiesOperation as F,
    GroupsOperation, InvitationsOperation as I, Operation, ROUTES, RolesOperation as R, Route, ScimOperation,
    TrainingAssignmentsOperation as T, TrainingModulesOperation as M, TrainingRequirementsOperation,
    UsersOperation as U, WebhooksOperation, XapiOperation,
};
use crate::scim;
use crate::time::{Date, Timestamp};

/// The committed document, as `GET /openapi.json` serves it.
pub const DOCUMENT: &str = include_str!("../../docs/openapi.json");

const API_KEY_SCHEME: &str = "ApiKey";
/// The xAPI door's other way in: HTTP Basic as LRS clients send it (docs/lms.md).
const LRS_BASIC_SCHEME: &str = "LrsBasic";
/// The SCIM door's: the API key as `Authorization: Bearer` (docs/scim.md).
const SCIM_BEARER_SCHEME: &str = "ScimBearer";
const ERROR: &str = "ErrorBody";

/// Collects the component schemas as operations name them.
struct Schemas {
    components: ComponentsBuilder,
}

impl Schemas {
    /// A reference to `T`, registering `T` and every schema it refers to.
    fn of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let mut nested = Vec::new();
        T::schemas(&mut nested);
        let components = std::mem::take(&mut self.components);
        self.components = components.schema(T::name(), T::schema()).schemas_from_iter(nested);
        Ref::from_schema_name(T::name()).into()
    }

    /// `{"data": [T…], "nextCursor": "…" | null}`, the envelope of every list.
    fn list_of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let item = self.of::<T>();
        ObjectBuilder::new()
            .property("data", ArrayBuilder::new().items(item))
            .required("data")
            .property(
                "nextCursor",
                ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                        Type::String,
                        Type::Null,
                    ]))
                    .description(Some("Pass as `cursor` for the next page; `null` on the last page.")),
            )
            .required("nextCursor")
            .into()
    }
}

/// What one operation takes and answers.
struct Description {
    summary: &'static str,
    request: Body,
    success: u16,
    /// The success answer's (first) content type: JSON, but for the export's CSV, the
    /// reference page and its script.
    content_type: &'static str,
    response: RefOr<Schema>,
    /// A second success, for an operation that answers in two shapes.
    other_success: Option<(u16, &'static str, RefOr<Schema>)>,
    /// A second content type of the success answer (the export's JSON beside its CSV).
    success_also: Option<(&'static str, RefOr<Schema>)>,
    /// Error statuses beyond the ones every operation can answer.
    more_errors: &'static [u16],
}

enum Body {
    None,
    Required(RefOr<Schema>),
    /// The body may be left out (an empty body reads as `{}`).
    Optional(RefOr<Schema>),
}

const WRITES: &[u16] = &[409];
const EMAILS: &[u16] = &[409, 429, 503];

/// An export: CSV, the default answer, is listed first: a generator that reads one content
/// type per status (openapi-python-client takes the first it knows) then parses the answer
/// a call without `format` gets, where JSON first made that call fail on the CSV.
fn export_description(summary: &'static str, row: RefOr<Schema>, schemas: &mut Schemas) -> Description {
    Description {
        summary,
        request: Body::None,
        success: 200,
        content_type: "text/csv",
        response: ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "RFC 4180 CSV with a header row; gzip with `Accept-Encoding: gzip` (`Content-Encoding: gzip`).",
            ))
            .into(),
        success_also: Some(("application/json", ArrayBuilder::new().items(row).into())),
        other_success: Some((
            303,
            "The file is too large for one response: it is in S3 at `Location` (a presigned link, 15 minutes), \
             which HTTP clients follow",
            schemas.of::<ExportLink>(),
        )),
        more_errors: &[503],
    }
}

fn describe(operation: Operation, schemas: &mut Schemas) -> Description {
    use Body::{None as NoBody, Required};
    let d = |summary, request, success, response, more_errors| Description {
        summary,
        request,
        success,
        content_type: "application/json",
        response,
        other_success: None,
        success_also: None,
        more_errors,
    };
    match operation {
        Operation::Users(U::ListUsers) => d(
            "List the organization's users",
            NoBody,
            200,
            schemas.list_of::<UserView>(),
            &[],
        ),
        Operation::Users(U::CreateUser) => d(
            "Create a user",
            Required(schemas.of::<CreateUser>()),
            201,
            schemas.of::<UserView>(),
            WRITES,
        ),
        Operation::Users(U::GetCurrentUser) => d(
            "The user the API key acts as",
            NoBody,
            200,
            schemas.of::<UserView>(),
            &[],
        ),
        Operation::Users(U::GetMyOrganizations) => d(
            "The organizations of the key's user account",
            NoBody,
            200,
            schemas.list_of::<MembershipView>(),
            &[],
        ),
        Operation::Users(U::CheckAccess) => d(
            "Whether the calling key holds a permission",
            NoBody,
            200,
            schemas.of::<AccessCheck>(),
            &[],
        ),
        Operation::Users(U::GetUser) => d("Get a user", NoBody, 200, schemas.of::<UserView>(), &[]),
        Operation::Users(U::UpdateUser) => d(
            "Change a user's profile, roles or status",
            Required(schemas.of::<UpdateUser>()),
            200,
            schemas.of::<UserView>(),
            WRITES,
        ),
        Operation::Users(U::ExportUsers) => export_description(
            "Export the filtered users, with their roles' names, as CSV (default) or JSON",
            schemas.of::<UserExportObject>(),
            schemas,
        ),
        Operation::Users(U::AssignRoleToUser) => d(
            "Give a user one role, keeping their others (the same rules as changing roles with PATCH)",
            Required(schemas.of::<AssignRole>()),
            200,
            schemas.of::<RoleAssigned>(),
            WRITES,
        ),
        Operation::Users(U::RemoveRoleFromUser) => d(
            "Take one role from a user, keeping their others (a role they do not hold is 404)",
            NoBody,
            200,
            schemas.of::<RoleRemoved>(),
            WRITES,
        ),
        Operation::Users(U::GetUserFacilities) => d(
            "The facilities a user is authorised for",
            NoBody,
            200,
            schemas.of::<UserFacilities>(),
            &[],
        ),
        Operation::Users(U::AddFacilitiesToUser) => d(
            "Authorise a user for more facilities, keeping those held (at most 30 in all)",
            Required(schemas.of::<AuthorizeFacilities>()),
            200,
            schemas.of::<UserFacilities>(),
            WRITES,
        ),
        Operation::Users(U::RemoveFacilityFromUser) => d(
            "Withdraw a user's authorisation for one facility (one not held is 404)",
            NoBody,
            200,
            schemas.of::<UserFacilities>(),
            WRITES,
        ),
        Operation::Users(U::DeleteUser) => d(
            "Delete a user (soft delete: the record stays)",
            NoBody,
            200,
            schemas.of::<UserView>(),
            WRITES,
        ),
        Operation::Users(U::GetOpenApiDocument) => d(
            "This document",
            NoBody,
            200,
            ObjectBuilder::new()
                .description(Some("An OpenAPI 3.1 document."))
                .into(),
            &[],
        ),
        Operation::Users(U::GetApiReference) => Description {
            content_type: "text/html",
            ..d(
                "The API reference: this document rendered for reading (Redoc; everything it loads comes from this API)",
                NoBody,
                200,
                string("An HTML page."),
                &[],
            )
        },
        Operation::Users(U::GetApiReferenceScript) => Description {
            content_type: "text/javascript",
            ..d(
                "The script of the API reference (Redoc, vendored; the version is in the path, so it is cached for a year)",
                NoBody,
                200,
                string("JavaScript."),
                &[],
            )
        },
        Operation::Roles(R::ListRoles) => d(
            "List system and custom roles",
            NoBody,
            200,
            schemas.list_of::<RoleView>(),
            &[],
        ),
        Operation::Roles(R::CreateRole) => d(
            "Create a custom role",
            Required(schemas.of::<CreateRole>()),
            201,
            schemas.of::<RoleView>(),
            WRITES,
        ),
        Operation::Roles(R::GetRole) => d("Get a role", NoBody, 200, schemas.of::<RoleView>(), &[]),
        Operation::Roles(R::UpdateRole) => d(
            "Change a custom role",
            Required(schemas.of::<UpdateRole>()),
            200,
            schemas.of::<RoleView>(),
            WRITES,
        ),
        Operation::Roles(R::DeleteRole) => d(
            "Delete a custom role no one holds",
            NoBody,
            200,
            schemas.of::<RoleView>(),
            WRITES,
        ),
        Operation::ApiKeys(K::ListApiKeys) => d("List API keys", NoBody, 200, schemas.list_of::<ApiKeyView>(), &[]),
        Operation::ApiKeys(K::CreateApiKey) => d(
            "Mint an API key (the secret is shown once)",
            Required(schemas.of::<CreateApiKey>()),
            201,
            schemas.of::<CreatedApiKey>(),
            WRITES,
        ),
        Operation::ApiKeys(K::RevokeApiKey) => d("Revoke an API key", NoBody, 200, schemas.of::<ApiKeyView>(), WRITES),
        Operation::AuditEvents(A::ListAuditEvents) => d(
            "The audit trail, newest first",
            NoBody,
            200,
            schemas.list_of::<AuditEvent>(),
            &[],
        ),
        Operation::AuditEvents(A::ListAuditDigests) => d(
            "The signed digests of the audit trail whose period ends in `from`–`to`, oldest first, at most 20 a page",
            NoBody,
            200,
            schemas.list_of::<AuditDigest>(),
            &[],
        ),
        Operation::AuditEvents(A::VerifyAuditEvents) => d(
            "Recompute the audit trail of `from`–`to` against its digests and their signatures",
            NoBody,
            200,
            schemas.of::<VerificationReport>(),
            &[],
        ),
        Operation::AuditEvents(A::GetAuditPublicKey) => d(
            "The public key that verifies the audit trail's digests",
            NoBody,
            200,
            schemas.of::<PublicKey>(),
            &[],
        ),
        Operation::AuditEvents(A::CreateEvidencePackage) => d(
            "Ask for an evidence package: populations as of `asOf`, a sample's records, the audit trail of `from`–`to`; built in the background",
            Required(schemas.of::<CreateEvidencePackage>()),
            202,
            schemas.of::<EvidencePackageView>(),
            WRITES,
        ),
        Operation::AuditEvents(A::ListEvidencePackages) => d(
            "The organization's evidence packages, newest first",
            NoBody,
            200,
            schemas.list_of::<EvidencePackageView>(),
            &[],
        ),
        Operation::AuditEvents(A::GetEvidencePackage) => d(
            "An evidence package: its status and, when ready, a 15-minute download link",
            NoBody,
            200,
            schemas.of::<EvidencePackageView>(),
            &[],
        ),
        Operation::CipSeniorManager(C::GetCurrentCipSeniorManager) => d(
            "The CIP Senior Manager designated today or on `asOf`",
            NoBody,
            200,
            schemas.of::<CsmAssignmentView>(),
            &[],
        ),
        Operation::CipSeniorManager(C::ListCipSeniorManagerAssignments) => d(
            "The designation history, newest first",
            NoBody,
            200,
            schemas.list_of::<CsmAssignmentView>(),
            &[],
        ),
        Operation::CipSeniorManager(C::CreateCipSeniorManagerAssignment) => d(
            "Designate the CIP Senior Manager (CIP-003 R3)",
            Required(schemas.of::<Designate>()),
            201,
            schemas.of::<CsmAssignmentView>(),
            WRITES,
        ),
        Operation::CipSeniorManager(C::GetCipSeniorManagerAssignment) => {
            d("Get a designation", NoBody, 200, schemas.of::<CsmAssignmentView>(), &[])
        }
        Operation::CipSeniorManager(C::UpdateCipSeniorManagerAssignment) => d(
            "Correct a designation's effective date or notes",
            Required(schemas.of::<Correct>()),
            200,
            schemas.of::<CsmAssignmentView>(),
            WRITES,
        ),
        Operation::Invitations(I::ListInvitations) => d(
            "List invitations, newest first",
            NoBody,
            200,
            schemas.list_of::<InvitationView>(),
            &[],
        ),
        Operation::Invitations(I::CreateInvitation) => {
            let one = schemas.of::<NewInvitation>();
            let batch = schemas.of::<InvitationBatch>();
            let created = schemas.of::<InvitationView>();
            let results = ObjectBuilder::new()
                .property("results", ArrayBuilder::new().items(schemas.of::<BatchResult>()))
                .required("results");
            Description {
                summary: "Invite one person (201), or a batch of up to 100 into one or more organizations (200 with a result per item; another organization needs a key issued there, sent after the first in X-API-Key, comma-separated)",
                request: Required(OneOfBuilder::new().item(one).item(batch).into()),
                success: 201,
                content_type: "application/json",
                response: created,
                other_success: Some((
                    200,
                    "Success (a batch: one result per item and organization)",
                    results.into(),
                )),
                success_also: None,
                more_errors: EMAILS,
            }
        }
        Operation::Invitations(I::ValidateInvitation) => d(
            "What a valid invitation token offers (no API key: the token is the credential)",
            NoBody,
            200,
            schemas.of::<ValidInvitation>(),
            &[429],
        ),
        Operation::Invitations(I::AcceptInvitation) => d(
            "Accept an invitation: a new account, or a membership of an existing account when the request proves control of it (an X-API-Key of that account, or a link that went only to its mailbox)",
            Required(schemas.of::<AcceptInvitation>()),
            201,
            schemas.of::<UserView>(),
            &[401, 403, 409, 429],
        ),
        Operation::Invitations(I::CancelInvitation) => d(
            "Cancel an invitation; its token stops working at once",
            NoBody,
            200,
            schemas.of::<InvitationView>(),
            WRITES,
        ),
        Operation::Invitations(I::ResendInvitation) => d(
            "Send the invitation again with a new token and expiry",
            NoBody,
            200,
            schemas.of::<InvitationView>(),
            EMAILS,
        ),
        Operation::Facilities(F::ListFacilities) => {
            d("List facilities", NoBody, 200, schemas.list_of::<FacilityView>(), &[])
        }
        Operation::Facilities(F::CreateFacility) => d(
            "Create a facility",
            Required(schemas.of::<CreateFacility>()),
            201,
            schemas.of::<FacilityView>(),
            WRITES,
        ),
        Operation::Facilities(F::ListFacilityMembers) => d(
            "List the people authorised for a facility (its access list), by user id",
            NoBody,
            200,
            schemas.list_of::<UserView>(),
            &[],
        ),
        Operation::Facilities(F::GetFacility) => d("Get a facility", NoBody, 200, schemas.of::<FacilityView>(), &[]),
        Operation::Facilities(F::UpdateFacility) => d(
            "Change a facility",
            Required(schemas.of::<UpdateFacility>()),
            200,
            schemas.of::<FacilityView>(),
            WRITES,
        ),
        Operation::Facilities(F::DeleteFacility) => d(
            "Delete a facility no open assignment is scoped to (soft delete)",
            NoBody,
            200,
            schemas.of::<FacilityView>(),
            WRITES,
        ),
        Operation::TrainingModules(M::GetTrainingModules) => d(
            "List training modules",
            NoBody,
            200,
            schemas.list_of::<TrainingModuleView>(),
            &[],
        ),
        Operation::TrainingModules(M::CreateTrainingModule) => d(
            "Create a training module",
            Required(schemas.of::<CreateTrainingModule>()),
            201,
            schemas.of::<TrainingModuleView>(),
            WRITES,
        ),
        Operation::TrainingModules(M::GetTrainingModule) => d(
            "Get a training module",
            NoBody,
            200,
            schemas.of::<TrainingModuleView>(),
            &[],
        ),
        Operation::TrainingModules(M::UpdateTrainingModule) => d(
            "Change a training module",
            Required(schemas.of::<UpdateTrainingModule>()),
            200,
            schemas.of::<TrainingModuleView>(),
            WRITES,
        ),
        Operation::TrainingModules(M::DeleteTrainingModule) => d(
            "Retire a training module with no open assignments",
            NoBody,
            200,
            schemas.of::<TrainingModuleView>(),
            WRITES,
        ),
        Operation::TrainingAssignments(operation) => describe_assignment(operation, schemas),
        Operation::Xapi(operation) => describe_xapi(operation),
        Operation::Webhooks(operation) => describe_webhooks(operation, schemas),
        Operation::TrainingRequirements(operation) => describe_training_requirements(operation, schemas),
        Operation::Groups(operation) => describe_groups(operation, schemas),
        // Described by `scim_operation`, in SCIM's media type and error shape; this only
        // keeps the match whole.
        Operation::Scim(_) => d("SCIM 2.0 (docs/scim.md)", NoBody, 200, ObjectBuilder::new().into(), &[]),
    }
}

fn describe_training_requirements(operation: TrainingRequirementsOperation, schemas: &mut Schemas) -> Description {
    use Body::{None as NoBody, Required};
    use TrainingRequirementsOperation as Q;
    let d = |summary, request, success, response, more_errors| Description {
        summary,
        request,
        success,
        content_type: "application/json",
        response,
        other_success: None,
        success_also: None,
        more_errors,
    };
    match operation {
        Q::ListTrainingRequirements => d(
            "List the organization's training requirements",
            NoBody,
            200,
            schemas.list_of::<TrainingRequirementView>(),
            &[],
        ),
        Q::CreateTrainingRequirement => d(
            "Declare who must take a module; the people it applies to are assigned it in the background",
            Required(schemas.of::<CreateTrainingRequirement>()),
            201,
            schemas.of::<TrainingRequirementView>(),
            WRITES,
        ),
        Q::GetTrainingRequirement => d(
            "Get a training requirement, with how far its backfill has gone",
            NoBody,
            200,
            schemas.of::<TrainingRequirementView>(),
            &[],
        ),
        Q::UpdateTrainingRequirement => d(
            "Change who a requirement applies to, its due days or `beforeAccess`; a widening backfills",
            Required(schemas.of::<UpdateTrainingRequirement>()),
            200,
            schemas.of::<TrainingRequirementView>(),
            WRITES,
        ),
        Q::DeleteTrainingRequirement => d(
            "Retire a training requirement; the assignments it made stay",
            NoBody,
            200,
            schemas.of::<TrainingRequirementView>(),
            WRITES,
        ),
        Q::ListTrainingGaps => d(
            "The people a requirement applies to who are not current for its module on a date, `beforeAccess` first",
            NoBody,
            200,
            schemas.list_of::<TrainingGapView>(),
            &[],
        ),
    }
}

/// A JSON operation's description: what most operations are.
fn json_operation(
    summary: &'static str,
    request: Body,
    success: u16,
    response: RefOr<Schema>,
    more_errors: &'static [u16],
) -> Description {
    Description {
        summary,
        request,
        success,
        content_type: "application/json",
        response,
        other_success: None,
        success_also: None,
        more_errors,
    }
}

fn describe_groups(operation: GroupsOperation, schemas: &mut Schemas) -> Description {
    use Body::{None as NoBody, Required};
    use GroupsOperation as G;
    let d = json_operation;
    match operation {
        G::ListGroups => d(
            "List the organization's groups",
            NoBody,
            200,
            schemas.list_of::<GroupView>(),
            &[],
        ),
        G::CreateGroup => d(
            "Create a group, with the roles it grants and its first members",
            Required(schemas.of::<CreateGroup>()),
            201,
            schemas.of::<GroupView>(),
            WRITES,
        ),
        G::GetGroup => d("Get a group", NoBody, 200, schemas.of::<GroupView>(), &[]),
        G::UpdateGroup => d(
            "Rename a group or change the roles it grants",
            Required(schemas.of::<UpdateGroup>()),
            200,
            schemas.of::<GroupView>(),
            WRITES,
        ),
        G::DeleteGroup => d(
            "Delete a group: its members stop holding its roles",
            NoBody,
            200,
            schemas.of::<GroupView>(),
            WRITES,
        ),
        G::ListGroupMembers => d(
            "List a group's members",
            NoBody,
            200,
            schemas.list_of::<UserView>(),
            &[],
        ),
        G::AddGroupMembers => d(
            "Add members to a group",
            Required(schemas.of::<AddGroupMembers>()),
            200,
            schemas.of::<GroupMembersAdded>(),
            WRITES,
        ),
        G::RemoveGroupMember => d(
            "Remove a member from a group",
            NoBody,
            200,
            schemas.of::<GroupView>(),
            WRITES,
        ),
    }
}

fn describe_webhooks(operation: WebhooksOperation, schemas: &mut Schemas) -> Description {
    use Body::{None as NoBody, Optional, Required};
    use WebhooksOperation as W;
    let d = |summary, request, success, response, more_errors| Description {
        summary,
        request,
        success,
        content_type: "application/json",
        response,
        other_success: None,
        success_also: None,
        more_errors,
    };
    match operation {
        W::ListWebhookEndpoints => d(
            "List the organization's webhook endpoints",
            NoBody,
            200,
            schemas.list_of::<WebhookEndpointView>(),
            &[],
        ),
        W::CreateWebhookEndpoint => d(
            "Register a webhook endpoint; its signing secret is in this answer only",
            Required(schemas.of::<CreateWebhookEndpoint>()),
            201,
            schemas.of::<WebhookEndpointWithSecret>(),
            WRITES,
        ),
        W::GetWebhookEndpoint => d(
            "Get a webhook endpoint",
            NoBody,
            200,
            schemas.of::<WebhookEndpointView>(),
            &[],
        ),
        W::UpdateWebhookEndpoint => d(
            "Change a webhook endpoint's URL, event types, description or whether it is enabled",
            Required(schemas.of::<UpdateWebhookEndpoint>()),
            200,
            schemas.of::<WebhookEndpointView>(),
            WRITES,
        ),
        W::DeleteWebhookEndpoint => d(
            "Delete a webhook endpoint: nothing more is delivered to it",
            NoBody,
            204,
            string("No content."),
            WRITES,
        ),
        W::RotateWebhookSecret => d(
            "Replace the signing secret; the current one keeps signing beside it for the overlap",
            Optional(schemas.of::<RotateWebhookSecret>()),
            200,
            schemas.of::<WebhookEndpointWithSecret>(),
            WRITES,
        ),
        W::ListWebhookDeliveries => d(
            "List an endpoint's deliveries, newest event first, with every attempt",
            NoBody,
            200,
            schemas.list_of::<WebhookDeliveryView>(),
            &[],
        ),
        W::ResendWebhookDelivery => d(
            "Queue a delivery again, with a new 3-day window of retries",
            NoBody,
            202,
            schemas.of::<WebhookDeliveryView>(),
            WRITES,
        ),
    }
}

/// The xAPI door speaks xAPI's own documents (`docs/lms.md`); their schemas are the
/// specification's, so the operations describe them in words.
fn describe_xapi(operation: XapiOperation) -> Description {
    let any =
        |description: &'static str| -> RefOr<Schema> { ObjectBuilder::new().description(Some(description)).into() };
    let d = |summary, request, success, response| Description {
        summary,
        request,
        success,
        content_type: "application/json",
        response,
        other_success: None,
        success_also: None,
        more_errors: WRITES,
    };
    match operation {
        XapiOperation::PostStatements => d(
            "Send xAPI statements: completions and attempts an LMS reports (docs/lms.md)",
            Body::Required(any("An xAPI 1.0.3 statement, or an array of 1 to 50 statements.")),
            200,
            ArrayBuilder::new()
                .items(string("The statement's id (a UUID), in the order sent."))
                .into(),
        ),
        XapiOperation::PutStatement => d(
            "Send one xAPI statement with the id given as `statementId`",
            Body::Required(any("An xAPI 1.0.3 statement.")),
            204,
            any("No content."),
        ),
        XapiOperation::GetAbout => d(
            "About this Learning Record Store: the xAPI versions it speaks",
            Body::None,
            200,
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "version",
                    ArrayBuilder::new().items(string("An xAPI version, e.g. `1.0.3`.")),
                )
                .required("version")
                .into(),
        ),
        XapiOperation::GetStatements => d(
            "One stored statement (`statementId`), or the statements that matched nothing (`unmatched=true`)",
            Body::None,
            200,
            any(
                "A statement, or an xAPI StatementResult (`statements`, `more`) with `outcomes`: what each \
                 statement did and why it matched nothing.",
            ),
        ),
    }
}

fn describe_assignment(operation: T, schemas: &mut Schemas) -> Description {
    use Body::{None as NoBody, Optional, Required};
    let assignment = schemas.of::<TrainingAssignmentView>();
    let scope = schemas.of::<AssignmentFacilities>();
    let d = |summary, request, response, more_errors| Description {
        summary,
        request,
        success: 200,
        content_type: "application/json",
        response,
        other_success: None,
        success_also: None,
        more_errors,
    };
    match operation {
        T::GetTrainingAssignments => d(
            "List training assignments, filtered and sorted",
            NoBody,
            schemas.list_of::<TrainingAssignmentView>(),
            &[],
        ),
        T::CreateTrainingAssignment => Description {
            success: 201,
            ..d(
                "Assign a training module to a person",
                Required(schemas.of::<CreateTrainingAssignment>()),
                assignment,
                WRITES,
            )
        },
        T::GetTrainingAssignment => d("Get a training assignment", NoBody, assignment, &[]),
        T::UpdateTrainingAssignment => d(
            "Change an open assignment's due date, module or notes",
            Required(schemas.of::<UpdateTrainingAssignment>()),
            assignment,
            WRITES,
        ),
        T::CompleteTrainingAssignment => d(
            "Record the completion (CIP-004 R2 evidence)",
            Optional(schemas.of::<CompleteTrainingAssignment>()),
            assignment,
            WRITES,
        ),
        T::DeleteTrainingAssignment => d("Delete an open assignment made by mistake", NoBody, assignment, WRITES),
        T::StartTrainingAssignment => d("The trainee opened the course", NoBody, assignment, WRITES),
        T::WaiveTrainingAssignment => d(
            "Waive an open assignment of someone else (needs training:waive; one's own is 403)",
            Required(schemas.of::<WaiveTrainingAssignment>()),
            assignment,
            WRITES,
        ),
        T::GetTrainingAssignmentFacilities => d("The facilities in the assignment's scope", NoBody, scope, &[]),
        T::AddFacilitiesToAssignment => d(
            "Add facilities to the assignment's scope",
            Required(schemas.of::<ScopeFacilities>()),
            scope,
            WRITES,
        ),
        T::RemoveFacilityFromAssignment => d("Remove a facility from the assignment's scope", NoBody, scope, WRITES),
        T::ExportTrainingAssignments => export_description(
            "Export the filtered assignments, with names, as CSV (default) or JSON",
            schemas.of::<ExportObject>(),
            schemas,
        ),
        T::GetUserTrainingStatus => d(
            "A person's CIP-004 standing per module on a date (training before access)",
            NoBody,
            schemas.of::<TrainingStatusView>(),
            &[],
        ),
    }
}

fn string(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .into()
}

fn enumeration(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// The schema of a path parameter: the id type of the resource the route serves.
fn path_parameter(route: &Route, name: &str) -> RefOr<Schema> {
    if name == "facilityId" {
        return FacilityId::schema();
    }
    if name == "roleId" {
        return RoleRef::schema();
    }
    if route.path.starts_with("/users/{id}") {
        return UserId::schema();
    }
    match route.operation {
        Operation::Users(_) => UserId::schema(),
        Operation::Roles(_) => RoleRef::schema(),
        Operation::ApiKeys(_) => ApiKeyId::schema(),
        Operation::CipSeniorManager(_) => CsmAssignmentId::schema(),
        Operation::Invitations(_) => InvitationId::schema(),
        Operation::Facilities(_) => FacilityId::schema(),
        Operation::TrainingModules(_) => TrainingModuleId::schema(),
        Operation::TrainingAssignments(_) => TrainingAssignmentId::schema(),
        Operation::AuditEvents(A::GetEvidencePackage) => EvidencePackageId::schema(),
        Operation::AuditEvents(_) => string("id"),
        Operation::Xapi(_) => string("id"),
        Operation::Webhooks(_) if name == "eventId" => EventId::schema(),
        Operation::Webhooks(_) => WebhookEndpointId::schema(),
        Operation::TrainingRequirements(_) => TrainingRequirementId::schema(),
        Operation::Groups(_) if name == "userId" => UserId::schema(),
        Operation::Groups(_) => GroupId::schema(),
        Operation::Scim(ScimOperation::GetResourceType) => enumeration(&["User", "Group"]),
        Operation::Scim(ScimOperation::GetSchema) => enumeration(&[
            scim::discovery::USER_SCHEMA,
            scim::discovery::ENTERPRISE_USER_SCHEMA,
            scim::discovery::GROUP_SCHEMA,
        ]),
        Operation::Scim(_) if route.path.starts_with("/scim/v2/Groups") => GroupId::schema(),
        Operation::Scim(_) => UserId::schema(),
    }
}

fn names<T: serde::Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .filter_map(|value| serde_json::to_value(value).ok())
        .filter_map(|value| value.as_str().map(str::to_string))
        .collect()
}

/// The schema of a query parameter, by its name (and, for `status`, the route's resource).
fn query_parameter(route: &Route, name: &str) -> RefOr<Schema> {
    match name {
        "limit" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(100))
            .default(Some(50.into()))
            .into(),
        "cursor" => string("The `nextCursor` of the previous page, for the same query."),
        "permission" => Permission::schema(),
        "role" => RoleRef::schema(),
        "userId" | "actorId" => UserId::schema(),
        "moduleId" => TrainingModuleId::schema(),
        "requirementId" => TrainingRequirementId::schema(),
        "facilityId" => FacilityId::schema(),
        "targetId" => string("The id of the record the events are about (`usr_…`, `ta_…`, …)."),
        "from" | "to" | "completedAfter" | "completedBefore" | "expiresBefore" => Timestamp::schema(),
        "asOf" | "dueBefore" => Date::schema(),
        "statementId" => ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(
                "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            ))
            .into(),
        "unmatched" => enumeration(&["true"]),
        "filter" => string(
            "A SCIM filter (RFC 7644 §3.4.2.2): `eq` on `userName`, `emails`, `externalId` or `id` (Users), \
             `displayName`, `externalId` or `id` (Groups), joined by `and` (docs/scim.md).",
        ),
        "startIndex" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some("1-based index of the first result; below 1 reads as 1."))
            .into(),
        "count" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some("Results per page, at most 200; below 0 reads as 0."))
            .into(),
        "attributes" | "excludedAttributes" => string("Attribute names, comma-separated (RFC 7644 §3.9)."),
        "format" => enumeration(&["csv", "json"]),
        "includeRetired" => ObjectBuilder::new().schema_type(Type::Boolean).into(),
        "email" => string("An email address, matched ignoring case."),
        "token" => string("The invitation token from the accept link."),
        "sort" => enumeration(&[
            "createdAt",
            "-createdAt",
            "dueDate",
            "-dueDate",
            "completedAt",
            "-completedAt",
            "expiresAt",
            "-expiresAt",
        ]),
        "status" => {
            let values = match route.operation {
                Operation::Users(_) => names(&[MemberStatus::Active, MemberStatus::Suspended, MemberStatus::Deleted]),
                Operation::Webhooks(_) => names(&DeliveryStatus::ALL),
                Operation::Invitations(_) => names(&[
                    InvitationStatus::Pending,
                    InvitationStatus::Accepted,
                    InvitationStatus::Cancelled,
                    InvitationStatus::Expired,
                ]),
                _ => names(&[
                    TrainingStatus::Assigned,
                    TrainingStatus::InProgress,
                    TrainingStatus::Complete,
                    TrainingStatus::Overdue,
                    TrainingStatus::Waived,
                ]),
            };
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            enumeration(&values)
        }
        _ => string(name),
    }
}

/// The error statuses, each a shared response of the document's components.
const ERROR_STATUSES: [u16; 8] = [400, 401, 403, 404, 409, 429, 500, 503];

fn error_response_name(status: u16) -> String {
    format!("Error{status}")
}

fn error_response(status: u16) -> utoipa::openapi::Response {
    let meaning = match status {
        400 => "validation_error: the request is malformed; `field` names the culprit",
        401 => "unauthenticated: no valid X-API-Key",
        403 => "forbidden: the key lacks the permission (named in `permission`) or the action",
        404 => "not_found: nothing with that id in the organization",
        409 => {
            "conflict: the change contradicts the stored state; idempotency_conflict: the Idempotency-Key was used for another request, or that request is still running"
        }
        429 => "rate_limited: a quota is used up; retry after `Retry-After` seconds",
        503 => {
            "unavailable: a service we depend on (DynamoDB, the email service, the file store) failed, throttled or timed out after our retries, or the work did not fit its time; nothing was left half done; retry after `Retry-After` seconds"
        }
        _ => "internal: an unexpected fault (logged with its details)",
    };
    described_error(meaning, "application/json", ERROR, matches!(status, 429 | 503))
}

/// An error response: what it means, its body's media type and schema, and whether it
/// says when to retry.
fn described_error(meaning: &str, media_type: &str, schema: &str, retry_after: bool) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new().description(meaning).content(
        media_type,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build(),
    );
    if retry_after {
        response = response.header(
            "Retry-After",
            utoipa::openapi::HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0))))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    response.build()
}

/// The path and query parameters of a route, each with its schema.
fn parameters(route: &Route, mut builder: OperationBuilder) -> OperationBuilder {
    for segment in route.path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(path_parameter(route, name))),
            );
        }
    }
    for name in route.query {
        let required = if *name == "token" || *name == "permission" {
            Required::True
        } else {
            Required::False
        };
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .required(required)
                .schema(Some(query_parameter(route, name))),
        );
    }
    builder
}

/// A JSON Schema written as JSON (SCIM's, `scim::openapi`), as utoipa holds one.
fn schema_of(value: serde_json::Value) -> RefOr<Schema> {
    serde_json::from_value(value).expect("SCIM's schemas are JSON Schema utoipa reads")
}

/// A SCIM operation: its bodies in `application/scim+json` (a request also in
/// `application/json`, which RFC 7644 §3.1 lets clients send), its errors in SCIM's shape,
/// and its key as a bearer token.
fn scim_operation(route: &Route, operation: ScimOperation) -> utoipa::openapi::path::Operation {
    let description = scim::openapi::describe(operation);
    let mut builder = OperationBuilder::new()
        .operation_id(Some(route.operation_id))
        .summary(Some(description.summary))
        .tag(route.operation.function().binary());
    builder = parameters(route, builder);
    if description.if_match {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name("If-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The resource's ETag (`meta.version`): the change applies only to that version, else `412`.",
                ))
                .schema(Some(string("An ETag, `W/\"<version>\"`, or `*`."))),
        );
    }
    if let Some(schema) = description.request {
        let schema = schema_of(schema);
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    scim::CONTENT_TYPE,
                    ContentBuilder::new().schema(Some(schema.clone())).build(),
                )
                .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
                .build(),
        ));
    }
    let mut success = ResponseBuilder::new().description("Success");
    if let Some(schema) = description.response {
        success = success.content(
            scim::CONTENT_TYPE,
            ContentBuilder::new().schema(Some(schema_of(schema))).build(),
        );
    }
    if description.success == 201 {
        success = success.header(
            "Location",
            utoipa::openapi::HeaderBuilder::new()
                .schema(Some(string("The created resource's URL.")))
                .build(),
        );
    }
    builder = builder.response(description.success.to_string(), success.build());
    let mut errors: Vec<u16> = if route.public {
        vec![404]
    } else {
        vec![400, 401, 403, 404]
    };
    errors.extend(description.more_errors);
    errors.extend([500, 503]);
    for status in errors {
        builder = builder.response(
            status.to_string(),
            Ref::new(format!("#/components/responses/{}", scim_error_response_name(status))),
        );
    }
    builder = if route.public {
        builder.securities(Some(Vec::<SecurityRequirement>::new()))
    } else {
        builder.securities(Some([SecurityRequirement::new(
            SCIM_BEARER_SCHEME,
            Vec::<String>::new(),
        )]))
    };
    builder.build()
}

/// The error statuses of SCIM's operations, each a shared response of the components.
const SCIM_ERROR_STATUSES: [u16; 8] = [400, 401, 403, 404, 409, 412, 500, 503];

fn scim_error_response_name(status: u16) -> String {
    format!("ScimError{status}")
}

fn scim_error_response(status: u16) -> utoipa::openapi::Response {
    let meaning = match status {
        400 => "invalidValue, invalidFilter, invalidPath, invalidSyntax, noTarget or mutability (`scimType`)",
        401 => "no valid `Authorization: Bearer <API key>`",
        403 => "the key lacks `users:read` or `users:write`, or the change needs a permission it does not hold",
        404 => "nothing with that id in the organization",
        409 => "uniqueness: the `userName` or `displayName` is taken; or our rules refuse the change (`detail`)",
        412 => "the resource is no longer at the version `If-Match` names",
        503 => "a service we depend on failed after our retries; nothing was left half done; retry after `Retry-After`",
        _ => "an unexpected fault (logged with its details)",
    };
    described_error(
        meaning,
        scim::CONTENT_TYPE,
        scim::openapi::ERROR_COMPONENT,
        status == 503,
    )
}

fn operation(route: &Route, schemas: &mut Schemas) -> utoipa::openapi::path::Operation {
    if let Operation::Scim(operation) = route.operation {
        return scim_operation(route, operation);
    }
    let description = describe(route.operation, schemas);
    let mut builder = OperationBuilder::new()
        .operation_id(Some(route.operation_id))
        .summary(Some(description.summary))
        .tag(route.operation.function().binary());
    builder = parameters(route, builder);
    if matches!(route.operation, Operation::Xapi(operation) if operation != XapiOperation::GetAbout) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name("X-Experience-API-Version")
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some("The xAPI version of the request: 1.0.0 to 1.0.3."))
                .schema(Some(enumeration(&["1.0.0", "1.0.1", "1.0.2", "1.0.3"]))),
        );
    }
    if route.method == "POST" && !route.idempotent_by_own_ids {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "A key of your choice (1-255 printable ASCII characters, space to `~`): a retry with the \
                     same key and the same request within 24 hours returns the first response and changes \
                     nothing (docs/idempotency.md).",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[\\x20-\\x7e]+$")),
                )),
        );
    }
    let body = match description.request {
        Body::None => None,
        Body::Required(schema) => Some((schema, true)),
        Body::Optional(schema) => Some((schema, false)),
    };
    if let Some((schema, required)) = body {
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(if required { Required::True } else { Required::False }))
                .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
                .build(),
        ));
    }
    let mut success = ResponseBuilder::new().description("Success");
    if description.success != 204 {
        success = success.content(
            description.content_type,
            ContentBuilder::new().schema(Some(description.response)).build(),
        );
    }
    if let Some((content_type, schema)) = description.success_also {
        success = success.content(content_type, ContentBuilder::new().schema(Some(schema)).build());
    }
    if route.method == "POST" && !route.idempotent_by_own_ids {
        success = success.header(
            "Idempotent-Replayed",
            utoipa::openapi::HeaderBuilder::new()
                .schema(Some(enumeration(&["true"])))
                .description(Some(
                    "Present on a replay of an earlier request with the same Idempotency-Key.",
                ))
                .build(),
        );
    }
    builder = builder.response(description.success.to_string(), success.build());
    if let Some((status, what, schema)) = description.other_success {
        builder = builder.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(what)
                .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
                .build(),
        );
    }
    let mut errors: Vec<u16> = if route.public {
        vec![400, 404]
    } else {
        vec![400, 401, 403, 404]
    };
    errors.extend(description.more_errors);
    // Every route reads or writes DynamoDB, which can throttle or fail past our retries.
    errors.push(500);
    if !errors.contains(&503) {
        errors.push(503);
    }
    for status in errors {
        builder = builder.response(
            status.to_string(),
            Ref::new(format!("#/components/responses/{}", error_response_name(status))),
        );
    }
    if route.public {
        // No API key: an empty requirement list overrides the document's default.
        builder = builder.securities(Some(Vec::<SecurityRequirement>::new()));
    } else if matches!(route.operation, Operation::Xapi(_)) {
        builder = builder.securities(Some([
            SecurityRequirement::new(API_KEY_SCHEME, Vec::<String>::new()),
            SecurityRequirement::new(LRS_BASIC_SCHEME, Vec::<String>::new()),
        ]));
    }
    builder.build()
}

fn method(route: &Route) -> HttpMethod {
    match route.method {
        "POST" => HttpMethod::Post,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "PUT" => HttpMethod::Put,
        _ => HttpMethod::Get,
    }
}

/// The document for every route of the route table.
pub fn document() -> OpenApi {
    let mut schemas = Schemas {
        components: ComponentsBuilder::new(),
    };
    schemas.of::<ErrorBody>();
    schemas.of::<OrgId>();
    let mut paths = PathsBuilder::new();
    for status in ERROR_STATUSES {
        let components = std::mem::take(&mut schemas.components);
        schemas.components = components.response(error_response_name(status), error_response(status));
    }
    for status in SCIM_ERROR_STATUSES {
        let components = std::mem::take(&mut schemas.components);
        schemas.components = components.response(scim_error_response_name(status), scim_error_response(status));
    }
    for (name, schema) in scim::openapi::components() {
        let components = std::mem::take(&mut schemas.components);
        schemas.components = components.schema(name, schema_of(schema));
    }
    for route in ROUTES.iter().filter(|route| !route.outside_openapi) {
        let item = utoipa::openapi::path::PathItem::new(method(route), operation(route, &mut schemas));
        paths = paths.path(route.path, item);
    }
    let components = schemas
        .components
        .security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key of a member of one organization; its scope is what the member holds.",
            ))),
        )
        .security_scheme(
            SCIM_BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The SCIM routes only: an API key as the bearer token, as identity directories send it \
                         (docs/scim.md); `X-API-Key` is refused there.",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            LRS_BASIC_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The xAPI routes only: the API key's id as the user name and the key as the password, \
                         as LRS clients are configured (docs/lms.md).",
                    ))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Raptor Comply API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "NERC CIP personnel compliance: organizations, users and roles, invitations, API keys, \
                     the audit trail, the CIP Senior Manager (CIP-003) and training records (CIP-004).",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new()
            .url("http://127.0.0.1:9000")
            .description(Some("scripts/run-local"))
            .build()]))
        .paths(paths.build())
        .components(Some(components))
        .security(Some([SecurityRequirement::new(API_KEY_SCHEME, Vec::<String>::new())]))
        .build()
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
