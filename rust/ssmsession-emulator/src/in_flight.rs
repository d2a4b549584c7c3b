//! How many API calls the emulator is answering right now, for tests that must act while a
//! call is in flight (stop a pipeline mid-call, close a runspace) and so wait for that
//! condition instead of a fixed time: `GET /emulator/in-flight` → `{"ApiCallsInFlight":n}`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::server::AppState;

/// The count of API calls being answered.
#[derive(Debug, Default)]
pub struct InFlight(AtomicUsize);

/// Counts one call until dropped (also when the client gives up and the handler is dropped).
pub struct Counted<'a>(&'a InFlight);

impl InFlight {
    pub fn enter(&self) -> Counted<'_> {
        self.0.fetch_add(1, Ordering::AcqRel);
        Counted(self)
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `GET /emulator/in-flight`.
pub async fn report(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "ApiCallsInFlight": state.in_flight.count() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_counts_until_its_guard_is_dropped() {
        let in_flight = InFlight::default();
        let first = in_flight.enter();
        let second = in_flight.enter();
        assert_eq!(in_flight.count(), 2);
        drop(first);
        assert_eq!(in_flight.count(), 1);
        drop(second);
        assert_eq!(in_flight.count(), 0);
    }
}
