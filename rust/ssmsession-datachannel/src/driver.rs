//! A session's life after its handshake, whatever its kind (port, command, shell): the
//! [`Driver`] owns the socket and the sequencing state, runs the local side next to the
//! engine, replaces a lost socket through ResumeSession within a budget, hands everything
//! acknowledged to the local side when the service closes the channel, and ends the
//! session on the service when this side stops or fails.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::engine::{Endpoint, Payload, PumpEnd, Undelivered};
use crate::inbound::inbound_queue;
use crate::message::PayloadType;
use crate::payload::Flag;
use crate::session::EngineChannels;
use crate::transport::{connect, ChannelConfig, Connection, Signing};

/// How long a stop waits for the agent to acknowledge the TerminateSession flag before
/// the TerminateSession API is called instead.
pub const TERMINATE_WAIT: Duration = Duration::from_secs(3);
/// How long a command may take to end after Ctrl+C before its session is terminated
/// through the API (which kills it).
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(1);
/// How long the TerminateSession API may take before the session is reported as possibly
/// still open (callers give a stop 30 s in all).
pub const TERMINATE_API_LIMIT: Duration = Duration::from_secs(20);

/// Reconnecting after a lost socket: consecutive attempts at most. A socket over which the
/// session made no progress (nothing new arrived in order, nothing of ours was
/// acknowledged) and that lived less than [`HEALTHY_LINK`] counts as a failed attempt, so
/// an endpoint that accepts and drops at once cannot keep the session spinning.
pub const RECONNECT_ATTEMPTS: u32 = 6;
/// Reconnecting: time since the last healthy socket at most.
pub const RECONNECT_BUDGET: Duration = Duration::from_secs(60);
/// A socket that stayed up this long was healthy even if the session was idle: the
/// attempt count starts again.
pub const HEALTHY_LINK: Duration = Duration::from_secs(10);
/// Back-off between attempts: from this, doubling, with ±50 % jitter, up to the maximum
/// (the reference retryer: 100–200 ms doubling to 5 s).
const RECONNECT_FIRST_DELAY: Duration = Duration::from_millis(150);
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(5);

/// How a session ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "State", content = "Message")]
pub enum SessionEnd {
    /// The service closed the channel; the text is its reason as the plugin prints it.
    Closed(String),
    /// Stopped from this side; the session was terminated unless it was to be kept.
    Stopped,
    /// Given up: the reason.
    Failed(String),
}

/// What ResumeSession gave for reopening the channel.
#[derive(Clone)]
pub struct Resumed {
    pub token_value: String,
    /// Newer services return a fresh URL (new `cell-number`); None keeps the old one. The
    /// caller has checked it against the same rules as the first URL.
    pub stream_url: Option<String>,
    /// Fresh signing credentials, when the caller has newer ones.
    pub signing: Option<Signing>,
}

/// ResumeSession failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeError {
    pub message: String,
    /// Trying again cannot help (say, the service answered with a URL this client refuses).
    pub permanent: bool,
}

impl ResumeError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

/// The SSM API calls a running session needs, provided by the caller (this crate does not
/// talk to the SSM API).
pub trait SessionControl: Send + Sync + 'static {
    /// ResumeSession. `Ok(None)` when the service returned no token: the session timed out.
    fn resume(&self) -> impl Future<Output = Result<Option<Resumed>, ResumeError>> + Send;
    /// The TerminateSession API.
    fn terminate(&self) -> impl Future<Output = Result<(), String>> + Send;
}

/// Acknowledged data from the agent that never reached the local side, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    pub messages: usize,
    pub bytes: usize,
    pub cause: CutCause,
}

/// Why acknowledged data did not reach the local side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CutCause {
    /// The session was stopped (or failed) before the local side read it.
    Stopped,
    /// The channel closed while messages before it were missing: the agent skipped
    /// sequence numbers, so it could never be handed over in order.
    Gap,
}

impl Cut {
    fn of(undelivered: Undelivered, cause: CutCause) -> Option<Cut> {
        (undelivered.bytes > 0 || undelivered.messages > 0).then_some(Cut {
            messages: undelivered.messages,
            bytes: undelivered.bytes,
            cause,
        })
    }
}

/// How the local side of a session (a port's listener, a command's buffers, a terminal)
/// ended by itself: Err when it failed because of what the agent sent.
pub type LocalEnd = Result<(), String>;

