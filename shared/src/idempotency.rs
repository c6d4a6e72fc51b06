//! The `Idempotency-Key` guard (`docs/idempotency.md`): a handler wraps what it runs after
//! authentication, and a POST that carries the header runs once per key: a retry of the
//! same request within 24 hours gets the first response again (`Idempotent-Replayed:
//! true`), another request under the key or one still running gets `409
//! idempotency_conflict`. Without the header, or on any other method, the operation runs as
//! it always did, with no extra round trip.

use std::future::Future;

use lambda_http::http::Method;
use lambda_http::{Body, Request};

use crate::error::{ApiError, ApiResult};
use crate::http::{self, Reply};
use crate::model::idempotency::{
    self, Fingerprint, HEADER, IdempotencyKey, IdempotencyRecord, IdempotencyScope, REPLAYED_HEADER, RequestIdentity,
    ResponseSeal, Verdict, keeps_response,
};
use crate::model::principal::Principal;
use crate::store::idempotency::{self as records, Claim};
use crate::store::transaction;
use crate::store::{Store, Transaction};

/// A claim refused by a record that is then found claimable (released or expired in
/// between) is tried again, this many times in all.
const CLAIM_ATTEMPTS: usize = 3;

/// Runs `operation` for an authenticated caller, under the caller's `Idempotency-Key` if
/// the request is a POST with one. Keys belong to the organization and the API key: the
/// same key string from another caller is another key.
pub fn for_caller<'a, Operation>(
    store: &'a Store,
    request: &'a Request,
    principal: &'a Principal,
    operation: Operation,
) -> impl Future<Output = ApiResult<Reply>> + 'a
where
    Operation: Future<Output = ApiResult<Reply>> + 'a,
{
    // Boxed before anything is awaited: the operation is most of a handler's future, and
    // the guard then holds a pointer to it instead of a second copy (a debug build runs a
    // test on a thread's stack, where futures moved by value add up).
    let operation = Box::pin(operation);
    async move {
        let Some(key) = requested_key(request)? else {
            return operation.await;
        };
        let (Some(api_key), Some(presented)) = (principal.actor.api_key_id.clone(), http::api_key(request)?) else {
            return Err(ApiError::internal("an authenticated caller without its API key"));
        };
        let scope = IdempotencyScope::ApiKey {
            org: principal.org().clone(),
            api_key,
        };
        let path = http::path(request);
        let request = identity(request, &path);
        let seal = ResponseSeal::for_api_key(presented)?;
        guard(
            store,
            scope,
            key,
            request.fingerprint(),
            seal,
            keeps_response,
            operation,
        )
        .await
    }
}

/// Runs `operation` for a public route (no API key: accepting an invitation). The key is
/// scoped by the request's own hash, token included, so only someone who can send that
/// very request ever gets its replay; another request under the same key is simply
/// another key, never a 409. Only a success is kept: an anonymous caller's refused
/// request (a malformed or dead token) leaves no record behind.
pub fn for_public<'a, Operation>(
    store: &'a Store,
    request: &'a Request,
    operation: Operation,
) -> impl Future<Output = ApiResult<Reply>> + 'a
where
    Operation: Future<Output = ApiResult<Reply>> + 'a,
{
    // Boxed, as in `for_caller`.
    let operation = Box::pin(operation);
    async move {
        let Some(key) = requested_key(request)? else {
            return operation.await;
        };
        let path = http::path(request);
        let request = identity(request, &path);
        let fingerprint = request.fingerprint();
        let seal = ResponseSeal::for_request(&request)?;
        let scope = IdempotencyScope::Request(fingerprint.clone());
        let succeeded = |status: u16| (200..300).contains(&status);
        guard(store, scope, key, fingerprint, seal, succeeded, operation).await
    }
}

/// The key of a POST; other methods ignore the header (as Stripe does: they change
/// nothing twice, or are refused the second time).
fn requested_key(request: &Request) -> ApiResult<Option<IdempotencyKey>> {
    if request.method() != Method::POST {
        return Ok(None);
    }
    let mut values = request.headers().get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::validation(
            HEADER,
            format!("the `{HEADER}` header may be given only once"),
        ));
    }
    IdempotencyKey::parse(value.as_bytes()).map(Some)
}

