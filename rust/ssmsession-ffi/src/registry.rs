//! Running sessions by handle — port forwards and commands alike — and the process-exit
//! shutdown that stops them all. A session runs on the shared runtime after the call that
//! started it returned; later calls find it by its handle. Handles are numbers, never
//! pointers: a stale or made-up handle is an error envelope, not a crash.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Deserialize;

use crate::envelope::ErrorBody;

/// Longest single wait for a status or output; callers loop for longer waits.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How long a stop may take: the TerminateSession flag (3 s) and then the API.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// `{"Handle":n,"WaitMs":t}`: which session, and how long to wait (0: not at all).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HandleRequest {
    pub handle: u64,
    #[serde(default)]
    pub wait_ms: u64,
}

impl HandleRequest {
    /// The wait asked for, at most [`MAX_WAIT`].
    pub fn wait(&self) -> Duration {
        Duration::from_millis(self.wait_ms).min(MAX_WAIT)
    }
}

/// The sessions of one kind that exist, by handle.
pub struct Registry<T> {
    entries: Mutex<BTreeMap<u64, Arc<T>>>,
    next_handle: AtomicU64,
    /// Sessions at once, at most: each holds a WebSocket (and a forward a listener).
    capacity: usize,
    /// What a session is called in messages ("port forward", "command").
    noun: &'static str,
    /// The error codes for an unknown handle and for a full registry.
    unknown_code: &'static str,
    full_code: &'static str,
}

impl<T> Registry<T> {
    pub const fn new(
        noun: &'static str,
        capacity: usize,
        unknown_code: &'static str,
        full_code: &'static str,
    ) -> Self {
        Self {
            entries: Mutex::new(BTreeMap::new()),
            next_handle: AtomicU64::new(1),
            capacity,
            noun,
            unknown_code,
            full_code,
        }
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<T>>> {
        // Entries are inserted and removed whole: a poisoned lock still holds a valid map.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fails when the registry is full: checked before a session is started.
    pub fn check_room(&self) -> Result<(), ErrorBody> {
        if self.entries().len() >= self.capacity {
            return Err(ErrorBody::internal(
                self.full_code,
                format!(
                    "{} {}s are running; stop some first.",
                    self.capacity, self.noun
                ),
            ));
        }
        Ok(())
    }

    /// Keeps a started session; returns its handle.
    pub fn insert(&self, entry: T) -> u64 {
        let handle = self.next_handle.fetch_add(1, Ordering::Relaxed);
        self.entries().insert(handle, Arc::new(entry));
        handle
    }

    /// The session behind `handle`.
    pub fn get(&self, handle: u64) -> Result<Arc<T>, ErrorBody> {
        self.entries().get(&handle).cloned().ok_or_else(|| {
            ErrorBody::invalid_request(
                self.unknown_code,
                format!(
                    "No {} has handle {handle}; it was stopped and collected, or never existed.",
                    self.noun
                ),
            )
        })
    }

    /// Forgets a session (after its stop).
    pub fn remove(&self, handle: u64) {
        self.entries().remove(&handle);
    }

    /// Every session with its handle, in the order they were started.
    pub fn all(&self) -> Vec<(u64, Arc<T>)> {
        self.entries()
            .iter()
            .map(|(handle, entry)| (*handle, entry.clone()))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// Stops every session with `stop`, all at once (a stop waits seconds for the agent;
    /// many must not add up); returns how many stopped.
    pub async fn stop_all<F, Fut, E>(&self, stop: F) -> usize
    where
        F: Fn(u64) -> Fut,
        Fut: Future<Output = Result<serde_json::Value, E>> + Send + 'static,
        E: Send + 'static,
    {
        let tasks: Vec<_> = self
            .all()
            .into_iter()
            .map(|(handle, _)| tokio::spawn(stop(handle)))
            .collect();
        let mut stopped = 0;
        for task in tasks {
            if matches!(task.await, Ok(Ok(_))) {
                stopped += 1;
            }
        }
        stopped
    }
}

/// Stops every forward and command and terminates their sessions, waiting at most `limit`
/// in all: the host's process is exiting and nothing else will. Touches no runtime when
/// nothing runs.
pub fn shutdown(limit: Duration) {
    let idle = crate::forwards::FORWARDS.is_empty() && crate::commands::COMMANDS.is_empty();
    tracing::info!(idle, "shutdown: stopping the running forwards and commands");
    if idle {
        return;
    }
    // The timer is made inside the runtime (a tokio timer needs one when it is created).
    let outcome = crate::runtime::block_on(async move {
        tokio::time::timeout(limit, async {
            tokio::join!(crate::forwards::stop_all(), crate::commands::stop_all())
        })
        .await
    });
    tracing::info!(
        stopped_in_time = matches!(outcome, Ok(Ok(_))),
        "shutdown: done"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_found_until_removed_and_the_registry_has_a_bound() {
        let registry: Registry<&str> = Registry::new("thing", 2, "UnknownThing", "TooManyThings");
        assert!(registry.is_empty());
        let first = registry.insert("a");
        let second = registry.insert("b");
        assert_ne!(first, second);
        assert_eq!(*registry.get(first).unwrap(), "a");
        assert_eq!(registry.check_room().unwrap_err().code, "TooManyThings");
        registry.remove(first);
        let unknown = registry.get(first).unwrap_err();
        assert_eq!(unknown.code, "UnknownThing");
        assert_eq!(unknown.kind, "invalidRequest");
        assert!(unknown
            .message
            .contains(&format!("No thing has handle {first}")));
        assert!(registry.check_room().is_ok());
        assert_eq!(registry.all().len(), 1);
    }

    #[test]
    fn waits_are_bounded() {
        let request = HandleRequest {
            handle: 1,
            wait_ms: u64::MAX,
        };
        assert_eq!(request.wait(), MAX_WAIT);
    }
}