/// A session running in the background ([`Driver::spawn`]): stop it, read or await its end.
pub struct SessionRun {
    stop: watch::Sender<bool>,
    ended: watch::Receiver<Option<SessionEnd>>,
    undelivered: Arc<Mutex<Option<Cut>>>,
}

impl SessionRun {
    /// Asks the session to stop; [`SessionRun::wait`] tells when it has.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// How it ended, once it has.
    pub fn end(&self) -> Option<SessionEnd> {
        self.ended.borrow().clone()
    }

    /// Waits for the end.
    pub async fn wait(&self) -> SessionEnd {
        let mut ended = self.ended.clone();
        let result = ended.wait_for(Option::is_some).await;
        match result {
            Ok(end) => end.clone().unwrap_or(SessionEnd::Stopped),
            Err(_) => SessionEnd::Failed("the session task ended unexpectedly".into()),
        }
    }

    /// Data the agent sent and this side acknowledged that never reached the local side:
    /// cut short by a stop, or stranded behind a gap when the channel closed. Final once
    /// the session has ended.
    pub fn undelivered(&self) -> Option<Cut> {
        *self.undelivered.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver that sees the end (for waiting next to other things).
    pub(crate) fn ended(&self) -> watch::Receiver<Option<SessionEnd>> {
        self.ended.clone()
    }
}

/// Ends a session this side will not run (the agent asked for another kind), by what its
/// agent acts on: the TerminateSession flag for a port session; the TerminateSession API
/// for shells and commands, whose agents ignore the flag.
pub(crate) async fn end_unwanted<C: SessionControl>(
    opened: crate::session::OpenedSession,
    control: &C,
) {
    if matches!(opened.kind, crate::handshake::SessionKind::Port { .. }) {
        let _ = opened.terminate(TERMINATE_WAIT).await;
        return;
    }
    drop(opened);
    match tokio::time::timeout(TERMINATE_API_LIMIT, control.terminate()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(%e, "the refused session could not be terminated"),
        Err(_) => tracing::warn!("TerminateSession did not answer for the refused session"),
    }
}

/// What ends a session from this side, by what its agent acts on (agent-behaviour §4).
pub(crate) enum Ending {
    /// Port sessions: the agent ends the session on the TerminateSession flag; the API
    /// when the flag is not seen to work.
    Flag,
    /// Shell and command sessions ignore the flag: `interrupt` (Ctrl+C for a command, which
    /// the agent turns into SIGINT) is sent first, then the TerminateSession API ends the
    /// session (the agent kills the process) unless the session ended meanwhile.
    Api { interrupt: Option<Payload> },
}

/// Owns the socket and the sequencing state; replaces the socket when it is lost. Runs
/// the session's local side (fed through the session's `LocalChannels`) until the session
/// ends or is stopped.
pub(crate) struct Driver<C> {
    pub(crate) ending: Ending,
    /// The service closed the channel during the handshake: nothing to pump, only the
    /// queued payloads to hand to the local side.
    pub(crate) closed: Option<String>,
    pub(crate) connection: Connection,
    pub(crate) endpoint: Endpoint,
    pub(crate) engine: EngineChannels,
    pub(crate) config: ChannelConfig,
    pub(crate) control: C,
    pub(crate) keep_session: bool,
    pub(crate) reconnects: Arc<AtomicU64>,
}

enum Outcome {
    End(SessionEnd),
    StopRequested,
}

/// The back-off before reconnect attempt `attempt` (1-based): none for the first after a
/// healthy socket, then doubling with ±50 % jitter.
fn reconnect_delay(attempt: u32) -> Duration {
    if attempt <= 1 {
        return Duration::ZERO;
    }
    let doubled = RECONNECT_FIRST_DELAY.saturating_mul(1 << (attempt - 2).min(16));
    doubled
        .min(RECONNECT_MAX_DELAY)
        .mul_f64(0.5 + rand::random::<f64>())
}

impl<C: SessionControl> Driver<C> {
    /// Runs in the background.
    pub(crate) fn spawn(self, app: impl Future<Output = LocalEnd> + Send + 'static) -> SessionRun {
        let (stop, stop_rx) = watch::channel(false);
        let (ended_tx, ended) = watch::channel(None);
        let undelivered = Arc::new(Mutex::new(None));
        let reported = undelivered.clone();
        tokio::spawn(async move {
            let (end, cut) = self.run(app, stop_rx).await;
            *reported.lock().unwrap_or_else(|e| e.into_inner()) = cut;
            let _ = ended_tx.send(Some(end));
        });
        SessionRun {
            stop,
            ended,
            undelivered,
        }
    }

