//! Integration tests: every request is a real API Gateway HTTP API event, handled by the
//! real function, stored through the real AWS SDK in the local emulator.

mod api_keys;
mod audit_digests;
mod audit_events;
mod authentication;
mod bootstrap;
mod cip_senior_manager;
mod dynamo_calls;
mod evidence_builds;
mod evidence_packages;
mod facilities;
mod faults;
mod hot_items;
mod idempotency;
mod invitation_security;
mod invitations;
mod member_facilities;
mod roles;
mod round_trips;
mod route_table;
mod soak;
mod tenancy;
mod time_ranges;
mod training_assignments;
mod training_export;
mod training_modules;
mod training_program;
mod training_requirements;
mod training_schedule;
mod training_status;
mod users;
mod users_export;
mod validation;
mod warm_up;
mod webhooks;
mod xapi;
