//! The route table: the one list of every HTTP route, the Lambda function that serves it
//! and the operation it runs. `infra/template.yaml` and the `cargo lambda watch` router in
//! `Cargo.toml` must agree with it (a test checks), and each function dispatches from it,
//! so a route behaves the same under API Gateway, a function URL and `cargo lambda watch`.

use std::collections::HashMap;

use lambda_http::Request;

use crate::api_reference;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, QueryParams};

/// One Lambda function per resource group; `binary` is its cargo binary name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Users,
    Roles,
    ApiKeys,
    AuditEvents,
    CipSeniorManager,
    Invitations,
    Facilities,
    TrainingModules,
    TrainingAssignments,
    Xapi,
    Webhooks,
    TrainingRequirements,
    Groups,
    Scim,
}

impl Function {
    pub const ALL: [Function; 14] = [
        Function::Users,
        Function::Roles,
        Function::ApiKeys,
        Function::AuditEvents,
        Function::CipSeniorManager,
        Function::Invitations,
        Function::Facilities,
        Function::TrainingModules,
        Function::TrainingAssignments,
        Function::Xapi,
        Function::Webhooks,
        Function::TrainingRequirements,
        Function::Groups,
        Function::Scim,
    ];

    pub fn binary(self) -> &'static str {
        match self {
            Function::Users => "users",
            Function::Roles => "roles",
            Function::ApiKeys => "api-keys",
            Function::AuditEvents => "audit-events",
            Function::CipSeniorManager => "cip-senior-manager",
            Function::Invitations => "invitations",
            Function::Facilities => "facilities",
            Function::TrainingModules => "training-modules",
            Function::TrainingAssignments => "training-assignments",
            Function::Xapi => "xapi",
            Function::Webhooks => "webhooks",
            Function::TrainingRequirements => "training-requirements",
            Function::Groups => "groups",
            Function::Scim => "scim",
        }
    }

    /// The function's logical id in `infra/template.yaml`.
    pub fn template_resource(self) -> &'static str {
        match self {
            Function::Users => "UsersFunction",
            Function::Roles => "RolesFunction",
            Function::ApiKeys => "ApiKeysFunction",
            Function::AuditEvents => "AuditEventsFunction",
            Function::CipSeniorManager => "CipSeniorManagerFunction",
            Function::Invitations => "InvitationsFunction",
            Function::Facilities => "FacilitiesFunction",
            Function::TrainingModules => "TrainingModulesFunction",
            Function::TrainingAssignments => "TrainingAssignmentsFunction",
            Function::Xapi => "XapiFunction",
            Function::Webhooks => "WebhooksFunction",
            Function::TrainingRequirements => "TrainingRequirementsFunction",
            Function::Groups => "GroupsFunction",
            Function::Scim => "ScimFunction",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersOperation {
    ListUsers,
    CreateUser,
    GetCurrentUser,
    GetMyOrganizations,
    GetOpenApiDocument,
    GetApiReference,
    GetApiReferenceScript,
    CheckAccess,
    GetUser,
    UpdateUser,
    DeleteUser,
    ExportUsers,
    AssignRoleToUser,
    RemoveRoleFromUser,
    GetUserFacilities,
    AddFacilitiesToUser,
    RemoveFacilityFromUser,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolesOperation {
    ListRoles,
    CreateRole,
    GetRole,
    UpdateRole,
    DeleteRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeysOperation {
    ListApiKeys,
    CreateApiKey,
    RevokeApiKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEventsOperation {
    ListAuditEvents,
    ListAuditDigests,
    VerifyAuditEvents,
    GetAuditPublicKey,
    CreateEvidencePackage,
    ListEvidencePackages,
    GetEvidencePackage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipSeniorManagerOperation {
    GetCurrentCipSeniorManager,
    ListCipSeniorManagerAssignments,
    CreateCipSeniorManagerAssignment,
    GetCipSeniorManagerAssignment,
    UpdateCipSeniorManagerAssignment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationsOperation {
    ListInvitations,
    CreateInvitation,
    ValidateInvitation,
    AcceptInvitation,
    CancelInvitation,
    ResendInvitation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacilitiesOperation {
    ListFacilities,
    CreateFacility,
    GetFacility,
    UpdateFacility,
    DeleteFacility,
    ListFacilityMembers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingModulesOperation {
    GetTrainingModules,
    CreateTrainingModule,
    GetTrainingModule,
    UpdateTrainingModule,
    DeleteTrainingModule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingAssignmentsOperation {
    GetTrainingAssignments,
    CreateTrainingAssignment,
    GetTrainingAssignment,
    UpdateTrainingAssignment,
    CompleteTrainingAssignment,
    DeleteTrainingAssignment,
    StartTrainingAssignment,
    WaiveTrainingAssignment,
    GetTrainingAssignmentFacilities,
    AddFacilitiesToAssignment,
    RemoveFacilityFromAssignment,
    GetUserTrainingStatus,
    ExportTrainingAssignments,
}

/// The xAPI door: statements an LMS sends as to a Learning Record Store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XapiOperation {
    PostStatements,
    PutStatement,
    GetStatements,
    GetAbout,
}

/// Webhook endpoints and their deliveries (docs/webhooks.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhooksOperation {
    ListWebhookEndpoints,
    CreateWebhookEndpoint,
    GetWebhookEndpoint,
    UpdateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RotateWebhookSecret,
    ListWebhookDeliveries,
    ResendWebhookDelivery,
}

/// Training requirements and their gaps (docs/training-requirements.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingRequirementsOperation {
    ListTrainingRequirements,
    CreateTrainingRequirement,
    GetTrainingRequirement,
    UpdateTrainingRequirement,
    DeleteTrainingRequirement,
    ListTrainingGaps,
}

/// Groups of members that carry roles (docs/groups.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupsOperation {
    ListGroups,
    CreateGroup,
    GetGroup,
    UpdateGroup,
    DeleteGroup,
    ListGroupMembers,
    AddGroupMembers,
    RemoveGroupMember,
}

/// SCIM 2.0 provisioning (docs/scim.md): RFC 7644's endpoints under `/scim/v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimOperation {
    GetServiceProviderConfig,
    ListResourceTypes,
    GetResourceType,
    ListSchemas,
    GetSchema,
    ListUsers,
    CreateUser,
    GetUser,
    ReplaceUser,
    PatchUser,
    DeleteUser,
    ListGroups,
    CreateGroup,
    GetGroup,
    ReplaceGroup,
    PatchGroup,
    DeleteGroup,
    /// Any other method or path under `/scim/v2`: answered in SCIM's error shape (`404`,
    /// `405` with `Allow`, or `501` for what SCIM defines and we do not serve).
    NotServed,
}

/// Each function's operations are their own enum, so its dispatch `match` is exhaustive:
/// a route added here without a handler does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Users(UsersOperation),
    Roles(RolesOperation),
    ApiKeys(ApiKeysOperation),
    AuditEvents(AuditEventsOperation),
    CipSeniorManager(CipSeniorManagerOperation),
    Invitations(InvitationsOperation),
    Facilities(FacilitiesOperation),
    TrainingModules(TrainingModulesOperation),
    TrainingAssignments(TrainingAssignmentsOperation),
    Xapi(XapiOperation),
    Webhooks(WebhooksOperation),
    TrainingRequirements(TrainingRequirementsOperation),
    Groups(GroupsOperation),
    Scim(ScimOperation),
}

impl Operation {
    pub fn function(self) -> Function {
        match self {
            Operation::Users(_) => Function::Users,
            Operation::Roles(_) => Function::Roles,
            Operation::ApiKeys(_) => Function::ApiKeys,
            Operation::AuditEvents(_) => Function::AuditEvents,
            Operation::CipSeniorManager(_) => Function::CipSeniorManager,
            Operation::Invitations(_) => Function::Invitations,
            Operation::Facilities(_) => Function::Facilities,
            Operation::TrainingModules(_) => Function::TrainingModules,
            Operation::TrainingAssignments(_) => Function::TrainingAssignments,
            Operation::Xapi(_) => Function::Xapi,
            Operation::Webhooks(_) => Function::Webhooks,
            Operation::TrainingRequirements(_) => Function::TrainingRequirements,
            Operation::Groups(_) => Function::Groups,
            Operation::Scim(_) => Function::Scim,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway syntax: `{name}` is a path parameter.
    pub path: &'static str,
    /// The operation name of our API documents (seed 000), e.g. `listUsers`.
    pub operation_id: &'static str,
    pub operation: Operation,
    /// The query parameters the operation reads; any other is refused, so a typo or a
    /// parameter another API has (`?dryRun=true`) never silently does nothing.
    pub query: &'static [&'static str],
    /// Served without an API key (the invitee has none); throttled in the template.
    pub public: bool,
    /// A POST made idempotent by what the request itself carries (xAPI statement ids;
    /// SCIM's `userName` and `displayName`, unique in the organization, so a retried create
    /// is a `409 uniqueness` a directory resolves by a lookup), so it takes no
    /// `Idempotency-Key`.
    pub idempotent_by_own_ids: bool,
    /// A route OpenAPI cannot describe (API Gateway's `ANY` with a greedy `{proxy+}`), so
    /// it is not in the OpenAPI document.
    pub outside_openapi: bool,
}

const fn route(method: &'static str, path: &'static str, operation_id: &'static str, operation: Operation) -> Route {
    Route {
        method,
        path,
        operation_id,
        operation,
        query: &[],
        public: false,
        idempotent_by_own_ids: false,
        outside_openapi: false,
    }
}

impl Route {
    const fn with_query(mut self, query: &'static [&'static str]) -> Route {
        self.query = query;
        self
    }

    const fn public(mut self) -> Route {
        self.public = true;
        self
    }

    const fn idempotent_by_own_ids(mut self) -> Route {
        self.idempotent_by_own_ids = true;
        self
    }

    const fn outside_openapi(mut self) -> Route {
        self.outside_openapi = true;
        self
    }
}

/// What every list takes.
const PAGE: &[&str] = &["limit", "cursor"];

use ApiKeysOperation as K;
use AuditEventsOperation as A;
use CipSeniorManagerOperation as C;
use FacilitiesOperation as F;
use GroupsOperation as G;
use InvitationsOperation as I;
use Operation::{
    ApiKeys, AuditEvents, CipSeniorManager, Facilities, Groups, Invitations, Roles, Scim, TrainingAssignments,
    TrainingModules, TrainingRequirements, Users, Webhooks, Xapi,
};
use RolesOperation as R;
use ScimOperation as S;
use TrainingAssignmentsOperation as T;
use TrainingModulesOperation as M;
use TrainingRequirementsOperation as Q;
use UsersOperation as U;
use WebhooksOperation as W;
use XapiOperation as X;

/// The filters and sort of `GET /training-assignments`, which the export takes too.
const ASSIGNMENT_FILTERS: [&str; 9] = [
    "userId",
    "moduleId",
    "facilityId",
    "status",
    "completedAfter",
    "completedBefore",
    "dueBefore",
    "expiresBefore",
    "sort",
];

/// The filters and then `extra`; `M` must be their count (checked when compiled).
const fn with_extra<const N: usize, const M: usize>(extra: [&'static str; N]) -> [&'static str; M] {
    assert!(M == ASSIGNMENT_FILTERS.len() + N);
    let mut all = [""; M];
    let mut index = 0;
    while index < M {
        all[index] = if index < ASSIGNMENT_FILTERS.len() {
            ASSIGNMENT_FILTERS[index]
        } else {
            extra[index - ASSIGNMENT_FILTERS.len()]
        };
        index += 1;
    }
    all
}

static ASSIGNMENT_LIST_QUERY: [&str; 11] = with_extra(["limit", "cursor"]);
static ASSIGNMENT_EXPORT_QUERY: [&str; 10] = with_extra(["format"]);

pub static ROUTES: &[Route] = &[
    route("GET", "/users", "listUsers", Users(U::ListUsers)).with_query(&["status", "role", "limit", "cursor"]),
    route("POST", "/users", "createUser", Users(U::CreateUser)),
    route("GET", "/users/me", "getCurrentUser", Users(U::GetCurrentUser)),
    route(
        "GET",
        "/users/me/organizations",
        "getMyOrganizations",
        Users(U::GetMyOrganizations),
    ),
    route("GET", "/users/me/check-access", "checkAccess", Users(U::CheckAccess)).with_query(&["permission"]),
    route("GET", "/users/{id}", "getUser", Users(U::GetUser)),
    // Seed 003's "export users": the list's filters, one file (docs/users.md).
    route("GET", "/users/export", "exportUsers", Users(U::ExportUsers)).with_query(&["status", "role", "format"]),
    // The OpenAPI document of this API (docs/openapi.json); no key, as a client generator has none.
    route(
        "GET",
        "/openapi.json",
        "getOpenApiDocument",
        Users(U::GetOpenApiDocument),
    )
    .public(),
    // The reference page that renders that document, and its script (Redoc, vendored): public
    // like the document, and nothing on the page comes from another host.
    route("GET", "/docs", "getApiReference", Users(U::GetApiReference)).public(),
    route(
        "GET",
        api_reference::SCRIPT_PATH,
        "getApiReferenceScript",
        Users(U::GetApiReferenceScript),
    )
    .public(),
    route("PATCH", "/users/{id}", "updateUser", Users(U::UpdateUser)),
    route("DELETE", "/users/{id}", "deleteUser", Users(U::DeleteUser)),
    // Seed 004's role assignment: one role given or taken, the others kept.
    route(
        "POST",
        "/users/{id}/roles",
        "assignRoleToUser",
        Users(U::AssignRoleToUser),
    ),
    route(
        "DELETE",
        "/users/{id}/roles/{roleId}",
        "removeRoleFromUser",
        Users(U::RemoveRoleFromUser),
    ),
    // The facilities a person is authorised for (CIP-004 R4), as an assignment's scope.
    route(
        "GET",
        "/users/{id}/facilities",
        "getUserFacilities",
        Users(U::GetUserFacilities),
    ),
    route(
        "POST",
        "/users/{id}/facilities",
        "addFacilitiesToUser",
        Users(U::AddFacilitiesToUser),
    ),
    route(
        "DELETE",
        "/users/{id}/facilities/{facilityId}",
        "removeFacilityFromUser",
        Users(U::RemoveFacilityFromUser),
    ),
    route("GET", "/roles", "listRoles", Roles(R::ListRoles)).with_query(PAGE),
    route("POST", "/roles", "createRole", Roles(R::CreateRole)),
    route("GET", "/roles/{id}", "getRole", Roles(R::GetRole)),
    route("PATCH", "/roles/{id}", "updateRole", Roles(R::UpdateRole)),
    route("DELETE", "/roles/{id}", "deleteRole", Roles(R::DeleteRole)),
    route("GET", "/api-keys", "listApiKeys", ApiKeys(K::ListApiKeys)).with_query(PAGE),
    route("POST", "/api-keys", "createApiKey", ApiKeys(K::CreateApiKey)),
    route("DELETE", "/api-keys/{id}", "revokeApiKey", ApiKeys(K::RevokeApiKey)),
    route(
        "GET",
        "/audit-events",
        "listAuditEvents",
        AuditEvents(A::ListAuditEvents),
    )
    .with_query(&["targetId", "actorId", "from", "to", "limit", "cursor"]),
    // The tamper-evident trail (docs/audit.md): digests, their check, the key that signs them.
    route(
        "GET",
        "/audit-events/digests",
        "listAuditDigests",
        AuditEvents(A::ListAuditDigests),
    )
    .with_query(&["from", "to", "limit", "cursor"]),
    route(
        "GET",
        "/audit-events/verify",
        "verifyAuditEvents",
        AuditEvents(A::VerifyAuditEvents),
    )
    .with_query(&["from", "to"]),
    route(
        "GET",
        "/audit-events/public-key",
        "getAuditPublicKey",
        AuditEvents(A::GetAuditPublicKey),
    ),
    // Evidence for an auditor (docs/evidence.md): built in the background, fetched when ready.
    route(
        "POST",
        "/evidence-packages",
        "createEvidencePackage",
        AuditEvents(A::CreateEvidencePackage),
    ),
    route(
        "GET",
        "/evidence-packages",
        "listEvidencePackages",
        AuditEvents(A::ListEvidencePackages),
    )
    .with_query(PAGE),
    route(
        "GET",
        "/evidence-packages/{id}",
        "getEvidencePackage",
        AuditEvents(A::GetEvidencePackage),
    ),
    route(
        "GET",
        "/cip-senior-manager-assignments/current",
        "getCurrentCipSeniorManager",
        CipSeniorManager(C::GetCurrentCipSeniorManager),
    )
    .with_query(&["asOf"]),
    route(
        "GET",
        "/cip-senior-manager-assignments",
        "listCipSeniorManagerAssignments",
        CipSeniorManager(C::ListCipSeniorManagerAssignments),
    )
    .with_query(PAGE),
    route(
        "POST",
        "/cip-senior-manager-assignments",
        "createCipSeniorManagerAssignment",
        CipSeniorManager(C::CreateCipSeniorManagerAssignment),
    ),
    route(
        "GET",
        "/cip-senior-manager-assignments/{id}",
        "getCipSeniorManagerAssignment",
        CipSeniorManager(C::GetCipSeniorManagerAssignment),
    ),
    route(
        "PATCH",
        "/cip-senior-manager-assignments/{id}",
        "updateCipSeniorManagerAssignment",
        CipSeniorManager(C::UpdateCipSeniorManagerAssignment),
    ),
    route(
        "GET",
        "/invitations",
        "listInvitations",
        Invitations(I::ListInvitations),
    )
    .with_query(&["status", "email", "limit", "cursor"]),
    route(
        "POST",
        "/invitations",
        "createInvitation",
        Invitations(I::CreateInvitation),
    ),
    route(
        "GET",
        "/invitations/validate",
        "validateInvitation",
        Invitations(I::ValidateInvitation),
    )
    .with_query(&["token"])
    .public(),
    route(
        "POST",
        "/invitations/accept",
        "acceptInvitation",
        Invitations(I::AcceptInvitation),
    )
    .public(),
    route(
        "DELETE",
        "/invitations/{id}",
        "cancelInvitation",
        Invitations(I::CancelInvitation),
    ),
    route(
        "POST",
        "/invitations/{id}/resend",
        "resendInvitation",
        Invitations(I::ResendInvitation),
    ),
    route("GET", "/facilities", "listFacilities", Facilities(F::ListFacilities)).with_query(PAGE),
    route("POST", "/facilities", "createFacility", Facilities(F::CreateFacility)),
    route("GET", "/facilities/{id}", "getFacility", Facilities(F::GetFacility)),
    // The people authorised for the facility (docs/training.md).
    route(
        "GET",
        "/facilities/{id}/members",
        "listFacilityMembers",
        Facilities(F::ListFacilityMembers),
    )
    .with_query(PAGE),
    route(
        "PATCH",
        "/facilities/{id}",
        "updateFacility",
        Facilities(F::UpdateFacility),
    ),
    route(
        "DELETE",
        "/facilities/{id}",
        "deleteFacility",
        Facilities(F::DeleteFacility),
    ),
    route(
        "GET",
        "/training-modules",
        "getTrainingModules",
        TrainingModules(M::GetTrainingModules),
    )
    .with_query(&["includeRetired", "limit", "cursor"]),
    route(
        "POST",
        "/training-modules",
        "createTrainingModule",
        TrainingModules(M::CreateTrainingModule),
    ),
    route(
        "GET",
        "/training-modules/{id}",
        "getTrainingModule",
        TrainingModules(M::GetTrainingModule),
    ),
    route(
        "PATCH",
        "/training-modules/{id}",
        "updateTrainingModule",
        TrainingModules(M::UpdateTrainingModule),
    ),
    route(
        "DELETE",
        "/training-modules/{id}",
        "deleteTrainingModule",
        TrainingModules(M::DeleteTrainingModule),
    ),
    route(
        "GET",
        "/training-assignments",
        "getTrainingAssignments",
        TrainingAssignments(T::GetTrainingAssignments),
    )
    .with_query(&ASSIGNMENT_LIST_QUERY),
    // Seed 001's export: the list's filters, one file (docs/training.md).
    route(
        "GET",
        "/training-assignments/export",
        "exportTrainingAssignments",
        TrainingAssignments(T::ExportTrainingAssignments),
    )
    .with_query(&ASSIGNMENT_EXPORT_QUERY),
    route(
        "POST",
        "/training-assignments",
        "createTrainingAssignment",
        TrainingAssignments(T::CreateTrainingAssignment),
    ),
    route(
        "GET",
        "/training-assignments/{id}",
        "getTrainingAssignment",
        TrainingAssignments(T::GetTrainingAssignment),
    ),
    route(
        "PATCH",
        "/training-assignments/{id}",
        "updateTrainingAssignment",
        TrainingAssignments(T::UpdateTrainingAssignment),
    ),
    route(
        "POST",
        "/training-assignments/{id}/complete",
        "completeTrainingAssignment",
        TrainingAssignments(T::CompleteTrainingAssignment),
    ),
    route(
        "DELETE",
        "/training-assignments/{id}",
        "deleteTrainingAssignment",
        TrainingAssignments(T::DeleteTrainingAssignment),
    ),
    route(
        "POST",
        "/training-assignments/{id}/start",
        "startTrainingAssignment",
        TrainingAssignments(T::StartTrainingAssignment),
    ),
    route(
        "POST",
        "/training-assignments/{id}/waive",
        "waiveTrainingAssignment",
        TrainingAssignments(T::WaiveTrainingAssignment),
    ),
    // Seed 001 names this segment {trainingAssignmentId}; routers need one name per
    // position, so it is {id} here, the same URL.
    route(
        "GET",
        "/training-assignments/{id}/facilities",
        "getTrainingAssignmentFacilities",
        TrainingAssignments(T::GetTrainingAssignmentFacilities),
    ),
    route(
        "POST",
        "/training-assignments/{id}/facilities",
        "addFacilitiesToAssignment",
        TrainingAssignments(T::AddFacilitiesToAssignment),
    ),
    route(
        "DELETE",
        "/training-assignments/{id}/facilities/{facilityId}",
        "removeFacilityFromAssignment",
        TrainingAssignments(T::RemoveFacilityFromAssignment),
    ),
    // A person's CIP-004 standing, from their assignments: the training function serves it.
    route(
        "GET",
        "/users/{id}/training-status",
        "getUserTrainingStatus",
        TrainingAssignments(T::GetUserTrainingStatus),
    )
    .with_query(&["facilityId", "asOf"]),
    // The xAPI door (`docs/lms.md`): an LMS reports completions as an LRS client does.
    route("POST", "/xapi/statements", "postStatements", Xapi(X::PostStatements)).idempotent_by_own_ids(),
    route("PUT", "/xapi/statements", "putStatement", Xapi(X::PutStatement)).with_query(&["statementId"]),
    route("GET", "/xapi/statements", "getStatements", Xapi(X::GetStatements)).with_query(&[
        "statementId",
        "unmatched",
        "limit",
        "cursor",
    ]),
    // xAPI's About resource: what an LMS's "test connection" reads; public, as xAPI asks.
    route("GET", "/xapi/about", "getLrsAbout", Xapi(X::GetAbout)).public(),
    route(
        "GET",
        "/webhook-endpoints",
        "listWebhookEndpoints",
        Webhooks(W::ListWebhookEndpoints),
    )
    .with_query(PAGE),
    route(
        "POST",
        "/webhook-endpoints",
        "createWebhookEndpoint",
        Webhooks(W::CreateWebhookEndpoint),
    ),
    route(
        "GET",
        "/webhook-endpoints/{id}",
        "getWebhookEndpoint",
        Webhooks(W::GetWebhookEndpoint),
    ),
    route(
        "PATCH",
        "/webhook-endpoints/{id}",
        "updateWebhookEndpoint",
        Webhooks(W::UpdateWebhookEndpoint),
    ),
    route(
        "DELETE",
        "/webhook-endpoints/{id}",
        "deleteWebhookEndpoint",
        Webhooks(W::DeleteWebhookEndpoint),
    ),
    route(
        "POST",
        "/webhook-endpoints/{id}/rotate-secret",
        "rotateWebhookSecret",
        Webhooks(W::RotateWebhookSecret),
    ),
    route(
        "GET",
        "/webhook-endpoints/{id}/deliveries",
        "listWebhookDeliveries",
        Webhooks(W::ListWebhookDeliveries),
    )
    .with_query(&["status", "limit", "cursor"]),
    route(
        "POST",
        "/webhook-endpoints/{id}/deliveries/{eventId}/resend",
        "resendWebhookDelivery",
        Webhooks(W::ResendWebhookDelivery),
    ),
    route(
        "GET",
        "/training-requirements",
        "listTrainingRequirements",
        TrainingRequirements(Q::ListTrainingRequirements),
    )
    .with_query(PAGE),
    route(
        "POST",
        "/training-requirements",
        "createTrainingRequirement",
        TrainingRequirements(Q::CreateTrainingRequirement),
    ),
    route(
        "GET",
        "/training-requirements/gaps",
        "listTrainingGaps",
        TrainingRequirements(Q::ListTrainingGaps),
    )
    .with_query(&["asOf", "facilityId", "requirementId", "limit", "cursor"]),
    route(
        "GET",
        "/training-requirements/{id}",
        "getTrainingRequirement",
        TrainingRequirements(Q::GetTrainingRequirement),
    ),
    route(
        "PATCH",
        "/training-requirements/{id}",
        "updateTrainingRequirement",
        TrainingRequirements(Q::UpdateTrainingRequirement),
    ),
    route(
        "DELETE",
        "/training-requirements/{id}",
        "deleteTrainingRequirement",
        TrainingRequirements(Q::DeleteTrainingRequirement),
    ),
    // Seed 003's user groups: members that hold the group's roles (docs/groups.md).
    route("GET", "/groups", "listGroups", Groups(G::ListGroups)).with_query(PAGE),
    route("POST", "/groups", "createGroup", Groups(G::CreateGroup)),
    route("GET", "/groups/{id}", "getGroup", Groups(G::GetGroup)),
    route("PATCH", "/groups/{id}", "updateGroup", Groups(G::UpdateGroup)),
    route("DELETE", "/groups/{id}", "deleteGroup", Groups(G::DeleteGroup)),
    route(
        "GET",
        "/groups/{id}/members",
        "listGroupMembers",
        Groups(G::ListGroupMembers),
    )
    .with_query(PAGE),
    route(
        "POST",
        "/groups/{id}/members",
        "addGroupMembers",
        Groups(G::AddGroupMembers),
    ),
    route(
        "DELETE",
        "/groups/{id}/members/{userId}",
        "removeGroupMember",
        Groups(G::RemoveGroupMember),
    ),
    // SCIM 2.0 (docs/scim.md): an identity directory's door, `Authorization: Bearer <key>`.
    // The discovery documents are public, as RFC 7644 §4 allows; they hold no tenant data.
    scim(
        "GET",
        "/scim/v2/ServiceProviderConfig",
        "scimGetServiceProviderConfig",
        S::GetServiceProviderConfig,
    )
    .public(),
    scim(
        "GET",
        "/scim/v2/ResourceTypes",
        "scimListResourceTypes",
        S::ListResourceTypes,
    )
    .public(),
    scim(
        "GET",
        "/scim/v2/ResourceTypes/{id}",
        "scimGetResourceType",
        S::GetResourceType,
    )
    .public(),
    scim("GET", "/scim/v2/Schemas", "scimListSchemas", S::ListSchemas).public(),
    scim("GET", "/scim/v2/Schemas/{id}", "scimGetSchema", S::GetSchema).public(),
    scim("GET", "/scim/v2/Users", "scimListUsers", S::ListUsers).with_query(SCIM_LIST),
    scim("POST", "/scim/v2/Users", "scimCreateUser", S::CreateUser).idempotent_by_own_ids(),
    scim("GET", "/scim/v2/Users/{id}", "scimGetUser", S::GetUser).with_query(SCIM_ATTRIBUTES),
    scim("PUT", "/scim/v2/Users/{id}", "scimReplaceUser", S::ReplaceUser),
    scim("PATCH", "/scim/v2/Users/{id}", "scimPatchUser", S::PatchUser),
    scim("DELETE", "/scim/v2/Users/{id}", "scimDeleteUser", S::DeleteUser),
    scim("GET", "/scim/v2/Groups", "scimListGroups", S::ListGroups).with_query(SCIM_LIST),
    scim("POST", "/scim/v2/Groups", "scimCreateGroup", S::CreateGroup).idempotent_by_own_ids(),
    scim("GET", "/scim/v2/Groups/{id}", "scimGetGroup", S::GetGroup).with_query(SCIM_ATTRIBUTES),
    scim("PUT", "/scim/v2/Groups/{id}", "scimReplaceGroup", S::ReplaceGroup),
    scim("PATCH", "/scim/v2/Groups/{id}", "scimPatchGroup", S::PatchGroup),
    scim("DELETE", "/scim/v2/Groups/{id}", "scimDeleteGroup", S::DeleteGroup),
    // Last resort under `/scim/v2` (API Gateway prefers any route of the method matched
    // whole): identity directories read a SCIM error, never the gateway's bare 404.
    scim("ANY", "/scim/v2/{proxy+}", "scimNotServed", S::NotServed)
        .public()
        .outside_openapi(),
];

/// What a SCIM list reads (RFC 7644 §3.4.2, §3.9).
const SCIM_LIST: &[&str] = &["filter", "startIndex", "count", "attributes", "excludedAttributes"];
/// What a SCIM read of one resource reads.
const SCIM_ATTRIBUTES: &[&str] = &["attributes", "excludedAttributes"];

const fn scim(method: &'static str, path: &'static str, operation_id: &'static str, operation: ScimOperation) -> Route {
    route(method, path, operation_id, Scim(operation))
}

/// A route matched against a request, with its path parameters.
#[derive(Debug)]
pub struct MatchedRoute {
    pub route: &'static Route,
    params: HashMap<&'static str, String>,
}

impl MatchedRoute {
    pub fn param(&self, name: &str) -> ApiResult<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::internal(format!("route {} has no parameter {name}", self.route.path)))
    }

    /// The request's query string, refusing any parameter this route does not read.
    pub fn query(&self, request: &Request) -> ApiResult<QueryParams> {
        QueryParams::parse(request, self.route.query)
    }
}

impl Route {
    /// A route whose last segment is API Gateway's greedy `{name+}` (any method, when its
    /// method is `ANY`): taken only when no route of the method matches the path whole.
    pub fn is_greedy(&self) -> bool {
        self.path.ends_with("+}")
    }

    fn serves_method(&self, method: &str) -> bool {
        self.method == "ANY" || self.method.eq_ignore_ascii_case(method)
    }
}

/// Finds the route for a method and path, in API Gateway's order: a route of the method
/// matched whole (literal segments win over parameters, so `/users/me` is never taken for
/// `/users/{id}`), then a greedy route.
pub fn match_path(method: &str, path: &str) -> Option<MatchedRoute> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    whole_match(method, &segments).or_else(|| greedy_match(method, &segments))
}

/// The methods that serve this path (a route of each matches it whole): what a `405`
/// names in `Allow`.
pub fn methods_of_path(path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ["GET", "POST", "PUT", "PATCH", "DELETE"]
        .into_iter()
        .filter(|method| whole_match(method, &segments).is_some())
        .collect()
}

fn greedy_match(method: &str, segments: &[&str]) -> Option<MatchedRoute> {
    ROUTES
        .iter()
        .filter(|route| route.is_greedy() && route.serves_method(method))
        .find_map(|route| {
            let (prefix, last) = route.path.rsplit_once('/')?;
            let name = last.strip_prefix('{')?.strip_suffix("+}")?;
            let prefix: Vec<&str> = prefix.split('/').collect();
            // `{name+}` takes one segment or more, never none.
            let rest = segments
                .get(prefix.len()..)
                .filter(|rest| rest.iter().any(|segment| !segment.is_empty()))?;
            if prefix.iter().zip(segments).any(|(expected, actual)| expected != actual) {
                return None;
            }
            let params = HashMap::from([(name, rest.join("/"))]);
            Some(MatchedRoute { route, params })
        })
}

/// The route of this method that matches every segment, the most literal first.
fn whole_match(method: &str, segments: &[&str]) -> Option<MatchedRoute> {
    let mut best: Option<(usize, MatchedRoute)> = None;
    for route in ROUTES
        .iter()
        .filter(|route| !route.is_greedy() && route.method.eq_ignore_ascii_case(method))
    {
        let pattern: Vec<&'static str> = route.path.split('/').collect();
        if pattern.len() != segments.len() {
            continue;
        }
        let mut params = HashMap::new();
        let mut literals = 0;
        let matches = pattern.iter().zip(segments).all(|(expected, actual)| {
            match expected.strip_prefix('{').and_then(|name| name.strip_suffix('}')) {
                Some(name) if !actual.is_empty() => {
                    params.insert(name, (*actual).to_string());
                    true
                }
                Some(_) => false,
                None => {
                    literals += 1;
                    expected == actual
                }
            }
        });
        if matches && best.as_ref().is_none_or(|(best_literals, _)| literals > *best_literals) {
            best = Some((literals, MatchedRoute { route, params }));
        }
    }
    best.map(|(_, matched)| matched)
}

/// The route of a request, if it is one that `function` serves.
pub fn match_request(function: Function, request: &Request) -> ApiResult<MatchedRoute> {
    let method = request.method().as_str();
    let path = http::path(request);
    match match_path(method, &path) {
        Some(matched) if matched.route.operation.function() == function => Ok(matched),
        _ => Err(ApiError::NotFound { resource: "route" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win_over_parameters() {
        let matched = match_path("GET", "/users/me").unwrap();
        assert_eq!(matched.route.operation_id, "getCurrentUser");
        let matched = match_path("GET", "/users/usr_123").unwrap();
        assert_eq!(matched.route.operation_id, "getUser");
        assert_eq!(matched.param("id").unwrap(), "usr_123");
    }

    #[test]
    fn unknown_paths_and_methods_match_nothing() {
        assert!(match_path("GET", "/nope").is_none());
        assert!(match_path("PUT", "/users").is_none());
        assert!(match_path("GET", "/users/usr_1/extra").is_none());
    }

    #[test]
    fn the_greedy_route_takes_what_no_route_of_the_method_matches_whole() {
        let matched = match_path("GET", "/scim/v2/Users").unwrap();
        assert_eq!(matched.route.operation_id, "scimListUsers");
        let matched = match_path("PUT", "/scim/v2/ServiceProviderConfig").unwrap();
        assert_eq!(matched.route.operation_id, "scimNotServed");
        assert_eq!(matched.param("proxy").unwrap(), "ServiceProviderConfig");
        let matched = match_path("POST", "/scim/v2/Users/.search").unwrap();
        assert_eq!(matched.route.operation_id, "scimNotServed");
        assert_eq!(matched.param("proxy").unwrap(), "Users/.search");
        // One segment at least; and only under its own prefix.
        assert!(match_path("GET", "/scim/v2").is_none());
        assert!(match_path("GET", "/scim/v2/").is_none());
        assert!(match_path("GET", "/scim/v3/Users").is_none());
        assert!(match_path("PUT", "/users").is_none());
    }

    #[test]
    fn the_methods_of_a_path_are_those_of_the_routes_that_match_it_whole() {
        assert_eq!(methods_of_path("/scim/v2/ServiceProviderConfig"), ["GET"]);
        assert_eq!(
            methods_of_path("/scim/v2/Users/usr_1"),
            ["GET", "PUT", "PATCH", "DELETE"]
        );
        assert!(methods_of_path("/scim/v2/Nope").is_empty());
    }

    #[test]
    fn every_route_is_unique() {
        for (index, route) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[index + 1..]
                    .iter()
                    .all(|other| (other.method, other.path) != (route.method, route.path)),
                "duplicate route {} {}",
                route.method,
                route.path
            );
        }
    }
}