    async fn run(
        mut self,
        app: impl Future<Output = LocalEnd> + Send + 'static,
        mut stop: watch::Receiver<bool>,
    ) -> (SessionEnd, Option<Cut>) {
        // Dropping the set aborts the local side: listener, connections, smux.
        let mut local_side = JoinSet::new();
        local_side.spawn(app);
        let mut link_opened = Instant::now();
        let mut progress_at_open = self.endpoint.progress();
        let mut attempts = 0u32;
        let mut outage_started = Instant::now();
        let outcome = loop {
            if let Some(reason) = self.closed.take() {
                break Outcome::End(SessionEnd::Closed(reason));
            }
            let pumped = tokio::select! {
                end = self.endpoint.pump(&mut self.connection, &mut self.engine.outbound, &self.engine.inbound) => end,
                _ = stop.wait_for(|stop| *stop) => break Outcome::StopRequested,
                local = local_side.join_next() => break local_outcome(local),
            };
            tracing::debug!(
                end = ?pumped,
                unacknowledged = self.endpoint.unacknowledged(),
                expected = self.endpoint.expected(),
                counters = ?self.endpoint.counters(),
                "the channel pump ended"
            );
            match pumped {
                PumpEnd::ChannelClosed(reason) => break Outcome::End(SessionEnd::Closed(reason)),
                // The local side let go of its channel: it ended, or it failed.
                PumpEnd::Finished | PumpEnd::AllSent => {
                    let local = tokio::time::timeout(Duration::from_secs(1), local_side.join_next())
                        .await
                        .unwrap_or(None);
                    break local_outcome(local);
                }
                PumpEnd::Unacknowledged(age) => {
                    break Outcome::End(SessionEnd::Failed(format!(
                        "The agent did not acknowledge data for {} s; the session was given up.",
                        age.as_secs()
                    )))
                }
                PumpEnd::PeerError(reason) => {
                    break Outcome::End(SessionEnd::Failed(format!(
                        "The agent broke the data channel protocol ({reason}); the session was given up."
                    )))
                }
                PumpEnd::LinkLost(error) => {
                    let progressed = self.endpoint.progress() != progress_at_open;
                    if progressed || link_opened.elapsed() >= HEALTHY_LINK {
                        attempts = 0;
                        outage_started = Instant::now();
                    }
                    let lost = error.map(|e| e.message).unwrap_or_else(|| "closed by the service".into());
                    let reconnected = tokio::select! {
                        reconnected = self.reconnect(&mut attempts, outage_started, lost) => reconnected,
                        _ = stop.wait_for(|stop| *stop) => break Outcome::StopRequested,
                    };
                    match reconnected {
                        Ok(Some(connection)) => {
                            self.connection = connection;
                            link_opened = Instant::now();
                            progress_at_open = self.endpoint.progress();
                            self.reconnects.fetch_add(1, Ordering::Relaxed);
                            // A failure here is another lost link, handled on the next round.
                            let _ = self.endpoint.resend_all(&mut self.connection).await;
                        }
                        Ok(None) => {
                            break Outcome::End(SessionEnd::Closed(format!(
                                "Session: {} timed out.",
                                crate::transport::session_id_of(&self.config.stream_url)
                            )))
                        }
                        Err(reason) => break Outcome::End(SessionEnd::Failed(reason)),
                    }
                }
            }
        };
        // A command stopped from this side gets Ctrl+C first, with its local side still
        // reading: what it writes as it ends (all of its output, with documents whose agent
        // holds it until the end) and its exit code are delivered, not cut, when it ends
        // within the grace.
        let mut interrupted = false;
        let outcome = match outcome {
            Outcome::StopRequested if !self.keep_session => match self.interrupt().await {
                Some(reason) => {
                    interrupted = true;
                    Outcome::End(SessionEnd::Closed(reason))
                }
                None => Outcome::StopRequested,
            },
            other => other,
        };
        let mut cut = if interrupted {
            // Already stopped: the ended command's last output gets a bounded hand-over.
            match tokio::time::timeout(INTERRUPT_GRACE, self.drain(&mut local_side)).await {
                Ok(stranded) => Cut::of(stranded, CutCause::Gap),
                Err(_) => Cut::of(self.pending(), CutCause::Stopped),
            }
        } else if let Outcome::End(SessionEnd::Closed(_)) = &outcome {
            // Everything acknowledged goes to the local side, however slowly it reads; only
            // a stop cuts it short.
            tokio::select! {
                stranded = self.drain(&mut local_side) => Cut::of(stranded, CutCause::Gap),
                _ = stop.wait_for(|stop| *stop) => Cut::of(self.pending(), CutCause::Stopped),
            }
        } else {
            Cut::of(self.pending(), CutCause::Stopped)
        };
        drop(local_side);
        let end = match outcome {
            Outcome::End(SessionEnd::Failed(reason)) => {
                if !self.keep_session {
                    if let Err(e) = self.terminate_through_api().await {
                        tracing::warn!(%e, "the failed session could not be terminated");
                    }
                }
                SessionEnd::Failed(reason)
            }
            // Stopped from here, and ended by its interrupt: nothing was cut.
            Outcome::End(_) if interrupted => SessionEnd::Stopped,
            Outcome::End(end) => end,
            Outcome::StopRequested => {
                tracing::info!(keep_session = self.keep_session, "stopping the session");
                let discarded = self
                    .endpoint
                    .counters()
                    .bytes_discarded
                    .load(Ordering::Relaxed);
                let ended_in_band = !self.keep_session && self.end_in_band().await;
                // What still arrived while the session was being ended was cut too.
                let late = self
                    .endpoint
                    .counters()
                    .bytes_discarded
                    .load(Ordering::Relaxed)
                    .saturating_sub(discarded);
                cut = add_late(cut, late);
                if !self.keep_session && !ended_in_band {
                    tracing::info!(
                        "the session was not seen to end; calling the TerminateSession API"
                    );
                    if let Err(reason) = self.terminate_through_api().await {
                        return (
                            SessionEnd::Failed(format!(
                                "The session could not be terminated: {reason}"
                            )),
                            cut,
                        );
                    }
                }
                SessionEnd::Stopped
            }
        };
        (end, cut)
    }