/// Method, path (without a stage), the query string as sent, and the body's bytes.
fn identity<'a>(request: &'a Request, path: &'a str) -> RequestIdentity<'a> {
    let body: &[u8] = match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    RequestIdentity {
        method: request.method().as_str(),
        path,
        query: request.uri().query().unwrap_or_default(),
        body,
    }
}

async fn guard<Operation>(
    store: &Store,
    scope: IdempotencyScope,
    key: IdempotencyKey,
    fingerprint: Fingerprint,
    seal: ResponseSeal,
    keeps: impl Fn(u16) -> bool,
    operation: Operation,
) -> ApiResult<Reply>
where
    Operation: Future<Output = ApiResult<Reply>>,
{
    let mut attempts = 0;
    let claim = loop {
        let claim = IdempotencyRecord::claim(fingerprint.clone(), store.clock().now());
        match records::claim(store, &scope, &key, &claim).await? {
            Claim::Claimed => break claim,
            Claim::Held(existing) => match existing.judge(&fingerprint, claim.created_at) {
                Verdict::Replay => return replay(&existing, &seal),
                Verdict::InProgress => return Err(idempotency::in_progress()),
                Verdict::OtherRequest => return Err(idempotency::other_request()),
                Verdict::Claimable => {}
            },
            Claim::Vanished => {}
        }
        attempts += 1;
        if attempts == CLAIM_ATTEMPTS {
            return Err(idempotency::in_progress());
        }
    };

    // The change and its answer commit together: a request that made one change has it
    // held back (`hold_commit`) and sent here with the completed record in it.
    let (result, held) = transaction::hold_commit(operation).await;
    let result = match (result, held) {
        (Ok(reply), Some(change)) if keeps(reply.status) => {
            match commit_with_answer(store, &scope, &key, &claim, &seal, &reply, change).await {
                Ok(true) => return Ok(reply),
                // Committed without its answer (too large to keep): kept or released below.
                Ok(false) => Ok(reply),
                Err(error) => Err(error),
            }
        }
        (Ok(reply), Some(change)) => change.send(store).await.map(|()| reply),
        // A request that failed after its commit was held changed nothing.
        (result, _) => result,
    };
    let (status, body) = match &result {
        Ok(reply) => (reply.status, reply.body.clone()),
        Err(error) => (error.status(), http::error_json(error)),
    };
    // The operation has run: what follows is bookkeeping, and its failure is logged, never
    // answered (the caller gets the real response). An unkept claim ends with its lease.
    if keeps(status) {
        let kept = match claim.completed(status, &body, &seal) {
            Ok(completed) => records::complete(store, &scope, &key, &completed).await,
            Err(error) => Err(error),
        };
        match kept {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                status,
                "the idempotency claim was taken over before its response was kept"
            ),
            Err(error) => {
                tracing::error!(reason = %error, status, "an idempotent response could not be kept; releasing the key");
                release(store, &scope, &key, &claim).await;
            }
        }
    } else {
        release(store, &scope, &key, &claim).await;
    }
    result
}

/// Sends the change with the request's completed record. `Ok(false)`: the record could not
/// join it (too large, or no room), so the change went alone and the answer is not kept.
async fn commit_with_answer(
    store: &Store,
    scope: &IdempotencyScope,
    key: &IdempotencyKey,
    claim: &IdempotencyRecord,
    seal: &ResponseSeal,
    reply: &Reply,
    mut change: Transaction,
) -> ApiResult<bool> {
    let joined = match claim.completed(reply.status, &reply.body, seal) {
        Ok(completed) => records::put_completed(&mut change, scope, key, &completed)?,
        Err(error) => {
            tracing::error!(reason = %error, "an idempotent response could not be sealed");
            false
        }
    };
    change.send(store).await?;
    Ok(joined)
}

async fn release(store: &Store, scope: &IdempotencyScope, key: &IdempotencyKey, claim: &IdempotencyRecord) {
    if let Err(error) = records::release(store, scope, key, claim).await {
        tracing::error!(reason = %error, "an idempotency key could not be released; its lease will free it");
    }
}

fn replay(record: &IdempotencyRecord, seal: &ResponseSeal) -> ApiResult<Reply> {
    let response = record.response(seal)?;
    tracing::info!(status = response.status, "idempotent replay");
    Ok(Reply {
        status: response.status,
        content_type: "application/json",
        headers: vec![(REPLAYED_HEADER, "true".to_string())],
        body: response.body,
        bytes: None,
    })
}
