//! The JSON contract of the C ABI, kept in one place: its version, the operations
//! `ssm_call_start` knows, and the error kinds an envelope can carry. The PowerShell module
//! refuses a library whose [`SSMSESSION_ABI_VERSION`] differs from its own, and its tests
//! compare its operations and error kinds with `DescribeContract`.

use serde_json::{json, Value};
use ssmsession_core::CoreError;

/// Raised whenever a request, a result or the envelope changes incompatibly (in the C
/// header too, for callers to compare with `ssm_abi_version()` at run time).
/// 2: PascalCase envelope (`Ok`, `Data`, `Error`, `Pending`), one error kind for unusable
/// requests (`invalidRequest`), no `resolve_client` export.
pub const SSMSESSION_ABI_VERSION: u32 = 2;

/// The operations `ssm_call_start` runs (`operations::future_for` has one arm for each).
pub const OPERATIONS: &[&str] = &[
    "StartSession",
    "ResolveClient",
    "TerminateSession",
    "ResumeSession",
    "StartPortForward",
    "PortForwardStatus",
    "StopPortForward",
    "StopAllPortForwards",
    "ListPortForwards",
    "StartCommand",
    "CommandOutput",
    "StopCommand",
    "StopAllCommands",
    "RunShell",
    "ConfigureLogging",
    "CreateCommandDocument",
    "DescribeContract",
];

/// Kinds only the boundary produces, beside [`CoreError::KINDS`].
pub const BOUNDARY_ERROR_KINDS: &[&str] = &["panic", "cancelled"];

/// Every `Error.Kind` an envelope can carry.
pub fn error_kinds() -> impl Iterator<Item = &'static str> {
    CoreError::KINDS.iter().chain(BOUNDARY_ERROR_KINDS).copied()
}

/// `DescribeContract`: what this library speaks.
pub fn describe() -> Value {
    json!({
        "AbiVersion": SSMSESSION_ABI_VERSION,
        "LibraryVersion": env!("CARGO_PKG_VERSION"),
        "Operations": OPERATIONS,
        "ErrorKinds": error_kinds().collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_operation_is_known_and_an_unlisted_one_is_not() {
        for operation in OPERATIONS {
            // A request of the wrong shape still shows the operation is known.
            if let Err(error) = crate::operations::future_for(operation, json!({ "x": 1 })) {
                assert_ne!(error.code, "UnknownOperation", "{operation}");
            }
        }
        let unknown = crate::operations::future_for("NoSuchOperation", json!({}));
        assert_eq!(
            unknown.err().map(|e| e.code),
            Some("UnknownOperation".to_owned())
        );
    }

    #[test]
    fn the_boundary_kinds_are_the_ones_it_produces() {
        use crate::envelope::ErrorBody;
        let produced = [
            ErrorBody::panic(String::new()).kind,
            ErrorBody::cancelled().kind,
            ErrorBody::internal("X", "").kind,
            ErrorBody::invalid_request("X", "").kind,
        ];
        for kind in produced {
            assert!(error_kinds().any(|k| k == kind), "{kind}");
        }
    }
}
