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

/// A session call's result with the client's warnings: `ClientWarnings` in its data, or in
/// its error, when there are any (the user is told about the client whether the call
/// succeeds or fails, as when ResolveClient runs first).
fn with_client_warnings(
    result: Result<Value, ErrorBody>,
    warnings: Vec<String>,
) -> Result<Value, ErrorBody> {
    if warnings.is_empty() {
        return result;
    }
    match result {
        Ok(Value::Object(mut fields)) => {
            fields.insert("ClientWarnings".to_owned(), Value::from(warnings));
            Ok(Value::Object(fields))
        }
        Ok(other) => Ok(other),
        Err(mut error) => {
            error.client_warnings = warnings;
            Err(error)
        }
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
                let result = to_data(ssmsession_core::start_session(&CLIENTS, call).await);
                with_client_warnings(result, warnings)
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
                let result = to_data(ssmsession_core::terminate_session(&CLIENTS, call).await);
                with_client_warnings(result, warnings)
            }))
        }
        "ResumeSession" => {
            let call: SessionCall = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async move {
                let warnings = client_warnings(&call.client).await?;
                let result = to_data(ssmsession_core::resume_session(&CLIENTS, call).await);
                with_client_warnings(result, warnings)
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
    use super::with_client_warnings;
    use crate::envelope::ErrorBody;
    use serde_json::json;

    #[test]
    fn client_warnings_are_added_only_when_there_are_some() {
        let data = json!({ "SessionId": "s-1" });
        assert_eq!(
            with_client_warnings(Ok(data.clone()), Vec::new()),
            Ok(data.clone())
        );
        assert_eq!(
            with_client_warnings(Ok(data), vec!["plain-text endpoint".to_owned()]),
            Ok(json!({ "SessionId": "s-1", "ClientWarnings": ["plain-text endpoint"] }))
        );
    }

    #[test]
    fn a_failed_call_carries_the_client_warnings_in_its_error() {
        let failure = || ErrorBody::internal("Refused", "refused");
        assert_eq!(
            with_client_warnings(Err(failure()), Vec::new()),
            Err(failure())
        );
        let error = with_client_warnings(Err(failure()), vec!["plain-text endpoint".to_owned()])
            .expect_err("still a failure");
        assert_eq!(
            error.client_warnings,
            vec!["plain-text endpoint".to_owned()]
        );
        assert_eq!(
            serde_json::to_value(&error).expect("serialises")["ClientWarnings"],
            json!(["plain-text endpoint"])
        );
        assert!(serde_json::to_value(failure())
            .expect("serialises")
            .get("ClientWarnings")
            .is_none());
    }
}
