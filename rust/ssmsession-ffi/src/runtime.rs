//! One multi-thread tokio runtime per process, created on first use.
//!
//! Exports are called from PowerShell threads (never from runtime workers) and block on
//! their future; concurrent callers run concurrently on the shared workers.

use std::future::Future;

use once_cell::sync::Lazy;
use tokio::runtime::{Builder, Runtime};

use crate::envelope::ErrorBody;

static RUNTIME: Lazy<Result<Runtime, String>> = Lazy::new(|| {
    Builder::new_multi_thread()
        .thread_name("ssmsession-worker")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
});

/// The shared runtime, created on first use.
pub fn get() -> Result<&'static Runtime, ErrorBody> {
    RUNTIME.as_ref().map_err(|reason| {
        ErrorBody::internal(
            "RuntimeUnavailable",
            format!("The SSMSession native runtime could not start: {reason}"),
        )
    })
}

/// Runs `future` to completion on the shared runtime.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, ErrorBody> {
    Ok(get()?.block_on(future))
}
