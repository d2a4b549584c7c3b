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

/// Adds `Client` (what ResolveClient answers: region, where it and the credentials came
/// from, the network path, warnings) to a session call's data, from the client the call
/// just used (cached: no second resolution). Callers that ask nothing before the call (no
/// -WhatIf, no prompt) then need one native round trip, not two.
async fn with_client_resolution(
    mut data: Value,
    settings: &ssmsession_core::ClientSettings,
) -> Result<Value, ErrorBody> {
    let resolution = CLIENTS.client(settings).await?.resolution;
    if let Value::Object(fields) = &mut data {
        let resolution = serde_json::to_value(resolution)
            .map_err(|e| ErrorBody::internal("SerializationFailure", e.to_string()))?;
        fields.insert("Client".to_owned(), resolution);
    }
    Ok(data)
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
                let settings = call.client.clone();
                let data = to_data(ssmsession_core::start_session(&CLIENTS, call).await)?;
                with_client_resolution(data, &settings).await
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
                let settings = call.client.clone();
                let data = to_data(ssmsession_core::terminate_session(&CLIENTS, call).await)?;
                with_client_resolution(data, &settings).await
            }))
        }
        "ResumeSession" => {
            let call: SessionCall = serde_json::from_value(request).map_err(invalid)?;
            Ok(Box::pin(async move {
                let settings = call.client.clone();
                let data = to_data(ssmsession_core::resume_session(&CLIENTS, call).await)?;
                with_client_resolution(data, &settings).await
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
