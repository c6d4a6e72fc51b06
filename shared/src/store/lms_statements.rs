//! xAPI statements: `ORG#<org>#XAPI / STMT#<uuid>`; one that matched nothing is also in
//! GSI1 `ORG#<org>#XAPI_UNMATCHED / <stored ms>#<uuid>` (sparse), for the LMS admin's list.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI1, GSI1PK, GSI1SK};
use super::query::{QuerySpec, SortRange};
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::OrgId;
use crate::model::lms_statements::{StatementId, StatementOutcome, StoredStatement};

fn statement_key(org: &OrgId, id: &StatementId) -> Item {
    keys::key(keys::statements_partition(org), keys::statement_sort_key(id.as_str()))
}

fn statement_item(statement: &StoredStatement) -> ApiResult<Item> {
    let mut item = to_item(statement)?;
    item.extend(statement_key(&statement.organization_id, &statement.id));
    if statement.outcome == StatementOutcome::Unmatched {
        item.insert(
            GSI1PK.into(),
            AttributeValue::S(keys::unmatched_statements_partition(&statement.organization_id)),
        );
        item.insert(
            GSI1SK.into(),
            AttributeValue::S(format!(
                "{}#{}",
                keys::millis_sort_key(statement.stored_at.millis()),
                statement.id
            )),
        );
    }
    Ok(item)
}

pub async fn get(store: &Store, org: &OrgId, id: &StatementId) -> ApiResult<Option<StoredStatement>> {
    store.get(statement_key(org, id)).await
}

/// Stores a statement once: a second with the same id fails the transaction with a
/// conflict (the caller then compares the two).
pub fn put_new(transaction: &mut Transaction, statement: &StoredStatement) -> ApiResult<()> {
    transaction.put_new(
        statement_item(statement)?,
        ApiError::conflict(format!("statement {} was stored by a concurrent request", statement.id)),
    )
}

/// The statements that matched nothing, oldest first.
pub async fn unmatched(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<StoredStatement>> {
    let spec = QuerySpec::index(
        GSI1,
        GSI1PK,
        GSI1SK,
        keys::unmatched_statements_partition(org),
        SortRange::All,
    );
    store.query_records(&spec, limit, after).await
}
