//! AWS Systems Manager Session Manager logic for SSMSession.
//!
//! Plain async Rust: request and response types (serde), client construction with
//! aws-config, the StartSession / TerminateSession / ResumeSession calls through aws-sdk-ssm,
//! port forwarding over the data channel (`ssmsession-datachannel`), and a typed error. The C ABI
//! lives in the `ssmsession-ffi` crate; nothing here is `unsafe` or knows about FFI.

#![forbid(unsafe_code)]

mod any_session;
mod api;
mod channel;
mod channel_call;
mod client;
mod client_settings;
mod command;
mod command_document;
mod credentials;
mod environment;
mod error;
mod http_client;
mod kms;
mod network;
mod plain_text;
mod port_forward;
mod request;
mod response;
mod response_limit;
mod session_calls;
mod shell;
mod start_session;

pub use any_session::{start_any_session, AnySession};
pub use channel::CLIENT_VERSION;
pub use channel_call::{ChannelCall, ChannelStartOutput};
pub use client::{resolve_client, ClientCache, Resolution};
pub use command::{start_command, CommandCall, CommandOutput, CommandRun, CommandStartOutput};
pub use command_document::{
    command_document_content, create_command_document, CommandDocumentCall, CommandDocumentOutput,
};
pub use error::CoreError;
pub use port_forward::{start_port_forward, PortForwardCall, PortForwardOutput};
pub use request::{ClientSettings, ResolveClientCall, StartSessionCall};
pub use response::StartSessionOutput;
pub use response_limit::MAX_RESPONSE_BODY;
pub use session_calls::{
    resume_session, terminate_session, ResumeSessionOutput, SessionCall, TerminateSessionOutput,
};
pub use shell::{start_shell, ShellSession};
pub use ssmsession_datachannel::driver::{Cut, CutCause, SessionEnd};
pub use ssmsession_datachannel::port::{PortForward, PortMode, PortStatsSnapshot};
pub use ssmsession_datachannel::shell::STREAM_CHUNK;
pub use start_session::start_session;
