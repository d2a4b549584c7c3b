//! AWS Systems Manager Session Manager logic for SSMSession.
//!
//! Plain async Rust: request and response types (serde), client construction with
//! aws-config, the `StartSession` call through aws-sdk-ssm, and a typed error. The C ABI
//! lives in the `ssmsession-ffi` crate; nothing here is `unsafe` or knows about FFI.

#![forbid(unsafe_code)]

mod client;
mod environment;
mod error;
mod request;
mod response;
mod start_session;

pub use client::{resolve_client, ClientCache, Resolution};
pub use error::CoreError;
pub use request::{ClientSettings, ResolveClientCall, StartSessionCall};
pub use response::StartSessionOutput;
pub use start_session::start_session;
