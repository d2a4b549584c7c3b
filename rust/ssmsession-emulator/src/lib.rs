//! A local AWS Systems Manager endpoint for offline use and tests.
//!
//! Speaks the SSM AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target: AmazonSSM.<Operation>`),
//! verifies SigV4 signatures by re-signing each request with aws-sigv4, validates input the
//! way the service does and answers StartSession, TerminateSession, ResumeSession and
//! DescribeSessions (and CreateDocument and DescribeDocument for session documents) with
//! the service's shapes and error wire format. It binds loopback only.
//!
//! It also stands in for the services that hand out credentials (container credentials,
//! instance metadata, SSO, STS) so that every credential source can be tested offline.
//!
//! Layout: [`config`] (what the emulator accepts), `auth` (SigV4), `json_api` (protocol
//! framing and dispatch), `operations` (the operations), `sessions` (state), `documents` (session documents),
//! `validation` (the API model's constraints), `service_error` (error wire shape),
//! `credential_endpoints` and `issued` (credential stand-ins), `server` (sockets and
//! lifecycle), `tls` (the TLS mode's private CA and listener), `connect_proxy` (a loopback
//! CONNECT proxy for proxy tests).

#![forbid(unsafe_code)]

pub mod agent;
pub mod api_faults;
mod auth;
pub mod config;
pub mod connect_proxy;
mod credential_endpoints;
pub mod documents;
pub mod hostile;
mod in_flight;
mod issued;
mod json_api;
mod kms;
mod managed_documents;
mod operations;
mod server;
mod service_error;
mod sessions;
pub mod tls;
mod validation;

pub use config::{
    AgentConfig, Credential, EmulatorConfig, Faults, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
    DEFAULT_USER, ERROR_TARGETS, REAL_AGENT_PACE,
};
pub use credential_endpoints::INSTANCE_ROLE;
pub use server::{BackgroundEmulator, Emulator, StartError};
