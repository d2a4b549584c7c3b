//! The Session Manager data channel protocol, as spoken between a client and the SSM agent
//! through the `ssmmessages` service (see `shared/docs/data-channel-protocol.md`).
//!
//! This crate holds the protocol without any transport: the binary message codec
//! ([`message`]) and the JSON and binary payloads that travel in it ([`payload`]). The
//! WebSocket client, reliable delivery, handshake and port forwarding build on it.

#![forbid(unsafe_code)]

pub mod message;
pub mod payload;

pub use message::{
    ClientMessage, DecodeError, EncodeError, MessageType, PayloadType, ValidationError,
};
