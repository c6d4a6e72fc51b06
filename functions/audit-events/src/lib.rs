//! Audit events: parse → authenticate → authorize → domain → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::AuditApp;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::{EventId, EvidencePackageId};
use raptor_shared::model::audit::AuditFilter;
use raptor_shared::operations::authentication;
use raptor_shared::operations::{audit_digests, audit_events};
use raptor_shared::rest;
use raptor_shared::routes::{self, AuditEventsOperation, Function, Operation};
use raptor_shared::time::Timestamp;

pub async fn handle(audit: &AuditApp, request: Request) -> Response<Body> {
    http::respond(dispatch(audit, &request).await)
}

async fn dispatch(audit: &AuditApp, request: &Request) -> ApiResult<Reply> {
    let app = &audit.app;
    let route = routes::match_request(Function::AuditEvents, request)?;
    let Operation::AuditEvents(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    match operation {
        AuditEventsOperation::ListAuditEvents => {
            let filter = AuditFilter::parse(
                query.non_empty("targetId")?,
                query.non_empty("actorId")?,
                query.non_empty("from")?,
                query.non_empty("to")?,
            )?;
            let page = query.page(principal.org(), filter.fingerprint())?;
            Reply::ok(&audit_events::list_audit_events(store, &principal, &filter, &page).await?)
        }
        AuditEventsOperation::ListAuditDigests => {
            let filter = AuditFilter::parse(None, None, query.non_empty("from")?, query.non_empty("to")?)?;
            let page = query.page(principal.org(), format!("digests;{}", filter.fingerprint()))?;
            // Without `to`, up to the latest digest.
            let range = range_of(
                &filter,
                Timestamp::from_millis(i64::try_from(EventId::MAX_MILLIS).unwrap_or(i64::MAX)),
            );
            Reply::ok(&audit_digests::list_digests(store, &principal, range, &page).await?)
        }
        AuditEventsOperation::VerifyAuditEvents => {
            let filter = AuditFilter::parse(None, None, query.non_empty("from")?, query.non_empty("to")?)?;
            let range = range_of(&filter, store.clock().now());
            Reply::ok(&audit_digests::verify(store, &audit.signer, &principal, range).await?)
        }
        AuditEventsOperation::GetAuditPublicKey => {
            Reply::ok(audit_digests::public_key(&audit.signer, &principal).await?)
        }
        AuditEventsOperation::CreateEvidencePackage => {
            idempotency::for_caller(store, request, &principal, async {
                let view = rest::evidence_packages::create(store, &principal, http::json_body(request)?).await?;
                Reply::json(202, &view)
            })
            .await
        }
        AuditEventsOperation::ListEvidencePackages => {
            let page = query.page(principal.org(), "evidence-packages".into())?;
            Reply::ok(&rest::evidence_packages::list(store, &principal, &page).await?)
        }
        AuditEventsOperation::GetEvidencePackage => {
            let id = EvidencePackageId::parse("id", route.param("id")?)?;
            Reply::ok(&rest::evidence_packages::get(store, audit.exports.as_ref(), &principal, &id).await?)
        }
    }
}

/// `from` and `to` as given; without them, the trail's start and `end`.
fn range_of(filter: &AuditFilter, end: Timestamp) -> (Timestamp, Timestamp) {
    (
        filter.from.unwrap_or(Timestamp::from_millis(0)),
        filter.to.unwrap_or(end),
    )
}
