//! The audit trail, as an auditor reads it.

use crate::error::ApiResult;
use crate::model::audit::{AuditEvent, AuditFilter};
use crate::model::principal::Principal;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::Store;
use crate::store::audit::EventQuery;

/// Newest first.
pub async fn list_audit_events(
    store: &Store,
    principal: &Principal,
    filter: &AuditFilter,
    page: &PageRequest,
) -> ApiResult<ListPage<AuditEvent>> {
    principal.require(Permission::AuditRead)?;
    let query = EventQuery {
        org: principal.org(),
        target_id: filter.target_id.as_deref(),
        actor_id: filter.actor_id.as_ref(),
        id_range: filter.id_range(),
    };
    let result = crate::store::audit::list_events(store, &query, page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}
