//! What a handler calls, one module per resource: authorize, load, decide (with the
//! model's rules), write in one transaction with the audit event.

pub mod api_keys;
pub mod audit_digests;
pub mod audit_events;
pub mod authentication;
pub mod cip_senior_manager;
pub mod evidence_builder;
pub mod evidence_packages;
pub mod facilities;
pub mod groups;
pub mod invitations;
pub mod lms_statements;
pub mod organizations;
pub mod roles;
pub mod row_pages;
pub mod training_assignments;
pub mod training_export;
pub mod training_modules;
pub mod training_requirements;
pub mod training_schedule;
pub mod training_status;
pub mod users;
pub mod webhooks;
