//! Running port forwards, by handle ([`crate::registry`]): started by one call, they run
//! after it returned; later calls ask for their status, wait for their end, or stop them.

use serde_json::{json, Value};
use ssmsession_core::{ClientCache, PortForward, PortForwardCall};

use crate::envelope::ErrorBody;
use crate::registry::{HandleRequest, Registry, STOP_TIMEOUT};

pub struct Entry {
    forward: PortForward,
    session_id: String,
    /// As the handshake reported it, for listings.
    agent_version: String,
}

pub static FORWARDS: Registry<Entry> = Registry::new(
    "port forward",
    256,
    "UnknownPortForward",
    "TooManyPortForwards",
);

/// The status document: state, the end's message, and the live figures.
fn status(handle: u64, entry: &Entry) -> Value {
    let forward = &entry.forward;
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
        "SessionId": entry.session_id,
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
    FORWARDS.check_room()?;
    let (forward, output) = ssmsession_core::start_port_forward(cache, call).await?;
    let mut data = serde_json::to_value(&output)
        .map_err(|e| ErrorBody::internal("SerializationFailure", e.to_string()))?;
    let handle = FORWARDS.insert(Entry {
        forward,
        session_id: output.session_id,
        agent_version: output.agent_version,
    });
    data["Handle"] = json!(handle);
    Ok(data)
}

/// `{"Handle":n,"WaitMs":t}`: the status once the forward has ended or after `t` ms.
pub async fn wait(request: HandleRequest) -> Result<Value, ErrorBody> {
    let entry = FORWARDS.get(request.handle)?;
    let wait = request.wait();
    if !wait.is_zero() {
        let _ = tokio::time::timeout(wait, entry.forward.wait()).await;
    }
    Ok(status(request.handle, &entry))
}

/// `{"Handle":n}`: stops the forward (terminating the session unless it is kept), waits
/// for the end, releases the handle and returns the final status.
pub async fn stop(request: HandleRequest) -> Result<Value, ErrorBody> {
    let entry = FORWARDS.get(request.handle)?;
    entry.forward.stop();
    let stopped = tokio::time::timeout(STOP_TIMEOUT, entry.forward.wait()).await;
    let mut final_status = status(request.handle, &entry);
    if stopped.is_err() {
        crate::session_state::mark_stop_timed_out(&mut final_status, STOP_TIMEOUT);
    }
    FORWARDS.remove(request.handle);
    Ok(final_status)
}

/// Stops every forward (module removal, process exit); returns how many were running.
pub async fn stop_all() -> Result<Value, ErrorBody> {
    let stopped = FORWARDS
        .stop_all(|handle| stop(HandleRequest { handle, wait_ms: 0 }))
        .await;
    Ok(json!({ "Stopped": stopped }))
}

/// The forwards that exist, with their status.
pub fn list() -> Value {
    let entries: Vec<Value> = FORWARDS
        .all()
        .iter()
        .map(|(handle, entry)| {
            let mut listed = status(*handle, entry);
            listed["AgentVersion"] = json!(entry.agent_version);
            listed
        })
        .collect();
    json!(entries)
}
