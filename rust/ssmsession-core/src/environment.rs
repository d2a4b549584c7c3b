//! The environment that credential and region resolution see.
//!
//! On Unix, .NET keeps `Environment.SetEnvironmentVariable` (and so PowerShell's `$env:`)
//! in a managed copy: `getenv` in native code still sees the variables the process started
//! with. The module therefore sends a snapshot, and aws-config reads it through its `Env`
//! shim instead of the process environment.

use std::collections::{BTreeMap, HashMap};

use aws_types::os_shim_internal::Env;

/// The `Env` for a call: the caller's snapshot when given, else the process environment.
///
/// Empty variables count as unset. On Unix .NET keeps a variable "set" to an empty string
/// (PowerShell turns `$null` into `""`), and `AWS_REGION=` in a shell profile is common;
/// aws-config would take "" as the region and fail later with an endpoint error.
pub(crate) fn env_for(snapshot: Option<&BTreeMap<String, String>>) -> Env {
    match snapshot {
        Some(vars) => Env::from(
            vars.iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        ),
        None => Env::real(),
    }
}

/// A snapshot for tests: no instance metadata, a home folder that does not exist (so no
/// profile of this machine is read), and `extra`.
#[cfg(test)]
pub(crate) fn isolated_env(extra: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    vars.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    vars.insert("HOME".into(), "/nonexistent-ssmsession-test-home".into());
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    Some(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_replaces_the_process_environment() {
        let mut vars = BTreeMap::new();
        vars.insert("AWS_REGION".to_string(), "ap-south-2".to_string());
        let env = env_for(Some(&vars));
        assert_eq!(env.get("AWS_REGION").unwrap(), "ap-south-2");
        // PATH exists in every test process but not in the snapshot.
        assert!(env.get("PATH").is_err());
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let mut vars = BTreeMap::new();
        vars.insert("AWS_REGION".to_string(), String::new());
        assert!(env_for(Some(&vars)).get("AWS_REGION").is_err());
    }
}
