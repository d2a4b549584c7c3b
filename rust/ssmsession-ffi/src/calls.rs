//! Cancellable calls: `start` returns a call id at once, `wait` blocks up to a timeout for
//! the result, `cancel` aborts the request. PowerShell waits in short slices so that a
//! pipeline stop (Ctrl+C) is noticed between slices and cancels the native request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use once_cell::sync::Lazy;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::AbortHandle;

use crate::envelope::{self, ErrorBody};
use crate::operations;
use crate::runtime;

/// Calls started and not yet collected or cancelled, at most. A caller that never collects
/// its calls gets an error instead of growing memory without bound.
const MAX_OPEN_CALLS: usize = 4096;
/// Longest single wait; callers loop for longer waits.
const MAX_WAIT_MS: u64 = 60_000;

struct Call {
    /// The finished call's envelope, once there is one.
    result: Mutex<Option<String>>,
    ready: Condvar,
    abort: AbortHandle,
}

static CALLS: Lazy<Mutex<HashMap<u64, Arc<Call>>>> = Lazy::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn calls() -> MutexGuard<'static, HashMap<u64, Arc<Call>>> {
    // Entries are inserted and removed whole: a poisoned lock still holds a valid map.
    CALLS.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct StartRequest {
    operation: String,
    request: Value,
    /// How long to wait before answering "pending"; most calls finish within a few
    /// milliseconds, which saves the caller a separate wait.
    #[serde(default)]
    wait_ms: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct WaitRequest {
    call_id: u64,
    #[serde(default)]
    timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CancelRequest {
    call_id: u64,
}

/// `{"Operation":"StartSession"|"ResolveClient","Request":{…},"WaitMs":t}` → what
/// [`wait`] answers after `t` ms: the finished call's envelope, or
/// `{"Ok":true,"Pending":true,"Data":{"CallId":n}}`.
pub fn start(text: &str) -> String {
    match begin(text) {
        Ok((id, 0)) => envelope::pending(id),
        Ok((id, wait_ms)) => wait_for(id, wait_ms),
        Err(error) => envelope::failure(error),
    }
}

/// Starts the call; returns its id and how long the caller wants to wait at once.
fn begin(text: &str) -> Result<(u64, u64), ErrorBody> {
    let StartRequest {
        operation,
        request,
        wait_ms,
    } = operations::parse(text)?;
    let work = operations::future_for(&operation, request)?;
    let runtime = runtime::get()?;
    let mut open = calls();
    if open.len() >= MAX_OPEN_CALLS {
        return Err(ErrorBody::internal(
            "TooManyCalls",
            format!("{MAX_OPEN_CALLS} calls are open; collect or cancel some first."),
        ));
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    // The work runs in its own task so that a panic in it surfaces as a JoinError here
    // (and becomes an error envelope) instead of leaving the call unfinished forever.
    let inner = runtime.spawn(work);
    let call = Arc::new(Call {
        result: Mutex::new(None),
        ready: Condvar::new(),
        abort: inner.abort_handle(),
    });
    open.insert(id, call.clone());
    drop(open);
    runtime.spawn(async move {
        let text = match inner.await {
            Ok(Ok(data)) => envelope::success(data),
            Ok(Err(error)) => envelope::failure(error),
            Err(join) if join.is_cancelled() => envelope::failure(ErrorBody::cancelled()),
            Err(join) => envelope::failure(ErrorBody::panic(crate::boundary::panic_text(
                &*join.into_panic(),
            ))),
        };
        *call.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
        call.ready.notify_all();
    });
    Ok((id, wait_ms))
}

/// `{"CallId":n,"TimeoutMs":t}` → the call's own envelope when it has finished (the call
/// is then forgotten), or `{"Ok":true,"Pending":true,"Data":{"CallId":n}}` after `t` ms.
pub fn wait(text: &str) -> String {
    match operations::parse::<WaitRequest>(text) {
        Ok(request) => wait_for(request.call_id, request.timeout_ms),
        Err(e) => envelope::failure(e),
    }
}

fn wait_for(call_id: u64, timeout_ms: u64) -> String {
    let Some(call) = calls().get(&call_id).cloned() else {
        return envelope::failure(ErrorBody::unknown_call(call_id));
    };
    let timeout = Duration::from_millis(timeout_ms.min(MAX_WAIT_MS));
    let guard = call.result.lock().unwrap_or_else(|p| p.into_inner());
    let (mut guard, _) = call
        .ready
        .wait_timeout_while(guard, timeout, |result| result.is_none())
        .unwrap_or_else(|p| p.into_inner());
    match guard.take() {
        Some(result) => {
            drop(guard);
            calls().remove(&call_id);
            result
        }
        None => envelope::pending(call_id),
    }
}

/// `{"CallId":n}` → `{"CallId":n,"Cancelled":bool}`; cancelling a finished, collected or
/// unknown call is not an error.
pub fn cancel(text: &str) -> Result<Value, ErrorBody> {
    let request: CancelRequest = operations::parse(text)?;
    let removed = calls().remove(&request.call_id);
    if let Some(call) = &removed {
        call.abort.abort();
    }
    Ok(json!({ "CallId": request.call_id, "Cancelled": removed.is_some() }))
}
