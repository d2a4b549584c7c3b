//! Running port forwards, by handle. A forward runs on the shared runtime after the call
//! that started it returned; later calls ask for its status, wait for its end, or stop it.
//! Handles are numbers, never pointers: a stale or made-up handle is an error, not a crash.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use once_cell::sync::Lazy;
use serde::Deserialize;
use serde_json::{json, Value};
use ssmsession_core::{ClientCache, PortForward, PortForwardCall};

use crate::envelope::ErrorBody;

/// Forwards open at once, at most: each holds a listener and a WebSocket.
const MAX_FORWARDS: usize = 256;
/// Longest single status wait; callers loop for longer waits.
const MAX_WAIT_MS: u64 = 60_000;
/// How long a stop may take: the TerminateSession flag (3 s) and then the API.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

struct Entry {
    forward: Arc<PortForward>,
    session_id: String,
    /// As the handshake reported it, for listings.
    agent_version: String,
}

static FORWARDS: Lazy<Mutex<HashMap<u64, Entry>>> = Lazy::new(Default::default);
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

fn forwards() -> MutexGuard<'static, HashMap<u64, Entry>> {
    // Entries are inserted and removed whole: a poisoned lock still holds a valid map.
    FORWARDS.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HandleRequest {
    handle: u64,
    #[serde(default)]
    wait_ms: u64,
}

fn unknown_handle(handle: u64) -> ErrorBody {
    ErrorBody::invalid_request(
        "UnknownPortForward",
        format!(
            "No port forward has handle {handle}; it was stopped and collected, or never existed."
        ),
    )
}

fn entry(handle: u64) -> Result<(Arc<PortForward>, String), ErrorBody> {
    forwards()
        .get(&handle)
        .map(|e| (e.forward.clone(), e.session_id.clone()))
        .ok_or_else(|| unknown_handle(handle))
}

/// The status document: state, the end's message, and the live figures.
fn status(handle: u64, session_id: &str, forward: &PortForward) -> Value {
    let end = forward.end();
    let cut = if end.is_some() {
        forward.undelivered()
    } else {
        None
    };
    let (state, mut message) = crate::session_state::state_of(end);
    if let Some(cut) = cut {
        let said = crate::session_state::describe_cut(&cut, "the local connections");
        message = Some(match message {
            Some(reason) if !reason.is_empty() => format!("{reason} {said}"),
            _ => said,
        });
    }
    json!({
        "Handle": handle,
        "SessionId": session_id,
        "State": state,
        "Message": message,
        "UndeliveredBytes": cut.map_or(0, |c| c.bytes),
        "LocalAddress": forward.local_addr.ip().to_string(),
        "LocalPort": forward.local_addr.port(),
        "Mode": forward.mode,
        "Statistics": forward.stats.snapshot(),
    })
}

/// Opens the data channel and starts forwarding; the data is the forward's description
/// and its `Handle`.
pub async fn start(cache: &ClientCache, call: PortForwardCall) -> Result<Value, ErrorBody> {
    if forwards().len() >= MAX_FORWARDS {
        return Err(ErrorBody::internal(
            "TooManyPortForwards",
            format!("{MAX_FORWARDS} port forwards are open; stop some first."),
        ));
    }
    let (forward, output) = ssmsession_core::start_port_forward(cache, call).await?;
    let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    let mut data = serde_json::to_value(&output)
        .map_err(|e| ErrorBody::internal("SerializationFailure", e.to_string()))?;
    data["Handle"] = json!(handle);
    forwards().insert(
        handle,
        Entry {
            forward: Arc::new(forward),
            session_id: output.session_id,
            agent_version: output.agent_version,
        },
    );
    Ok(data)
}

/// `{"Handle":n,"WaitMs":t}`: the status once the forward has ended or after `t` ms.
pub async fn wait(request: HandleRequest) -> Result<Value, ErrorBody> {
    let (forward, session_id) = entry(request.handle)?;
    let wait = Duration::from_millis(request.wait_ms.min(MAX_WAIT_MS));
    if !wait.is_zero() {
        let _ = tokio::time::timeout(wait, forward.wait()).await;
    }
    Ok(status(request.handle, &session_id, &forward))
}

/// `{"Handle":n}`: stops the forward (terminating the session unless it is kept), waits
/// for the end, releases the handle and returns the final status.
pub async fn stop(request: HandleRequest) -> Result<Value, ErrorBody> {
    let (forward, session_id) = entry(request.handle)?;
    forward.stop();
    let stopped = tokio::time::timeout(STOP_TIMEOUT, forward.wait()).await;
    let mut final_status = status(request.handle, &session_id, &forward);
    if stopped.is_err() {
        crate::session_state::mark_stop_timed_out(&mut final_status, STOP_TIMEOUT);
    }
    forwards().remove(&request.handle);
    Ok(final_status)
}

/// Stops every forward (module removal, process exit); returns how many were running.
pub async fn stop_all() -> Result<Value, ErrorBody> {
    let handles: Vec<u64> = forwards().keys().copied().collect();
    let stops = handles
        .iter()
        .map(|&handle| stop(HandleRequest { handle, wait_ms: 0 }));
    let results = futures_join_all(stops).await;
    Ok(json!({ "Stopped": results.iter().filter(|r| r.is_ok()).count() }))
}

/// Stops every forward and command and terminates their sessions, waiting at most `limit` in all: the
/// host's process is exiting and nothing else will. Touches no runtime when nothing runs.
pub fn shutdown(limit: std::time::Duration) {
    let running = forwards().len();
    tracing::info!(
        running,
        "shutdown: stopping the running forwards and commands"
    );
    if running == 0 && !crate::commands::any() {
        return;
    }
    // The timer is made inside the runtime (a tokio timer needs one when it is created).
    let outcome = crate::runtime::block_on(async move {
        tokio::time::timeout(limit, async {
            let (forwards, _) = tokio::join!(stop_all(), crate::commands::stop_all());
            forwards
        })
        .await
    });
    tracing::info!(
        stopped_in_time = matches!(outcome, Ok(Ok(_))),
        "shutdown: done"
    );
}

/// Runs the futures concurrently (a stop waits seconds for the agent; many stops must not
/// add up).
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(result) = task.await {
            results.push(result);
        }
    }
    results
}

/// Handles of the forwards that exist, for listing.
pub fn list() -> Value {
    let entries: Vec<Value> = forwards()
        .iter()
        .map(|(handle, e)| {
            let mut entry = status(*handle, &e.session_id, &e.forward);
            entry["AgentVersion"] = json!(e.agent_version);
            entry
        })
        .collect();
    json!(entries)
}
