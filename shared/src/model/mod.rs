//! The records as stored and returned, and the rules that need no I/O. Nothing here is
//! `async` or touches the store: the store maps these records, operations decide with them.

pub mod account_linking;
pub mod api_keys;
pub mod assignment_state;
pub mod audit;
pub mod audit_digest;
pub mod cip_senior_manager;
pub mod csv_cells;
pub mod events;
pub mod evidence_files;
pub mod evidence_manifest;
pub mod evidence_packages;
pub mod evidence_summary;
pub mod evidence_tables;
pub mod facilities;
pub mod groups;
pub mod idempotency;
pub mod invitation_email;
pub mod invitations;
pub mod lms_statements;
pub mod organizations;
pub mod principal;
pub mod roles;
pub mod secret_tokens;
pub mod training_assignments;
pub mod training_modules;
pub mod training_requirements;
pub mod training_status;
pub mod users;
pub mod webhooks;
