//! JSON text → core call → envelope data, one function per operation.

use std::future::Future;
use std::pin::Pin;

use once_cell::sync::Lazy;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use ssmsession_core::{
    ClientCache, CommandCall, CoreError, PortForwardCall, ResolveClientCall, SessionCall,
    StartSessionCall,
};

use crate::commands;
use crate::envelope::ErrorBody;
use crate::forwards;
use crate::registry::HandleRequest;
use crate::runtime;

/// Clients shared by all calls in the process.
static CLIENTS: Lazy<ClientCache> = Lazy::new(ClientCache::new);

#[cfg(test)]
thread_local! {
    /// Test-only: makes the next call on this thread panic inside the boundary.
    pub(crate) static FORCE_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub type Work = Pin<Box<dyn Future<Output = Result<Value, ErrorBody>> + Send + 'static>>;

pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ErrorBody> {
    serde_json::from_str(text).map_err(|e| {
        ErrorBody::invalid_request("InvalidRequest", format!("The request is not valid: {e}"))
    })
}

fn to_data<T: Serialize>(result: Result<T, CoreError>) -> Result<Value, ErrorBody> {
    let output = result?;
    serde_json::to_value(output)
        .map_err(|e| ErrorBody::internal("SerializationFailure", e.to_string()))
}

/// The warnings of the client a session call uses (what the user must be told about it,
/// e.g. an opted-in plain-text endpoint; ResolveClient answers the same `Warnings`), read
/// before the call: the call then finds the client cached, and a failure to build it comes
/// before any session exists, never after one was started. The module then needs no
/// ResolveClient before calls that ask and show nothing first: one round trip, not two.
async fn client_warnings(
    settings: &ssmsession_core::ClientSettings,
) -> Result<Vec<String>, ErrorBody> {
    Ok(CLIENTS.client(settings).await?.resolution.warnings)
}

/// Adds `ClientWarnings` to a session call's data when there are any.
fn add_client_warnings(data: &mut Value, warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    if let Value::Object(fields) = data {
        fields.insert("ClientWarnings".to_owned(), Value::from(warnings.to_vec()));
    }
}

/// The request of operations that take none: `{}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyRequest {}

/// The future for an operation by name, with its request already checked.
pub fn future_for(operation: &str, request: Value) -> Result<Work, ErrorBody> {
    let invalid = |e: serde_json::Error| {
        ErrorBody::invalid_request("InvalidRequest", format!("The request is not valid: {e}"))
    };
    match operation {
        "StartSession" => {
            let call: StartSessionCall = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async move {
                let warnings = client_warnings(&call.client).await?;
                let mut data = to_data(ssmsession_core::start_session(&CLIENTS, call).await)?;
                add_client_warnings(&mut data, &warnings);
                Ok(data)
            }))
        }
        "ResolveClient" => {
            let call: ResolveClientCall = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async move {
                to_data(ssmsession_core::resolve_client(&CLIENTS, call).await)
            }))
        }
        "TerminateSession" => {
            let call: SessionCall = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async move {
                let warnings = client_warnings(&call.client).await?;
                let mut data = to_data(ssmsession_core::terminate_session(&CLIENTS, call).await)?;
                add_client_warnings(&mut data, &warnings);
                Ok(data)
            }))
        }
        "ResumeSession" => {
            let call: SessionCall = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async move {
                let warnings = client_warnings(&call.client).await?;
                let mut data = to_data(ssmsession_core::resume_session(&CLIENTS, call).await)?;
                add_client_warnings(&mut data, &warnings);
                Ok(data)
            }))
        }
        "StartPortForward" => {
            let call: PortForwardCall = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(
                async move { forwards::start(&CLIENTS, call).await },
            ))
        }
        "PortForwardStatus" => {
            let call: HandleRequest = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(forwards::wait(call)))
        }
        "StopPortForward" => {
            let call: HandleRequest = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(forwards::stop(call)))
        }
        "StopAllPortForwards" => Ok(Box::pin(forwards::stop_all())),
        "ListPortForwards" => Ok(Box::pin(async { Ok(forwards::list()) })),
        "StartCommand" => {
            let call: CommandCall = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(
                async move { commands::start(&CLIENTS, call).await },
            ))
        }
        "CommandOutput" => {
            let call: HandleRequest = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(commands::output(call)))
        }
        "StopCommand" => {
            let call: HandleRequest = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(commands::stop(call)))
        }
        "StopAllCommands" => Ok(Box::pin(commands::stop_all())),
        "RunShell" => {
            let call: crate::shells::RunShellRequest =
                serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(
                async move { crate::shells::run(&CLIENTS, call).await },
            ))
        }
        "CreateCommandDocument" => {
            let call: ssmsession_core::CommandDocumentCall =
                serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async move {
                to_data(ssmsession_core::create_command_document(&CLIENTS, call).await)
            }))
        }
        "DescribeContract" => {
            let _: EmptyRequest = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async { Ok(crate::contract::describe()) }))
        }
        "ConfigureLogging" => {
            let call: crate::logging::LoggingRequest =
                serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async move { crate::logging::configure(call) }))
        }
        other => Err(ErrorBody::invalid_request(
            "UnknownOperation",
            format!(
                "Unknown operation '{other}'; expected one of {}.",
                crate::contract::OPERATIONS.join(", ")
            ),
        )),
    }
}

pub fn start_session(text: &str) -> Result<Value, ErrorBody> {
    #[cfg(test)]
    if FORCE_PANIC.with(|f| f.replace(false)) {
        panic!("forced panic for the ABI test");
    }
    let request: Value = parse(text)?;
    runtime::block_on(future_for("StartSession", request)?)?
}

#[cfg(test)]
mod tests {
    use super::add_client_warnings;
    use serde_json::json;

    #[test]
    fn client_warnings_are_added_only_when_there_are_some() {
        let mut data = json!({ "SessionId": "s-1" });
        add_client_warnings(&mut data, &[]);
        assert_eq!(data, json!({ "SessionId": "s-1" }));
        add_client_warnings(&mut data, &["plain-text endpoint".to_owned()]);
        assert_eq!(
            data,
            json!({ "SessionId": "s-1", "ClientWarnings": ["plain-text endpoint"] })
        );
    }
}
