//! The emulator under load: 200 clients at once, each with its own key pair (so its own
//! IAM user), each starting sessions and terminating them. Every call must succeed, every
//! session id must be unique and carry the user of the client that asked (no answer goes
//! to the wrong client), and the emulator must keep answering afterwards.

use std::collections::{BTreeMap, HashSet};

use ssmsession_core::{ClientCache, ClientSettings, SessionCall, StartSessionCall};
use ssmsession_emulator::{Credential, Emulator, EmulatorConfig};

const CLIENTS: usize = 200;
const CALLS_PER_CLIENT: usize = 5;

/// Rounds per client: `SSMSESSION_SOAK_SCALE` times as many in the soak mode.
fn calls_per_client() -> usize {
    CALLS_PER_CLIENT
        * std::env::var("SSMSESSION_SOAK_SCALE")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(1)
}

fn settings(url: &str, client: usize) -> ClientSettings {
    let mut environment = BTreeMap::new();
    environment.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
    ClientSettings {
        region: Some("eu-west-3".into()),
        endpoint_url: Some(url.into()),
        access_key: Some(format!("AKIDLOAD{client:04}")),
        secret_key: Some(format!("load-secret-{client}")),
        environment: Some(environment),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_clients_each_get_their_own_sessions() {
    let config = EmulatorConfig {
        credentials: (0..CLIENTS)
            .map(|client| Credential {
                access_key: format!("AKIDLOAD{client:04}"),
                secret_key: format!("load-secret-{client}"),
                user: format!("load-user-{client}"),
            })
            .collect(),
        log_requests: false,
        ..Default::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let url = emulator.url().to_owned();

    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let url = url.clone();
            tokio::spawn(async move {
                // Its own cache: its own SDK client and connection pool.
                let cache = ClientCache::new();
                let mut sessions = Vec::new();
                for call in 0..calls_per_client() {
                    let started = ssmsession_core::start_session(
                        &cache,
                        StartSessionCall {
                            target: Some(format!("i-{client:04}{call:04}")),
                            document_name: None,
                            parameters: None,
                            reason: Some(format!("load {client} {call}")),
                            client: settings(&url, client),
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("client {client} call {call}: {e}"));
                    let session_id = started.session_id.expect("a session id");
                    assert!(
                        session_id.starts_with(&format!("load-user-{client}-")),
                        "client {client} got {session_id}"
                    );
                    sessions.push(session_id);
                }
                for session_id in &sessions {
                    ssmsession_core::terminate_session(
                        &cache,
                        SessionCall {
                            session_id: Some(session_id.clone()),
                            client: settings(&url, client),
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("client {client} terminate {session_id}: {e}"));
                }
                sessions
            })
        })
        .collect();

    let mut all = HashSet::new();
    for task in tasks {
        for session_id in task.await.expect("no client task panicked") {
            assert!(all.insert(session_id.clone()), "{session_id} given twice");
        }
    }
    assert_eq!(all.len(), CLIENTS * calls_per_client());

    // Still answering, with a fresh client.
    let cache = ClientCache::new();
    let after = ssmsession_core::start_session(
        &cache,
        StartSessionCall {
            target: Some("i-after".into()),
            document_name: None,
            parameters: None,
            reason: None,
            client: settings(&url, 0),
        },
    )
    .await;
    assert!(after.is_ok(), "{after:?}");
    emulator.stop().await;
}
