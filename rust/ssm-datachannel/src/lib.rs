//! The Session Manager data channel protocol, as spoken between a client and the SSM agent
//! through the `ssmmessages` service (see `shared/docs/data-channel-protocol.md`).
//!
//! This crate holds the protocol without any transport: the binary message codec
//! ([`message`]), the JSON and binary payloads that travel in it ([`payload`]), the
//! handshake and version rules ([`handshake`]), and reliable ordered delivery as a state
//! machine fed with time ([`reliability`]). The
//! WebSocket client, handshake and port forwarding build on it.

#![forbid(unsafe_code)]

pub mod handshake;
pub mod message;
pub mod payload;
pub mod reliability;
pub mod transport;

pub use message::{
    ClientMessage, DecodeError, EncodeError, MessageType, PayloadType, ValidationError,
};
