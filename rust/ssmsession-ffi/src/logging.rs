//! Diagnostics through `tracing`, off unless asked for: `ConfigureLogging` with a level
//! (and optionally a file) installs a subscriber for this library's own events only. The
//! AWS SDK's events stay off: they are not reviewed for secrets. Our events never carry
//! tokens, keys or payload bytes.

use std::fs::OpenOptions;
use std::sync::Mutex;

use once_cell::sync::OnceCell;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::envelope::ErrorBody;

/// What was configured (once per process: a global subscriber cannot be replaced).
static CONFIGURED: OnceCell<(String, Option<String>)> = OnceCell::new();

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LoggingRequest {
    /// error, warn, info, debug or trace.
    level: String,
    /// Appends to this file; standard error when absent.
    path: Option<String>,
}

fn invalid(message: String) -> ErrorBody {
    ErrorBody::invalid_request("InvalidLogging", message)
}

pub fn configure(request: LoggingRequest) -> Result<Value, ErrorBody> {
    let level: LevelFilter = request.level.parse().map_err(|_| {
        invalid(format!(
            "'{}' is not a log level; use error, warn, info, debug or trace.",
            request.level
        ))
    })?;
    let wanted = (request.level.to_ascii_lowercase(), request.path.clone());
    if let Some(existing) = CONFIGURED.get() {
        if *existing == wanted {
            return Ok(json!({ "Level": existing.0, "Path": existing.1 }));
        }
        return Err(invalid(format!(
            "Logging is already configured (level {}) for this process.",
            existing.0
        )));
    }
    let targets = Targets::new()
        .with_target("ssmsession_datachannel", level)
        .with_target("ssmsession_core", level)
        .with_target("ssmsession", level);
    let installed = match &request.path {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| invalid(format!("Cannot open the log file '{path}': {e}")))?;
            tracing_subscriber::registry()
                .with(tracing_subscriber::fmt::layer().with_writer(Mutex::new(file)))
                .with(targets)
                .try_init()
        }
        None => tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .with(targets)
            .try_init(),
    };
    installed.map_err(|e| invalid(format!("Logging could not be configured: {e}")))?;
    let _ = CONFIGURED.set(wanted.clone());
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "logging configured");
    Ok(json!({ "Level": wanted.0, "Path": wanted.1 }))
}
