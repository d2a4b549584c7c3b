//! The Session Manager data channel protocol, as spoken between a client and the SSM agent
//! through the `ssmmessages` service (see `shared/docs/data-channel-protocol.md`).
//!
//! Without I/O: the binary message codec ([`message`]), the payloads that travel in it
//! ([`payload`]), the handshake and version rules ([`handshake`]), and reliable ordered
//! delivery as a state machine fed with time ([`reliability`]). On top of them: the
//! WebSocket transport ([`transport`]) and opening a session through its handshake
//! ([`session`]). Port forwarding ([`port`]), non-interactive commands ([`command`]) and
//! shells ([`shell`]) build on these.

#![forbid(unsafe_code)]

pub mod bridge;
pub mod command;
pub mod crypto;
pub mod driver;
pub mod engine;
pub mod exit_trailer;
pub mod handshake;
pub mod inbound;
pub mod late_handshake;
pub mod link;
pub mod message;
pub mod network;
pub mod payload;
pub mod port;
pub mod reliability;
pub mod session;
pub mod shell;
pub mod transport;

pub use message::{
    ClientMessage, DecodeError, EncodeError, MessageType, PayloadType, ValidationError,
};