    /// Acknowledged arrivals not handed over yet: held by the engine, or queued for a local
    /// side that is about to be dropped.
    fn pending(&self) -> Undelivered {
        let held = self.endpoint.held();
        let queued = self.engine.inbound.queued_bytes();
        Undelivered {
            messages: held.messages,
            bytes: held.bytes + queued,
        }
    }

    /// After the service closed the channel: everything that can be handed over goes to
    /// the local side, its channel closes, and the local side finishes. What lies beyond a
    /// gap is returned.
    async fn drain(&mut self, local_side: &mut JoinSet<LocalEnd>) -> Undelivered {
        let stranded = self.endpoint.deliver_remaining(&self.engine.inbound).await;
        // Replacing the engine's sender closes the channel: the local side reads what is
        // queued, then its end.
        let (closed, _) = inbound_queue(0);
        drop(std::mem::replace(&mut self.engine.inbound, closed));
        while local_side.join_next().await.is_some() {}
        stranded
    }

    /// The TerminateSession API, within [`TERMINATE_API_LIMIT`].
    async fn terminate_through_api(&self) -> Result<(), String> {
        match tokio::time::timeout(TERMINATE_API_LIMIT, self.control.terminate()).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "TerminateSession did not answer within {} s; the session may still be open on the service until its idle timeout",
                TERMINATE_API_LIMIT.as_secs()
            )),
        }
    }

    /// A command's stop: sends its interrupt and pumps, delivering to the local side, for
    /// at most [`INTERRUPT_GRACE`]; the service's reason when the channel closed meanwhile.
    async fn interrupt(&mut self) -> Option<String> {
        let Ending::Api {
            interrupt: Some(interrupt),
        } = &self.ending
        else {
            return None;
        };
        self.endpoint
            .send(&mut self.connection, interrupt.clone())
            .await
            .ok()?;
        let pumped = tokio::time::timeout(
            INTERRUPT_GRACE,
            self.endpoint.pump(
                &mut self.connection,
                &mut self.engine.outbound,
                &self.engine.inbound,
            ),
        )
        .await;
        match pumped {
            Ok(PumpEnd::ChannelClosed(reason)) => Some(reason),
            _ => None,
        }
    }

    /// Sends the TerminateSession flag to a port session (shells and commands ignore it;
    /// a command already had its interrupt) and waits for the service's `channel_closed`.
    /// True only when the session is seen to end (`channel_closed`, or the service closing
    /// the socket): an acknowledged flag is not enough. False sends the caller to the
    /// TerminateSession API.
    async fn end_in_band(&mut self) -> bool {
        match &self.ending {
            Ending::Flag => {
                let flag = Payload {
                    payload_type: PayloadType::FLAG,
                    data: Flag::TerminateSession.to_payload(),
                };
                self.send_and_await_close(flag, TERMINATE_WAIT).await
            }
            Ending::Api { .. } => false,
        }
    }

    /// Sends `payload` and pumps until the channel closes (true) or `wait` passes.
    async fn send_and_await_close(&mut self, payload: Payload, wait: Duration) -> bool {
        if self
            .endpoint
            .send(&mut self.connection, payload)
            .await
            .is_err()
        {
            return false;
        }
        // An outbound channel that stays open: the pump runs until channel_closed, the
        // socket's end or the timeout, not merely until everything is acknowledged. What
        // still arrives is acknowledged and dropped: the local side is gone.
        let (_open, mut idle) = tokio::sync::mpsc::channel::<Payload>(1);
        let (discard, _) = inbound_queue(0);
        let pumped = tokio::time::timeout(
            wait,
            self.endpoint
                .pump(&mut self.connection, &mut idle, &discard),
        )
        .await;
        matches!(
            pumped,
            Ok(PumpEnd::ChannelClosed(_) | PumpEnd::LinkLost(None))
        )
    }

    /// ResumeSession, then a new socket with the new token; retried with back-off and
    /// jitter within [`RECONNECT_ATTEMPTS`] and [`RECONNECT_BUDGET`].
    async fn reconnect(
        &mut self,
        attempts: &mut u32,
        outage_started: Instant,
        lost: String,
    ) -> Result<Option<Connection>, String> {
        let mut last_error = format!("the connection was lost: {lost}");
        loop {
            *attempts += 1;
            let spent = outage_started.elapsed();
            if *attempts > RECONNECT_ATTEMPTS || spent >= RECONNECT_BUDGET {
                return Err(format!(
                    "The connection to the session was lost and could not be restored ({} attempts in {} s): {last_error}",
                    *attempts - 1,
                    spent.as_secs()
                ));
            }
            let delay = reconnect_delay(*attempts).min(RECONNECT_BUDGET.saturating_sub(spent));
            tokio::time::sleep(delay).await;
            tracing::warn!(
                attempt = *attempts,
                "the data channel was lost; resuming the session"
            );
            match self.control.resume().await {
                Ok(None) => return Ok(None),
                Ok(Some(resumed)) => {
                    self.config.token_value = resumed.token_value;
                    if let Some(url) = resumed.stream_url.filter(|u| !u.is_empty()) {
                        self.config.stream_url = url;
                    }
                    if let Some(signing) = resumed.signing {
                        self.config.signing = Some(signing);
                    }
                    match connect(&self.config).await {
                        Ok(connection) => return Ok(Some(connection)),
                        Err(e) => last_error = format!("could not reopen the data channel: {e}"),
                    }
                }
                Err(e) if e.permanent => {
                    return Err(format!(
                        "The connection to the session was lost and could not be restored: {}",
                        e.message
                    ))
                }
                Err(e) => last_error = format!("ResumeSession failed: {}", e.message),
            }
        }
    }
}

