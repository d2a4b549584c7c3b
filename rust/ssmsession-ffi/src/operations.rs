//! JSON text → core call → envelope data, one function per export.

use once_cell::sync::Lazy;
use serde::de::DeserializeOwned;
use serde_json::Value;
use ssmsession_core::{ClientCache, StartSessionCall};

use crate::envelope::ErrorBody;
use crate::runtime;

/// Clients shared by all calls in the process.
static CLIENTS: Lazy<ClientCache> = Lazy::new(ClientCache::new);

#[cfg(test)]
thread_local! {
    /// Test-only: makes the next call on this thread panic inside the boundary.
    pub(crate) static FORCE_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ErrorBody> {
    serde_json::from_str(text).map_err(|e| {
        ErrorBody::invalid_input("InvalidRequest", format!("The request is not valid: {e}"))
    })
}

pub fn start_session(text: &str) -> Result<Value, ErrorBody> {
    #[cfg(test)]
    if FORCE_PANIC.with(|f| f.replace(false)) {
        panic!("forced panic for the ABI test");
    }
    let call: StartSessionCall = parse(text)?;
    let output = runtime::block_on(ssmsession_core::start_session(&CLIENTS, call))??;
    serde_json::to_value(output)
        .map_err(|e| ErrorBody::internal("SerializationFailure", e.to_string()))
}