/// `cut` with `late` more bytes that were dropped while the session was being ended.
fn add_late(cut: Option<Cut>, late: u64) -> Option<Cut> {
    let late = usize::try_from(late).unwrap_or(usize::MAX);
    match cut {
        _ if late == 0 => cut,
        Some(cut) => Some(Cut {
            bytes: cut.bytes.saturating_add(late),
            ..cut
        }),
        None => Some(Cut {
            messages: 0,
            bytes: late,
            cause: CutCause::Stopped,
        }),
    }
}

/// What the local side's own end means for the session.
fn local_outcome(local: Option<Result<LocalEnd, tokio::task::JoinError>>) -> Outcome {
    match local {
        Some(Ok(Err(reason))) => Outcome::End(SessionEnd::Failed(reason)),
        Some(Err(e)) if e.is_panic() => Outcome::End(SessionEnd::Failed(
            "the session's local side failed unexpectedly".into(),
        )),
        // It finished (or was cancelled): as a stop from this side.
        _ => Outcome::StopRequested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_back_off_doubles_with_jitter_up_to_the_maximum() {
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        for _ in 0..50 {
            let second = reconnect_delay(2);
            assert!(second >= Duration::from_millis(75) && second <= Duration::from_millis(225));
            let late = reconnect_delay(30);
            assert!(late >= Duration::from_millis(2_500) && late <= Duration::from_millis(7_500));
        }
    }
}
