//! One end of a data channel at work: the sequencing state of both directions and the
//! loop that moves messages between a [`Link`] (the WebSocket) and the local side
//! (channels of [`Payload`]s). The client and the emulator's fake agent both run it; only
//! the [`Role`] differs.
//!
//! The state lives in [`Endpoint`], apart from any socket, so that a lost socket can be
//! replaced (ResumeSession) without losing a sequence number or an unacknowledged message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use uuid::Uuid;

use crate::message::{
    epoch_millis as now_ms, ClientMessage, MessageType, PayloadType, FLAG_SYN, SCHEMA_VERSION,
};
use crate::payload::{acknowledge, AcknowledgeContent};
use crate::reliability::{Arrival, OutgoingWindow, Reorder, WindowFull, DEFAULT_CAPACITY};

/// How often unacknowledged messages are checked for retransmission (the reference tick).
pub const RESEND_TICK: Duration = Duration::from_millis(100);
/// The longest a `pause_publication` holds this end back when no `start_publication` (or
/// other sign of life) follows: the reference plugin ignores pauses altogether, and a
/// lost `start_publication` must not stall the session for good.
pub const PAUSE_LIMIT: Duration = Duration::from_secs(3);
/// Retransmissions per tick at most (the reference resends only the oldest message).
pub const RESENDS_PER_TICK: usize = 32;
/// How long the oldest message may stay unacknowledged before the session is given up
/// (the reference: 3000 attempts at one per 100 ms tick, about 5 minutes).
pub const DEFAULT_UNACKNOWLEDGED_LIMIT: Duration = Duration::from_secs(300);

/// Which side of the channel this end is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sends `input_stream_data`, receives `output_stream_data` and service messages.
    Client,
    /// Sends `output_stream_data`, receives `input_stream_data`.
    Agent,
}

impl Role {
    fn sends(self) -> MessageType {
        match self {
            Role::Client => MessageType::InputStreamData,
            Role::Agent => MessageType::OutputStreamData,
        }
    }

    fn receives(self) -> MessageType {
        match self {
            Role::Client => MessageType::OutputStreamData,
            Role::Agent => MessageType::InputStreamData,
        }
    }
}

pub use crate::link::{Link, LinkError, LinkWriter};

/// A payload on its way to the peer, or delivered from it in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    pub payload_type: PayloadType,
    pub data: Vec<u8>,
}

impl Payload {
    pub fn output(data: Vec<u8>) -> Self {
        Self {
            payload_type: PayloadType::OUTPUT,
            data,
        }
    }
}

/// Why [`Endpoint::pump`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum PumpEnd {
    /// The service ended the session (`channel_closed`, client only); its Output says why.
    ChannelClosed(String),
    /// The socket closed or failed. The endpoint's state is intact: reconnect and pump
    /// again, and what the peer has not acknowledged is sent again.
    LinkLost(Option<LinkError>),
    /// The local side closed its outbound channel and the peer acknowledged everything.
    Finished,
    /// The oldest message went unacknowledged for longer than the limit.
    Unacknowledged(Duration),
}

/// Counters for diagnostics and benchmarks, readable while the engine runs.
#[derive(Debug, Default)]
pub struct EngineCounters {
    pub messages_sent: AtomicU64,
    pub messages_resent: AtomicU64,
    pub messages_delivered: AtomicU64,
    /// Arrivals dropped as already seen (acknowledged again).
    pub duplicates: AtomicU64,
    /// In-order arrivals left unacknowledged because the local side had no room.
    pub not_ready: AtomicU64,
    /// Frames that failed to decode or validate.
    pub invalid_frames: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// The sequencing state of one end: sent-but-unacknowledged messages (as encoded frames)
/// and the reorder buffer for arrivals.
pub struct Endpoint {
    role: Role,
    outgoing: OutgoingWindow<Bytes>,
    incoming: Reorder<ClientMessage>,
    /// When a `pause_publication` arrived: send nothing new and retransmit nothing until
    /// `start_publication`, any message from the peer, a new socket, or [`PAUSE_LIMIT`].
    paused_since: Option<Instant>,
    outbound_closed: bool,
    /// The expected message, arrived while the local side had no room: kept (not
    /// acknowledged) and delivered as soon as there is room, instead of waiting for the
    /// peer's retransmission. Its acknowledgement goes out on delivery.
    held: Option<(ClientMessage, Vec<u8>)>,
    unacknowledged_limit: Duration,
    counters: Arc<EngineCounters>,
}

/// The reason text of a `channel_closed` message.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChannelClosed {
    #[serde(default)]
    output: String,
    #[serde(default)]
    session_id: String,
}

/// What the service's `channel_closed` says, as the plugin prints it.
pub fn channel_closed_reason(payload: &[u8]) -> String {
    match serde_json::from_slice::<ChannelClosed>(payload) {
        Ok(c) if !c.output.is_empty() => c.output,
        Ok(c) => format!("Exiting session with sessionId: {}.", c.session_id),
        Err(_) => "The service closed the channel.".to_owned(),
    }
}

impl Endpoint {
    /// A fresh end: both sequence counters at 0. `window` bounds the unacknowledged
    /// messages (back-pressure beyond it).
    pub fn new(role: Role, window: usize) -> Self {
        Self::from_parts(
            role,
            OutgoingWindow::new(window),
            Reorder::new(DEFAULT_CAPACITY),
        )
    }

    /// Continues from state built elsewhere (the client's handshake).
    pub fn from_parts(
        role: Role,
        outgoing: OutgoingWindow<Bytes>,
        incoming: Reorder<ClientMessage>,
    ) -> Self {
        Self {
            role,
            outgoing,
            incoming,
            paused_since: None,
            outbound_closed: false,
            held: None,
            unacknowledged_limit: DEFAULT_UNACKNOWLEDGED_LIMIT,
            counters: Arc::default(),
        }
    }

    pub fn set_unacknowledged_limit(&mut self, limit: Duration) {
        self.unacknowledged_limit = limit;
    }

    /// The live counters (shared: they keep counting after this call).
    pub fn counters(&self) -> Arc<EngineCounters> {
        self.counters.clone()
    }

    pub fn unacknowledged(&self) -> usize {
        self.outgoing.len()
    }

    /// The sequence number the next sent message takes.
    pub fn next_sequence(&self) -> i64 {
        self.outgoing.next_sequence()
    }

    /// The sequence number expected next from the peer.
    pub fn expected(&self) -> i64 {
        self.incoming.expected()
    }

    pub fn is_paused(&self) -> bool {
        self.paused_since
            .is_some_and(|since| since.elapsed() < PAUSE_LIMIT)
    }

    fn message(&self, sequence: i64, payload: Payload) -> ClientMessage {
        ClientMessage {
            message_type: self.role.sends(),
            schema_version: SCHEMA_VERSION,
            created_date: now_ms(),
            sequence_number: sequence,
            // The agent marks its first message SYN; the client sends no flags.
            flags: if self.role == Role::Agent && sequence == 0 {
                FLAG_SYN
            } else {
                0
            },
            message_id: Uuid::new_v4(),
            payload_type: payload.payload_type,
            payload: payload.data,
        }
    }

    /// Sequences, keeps and sends one payload, waiting while the link's data queue is
    /// full. Fails without sending when the window is full; the message stays kept when
    /// only the send fails (it is sent again on the next socket).
    pub async fn send<L: Link>(&mut self, link: &mut L, payload: Payload) -> Result<(), SendError> {
        let frame = self.sequence(payload)?;
        link.writer().send_data(frame).await?;
        Ok(())
    }

    fn sequence(&mut self, payload: Payload) -> Result<Bytes, WindowFull> {
        let next = self.outgoing.next_sequence();
        let frame = Bytes::from(
            self.message(next, payload)
                .encode()
                // Only a payload over 4 GiB fails to encode; chunking keeps payloads small.
                .unwrap_or_default(),
        );
        // The window and the socket share the bytes (a reference count, not a copy).
        let copy = frame.clone();
        self.outgoing.push(Instant::now(), |_| frame)?;
        bump(&self.counters.messages_sent, 1);
        Ok(copy)
    }

    /// Sends every unacknowledged message again, oldest first: after a reconnect. A pause
    /// belonged to the old socket and ends with it.
    pub async fn resend_all<L: Link>(&mut self, link: &mut L) -> Result<(), LinkError> {
        self.paused_since = None;
        let frames: Vec<Bytes> = self
            .outgoing
            .mark_all_resent(Instant::now())
            .into_iter()
            .cloned()
            .collect();
        bump(&self.counters.messages_resent, frames.len() as u64);
        for frame in frames {
            link.writer().send_data(frame).await?;
        }
        Ok(())
    }

    /// Retransmits what timed out, unless the socket is still busy with what was queued
    /// (then a retransmission would only add to the queue).
    fn resend_due<L: Link>(&mut self, link: &L) -> Result<(), LinkError> {
        if self.is_paused() || link.writer().data_room() < crate::link::DATA_QUEUE / 2 {
            return Ok(());
        }
        let frames: Vec<Bytes> = self
            .outgoing
            .due(Instant::now(), RESENDS_PER_TICK)
            .into_iter()
            .cloned()
            .collect();
        bump(&self.counters.messages_resent, frames.len() as u64);
        for frame in frames {
            // A full queue drops the rest of this round; they are due again later.
            if !link.writer().try_send_data(frame)? {
                break;
            }
        }
        Ok(())
    }

    /// After the service closed the channel: hands what already arrived in order — the
    /// held message, then early arrivals that are now next — to `inbound`, waiting for
    /// room. They were acknowledged (or no longer need to be), so the agent will not send
    /// them again: without this, the end of a fast command's output could be lost.
    pub async fn deliver_remaining(&mut self, inbound: &mpsc::Sender<Payload>) {
        loop {
            let next = match self.held.take() {
                Some((message, _ack)) => {
                    self.incoming.advance();
                    Some(message)
                }
                None => self.incoming.take_ready(),
            };
            let Some(message) = next else { return };
            bump(&self.counters.messages_delivered, 1);
            let payload = Payload {
                payload_type: message.payload_type,
                data: message.payload,
            };
            if inbound.send(payload).await.is_err() {
                return;
            }
        }
    }

    /// Moves messages until the link is lost, the service closes the channel, the local
    /// side finishes, or the peer stops acknowledging. Payloads from `outbound` are sent in
    /// order (taken only while the window has room); in-order arrivals go to `inbound`. An
    /// arrival `inbound` has no room for is left unacknowledged, so the peer sends it again
    /// (the protocol's "not ready"). Cancel-safe between messages.
    pub async fn pump<L: Link>(
        &mut self,
        link: &mut L,
        outbound: &mut mpsc::Receiver<Payload>,
        inbound: &mpsc::Sender<Payload>,
    ) -> PumpEnd {
        let mut ticker = tokio::time::interval(RESEND_TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if self.outbound_closed && self.outgoing.is_empty() {
                return PumpEnd::Finished;
            }
            let may_send = !self.is_paused() && !self.outbound_closed && !self.outgoing.is_full();
            let has_room = link.writer().data_room() > 0;
            let can_drain = self.held.is_some() || self.incoming.has_ready();
            let writer = link.writer().clone();
            tokio::select! {
                frame = link.recv() => match frame {
                    Ok(Some(frame)) => {
                        if let Some(end) = self.on_frame(&writer, &frame, inbound) {
                            return end;
                        }
                    }
                    Ok(None) => return PumpEnd::LinkLost(None),
                    Err(e) => return PumpEnd::LinkLost(Some(e)),
                },
                permit = inbound.reserve(), if can_drain => {
                    let next = match self.held.take() {
                        Some((message, ack)) => {
                            self.incoming.advance();
                            if let Err(e) = writer.send_urgent(ack) {
                                return PumpEnd::LinkLost(Some(e));
                            }
                            Some(message)
                        }
                        None => self.incoming.take_ready(),
                    };
                    if let Some(message) = next {
                        bump(&self.counters.messages_delivered, 1);
                        if let Ok(permit) = permit {
                            permit.send(Payload { payload_type: message.payload_type, data: message.payload });
                        }
                    }
                },
                next = outbound.recv(), if may_send && has_room => match next {
                    Some(payload) => {
                        // Room was checked and only this task queues data: this does not wait.
                        if let Err(SendError::Link(e)) = self.send(link, payload).await {
                            return PumpEnd::LinkLost(Some(e));
                        }
                    }
                    None => self.outbound_closed = true,
                },
                // The socket is busy: wake up when it has drained a little.
                _ = writer.data_ready(), if may_send && !has_room => {},
                _ = ticker.tick() => {
                    if let Some(age) = self.outgoing.oldest_age(Instant::now()) {
                        if age > self.unacknowledged_limit {
                            return PumpEnd::Unacknowledged(age);
                        }
                    }
                    if let Err(e) = self.resend_due(link) {
                        return PumpEnd::LinkLost(Some(e));
                    }
                }
            }
        }
    }

    fn on_frame(
        &mut self,
        writer: &LinkWriter,
        frame: &[u8],
        inbound: &mpsc::Sender<Payload>,
    ) -> Option<PumpEnd> {
        let decoded = match ClientMessage::decode(frame) {
            Ok(decoded) if decoded.validate().is_ok() => decoded,
            // Invalid frames are dropped unacknowledged; a real message is sent again.
            _ => {
                bump(&self.counters.invalid_frames, 1);
                return None;
            }
        };
        let message = decoded.message;
        match message.message_type {
            MessageType::Acknowledge => {
                self.paused_since = None;
                if let Ok(content) = serde_json::from_slice::<AcknowledgeContent>(&message.payload)
                {
                    self.outgoing
                        .acknowledge(content.acknowledged_message_sequence_number, Instant::now());
                }
                None
            }
            MessageType::ChannelClosed if self.role == Role::Client => Some(
                PumpEnd::ChannelClosed(channel_closed_reason(&message.payload)),
            ),
            MessageType::PausePublication => {
                self.paused_since.get_or_insert_with(Instant::now);
                None
            }
            MessageType::StartPublication => {
                self.paused_since = None;
                None
            }
            ref kind if *kind == self.role.receives() => {
                self.paused_since = None;
                let ack = acknowledge(&message, now_ms());
                let sequence = message.sequence_number;
                let acknowledged = match self.incoming.offer(sequence, message) {
                    // Already held for delivery: this is the peer's retransmission.
                    Arrival::InOrder(_) if self.held.is_some() => false,
                    Arrival::InOrder(message) => match inbound.try_reserve() {
                        Ok(permit) => {
                            permit.send(Payload {
                                payload_type: message.payload_type,
                                data: message.payload,
                            });
                            self.incoming.advance();
                            bump(&self.counters.messages_delivered, 1);
                            true
                        }
                        Err(TrySendError::Full(())) => {
                            bump(&self.counters.not_ready, 1);
                            self.held = Some((message, ack.encode().unwrap_or_default()));
                            false
                        }
                        // Nobody listens any more: take it so the peer can finish.
                        Err(TrySendError::Closed(())) => {
                            self.incoming.advance();
                            true
                        }
                    },
                    Arrival::Buffered => true,
                    // Acknowledged again: the first acknowledgement may have been lost.
                    Arrival::Duplicate => {
                        bump(&self.counters.duplicates, 1);
                        true
                    }
                    Arrival::Dropped => false,
                };
                if acknowledged {
                    let frame = ack.encode().unwrap_or_default();
                    if let Err(e) = writer.send_urgent(frame) {
                        return Some(PumpEnd::LinkLost(Some(e)));
                    }
                }
                None
            }
            // agent_session_state and types this version does not know.
            _ => None,
        }
    }
}

/// Sending failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    WindowFull(#[from] WindowFull),
    #[error(transparent)]
    Link(#[from] LinkError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Outgoing;
    use crate::message::ClientMessage;

    /// One end of an in-memory link; frames written on one end arrive at the other.
    struct MemoryLink {
        writer: LinkWriter,
        rx: mpsc::UnboundedReceiver<Vec<u8>>,
    }

    fn memory_pair() -> (MemoryLink, MemoryLink) {
        let (a_tx, b_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (b_tx, a_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let sink = |tx: mpsc::UnboundedSender<Vec<u8>>| {
            futures_util::sink::unfold(tx, |tx, item: Outgoing| async move {
                if let Outgoing::Frame(frame) = item {
                    tx.send(frame.to_vec())
                        .map_err(|_| LinkError("closed".into()))?;
                }
                Ok::<_, LinkError>(tx)
            })
        };
        (
            MemoryLink {
                writer: LinkWriter::spawn(Box::pin(sink(a_tx)), |item| item),
                rx: a_rx,
            },
            MemoryLink {
                writer: LinkWriter::spawn(Box::pin(sink(b_tx)), |item| item),
                rx: b_rx,
            },
        )
    }

    impl Link for MemoryLink {
        fn writer(&self) -> &LinkWriter {
            &self.writer
        }

        async fn recv(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
            Ok(self.rx.recv().await)
        }
    }

    struct Running {
        to_peer: mpsc::Sender<Payload>,
        from_peer: mpsc::Receiver<Payload>,
        counters: Arc<EngineCounters>,
        task: tokio::task::JoinHandle<PumpEnd>,
    }

    fn run(role: Role, mut link: MemoryLink, inbound_depth: usize) -> Running {
        let mut endpoint = Endpoint::new(role, 64);
        let counters = endpoint.counters();
        let (to_peer, mut outbound) = mpsc::channel(16);
        let (inbound, from_peer) = mpsc::channel(inbound_depth);
        let task =
            tokio::spawn(async move { endpoint.pump(&mut link, &mut outbound, &inbound).await });
        Running {
            to_peer,
            from_peer,
            counters,
            task,
        }
    }

    fn numbered(i: u32) -> Payload {
        Payload::output(i.to_be_bytes().to_vec())
    }

    fn service_message(message_type: MessageType) -> Vec<u8> {
        ClientMessage {
            message_type,
            schema_version: SCHEMA_VERSION,
            created_date: now_ms(),
            sequence_number: 0,
            flags: 0,
            message_id: Uuid::new_v4(),
            payload_type: PayloadType::UNSET,
            payload: Vec::new(),
        }
        .encode()
        .unwrap()
    }

    #[tokio::test]
    async fn two_ends_deliver_everything_in_order_both_ways() {
        let (client_link, agent_link) = memory_pair();
        let mut client = run(Role::Client, client_link, 16);
        let mut agent = run(Role::Agent, agent_link, 16);
        let sending = tokio::spawn({
            let client_out = client.to_peer.clone();
            let agent_out = agent.to_peer.clone();
            async move {
                for i in 0..500 {
                    client_out.send(numbered(i)).await.unwrap();
                    agent_out.send(numbered(i + 10_000)).await.unwrap();
                }
            }
        });
        for i in 0..500 {
            assert_eq!(agent.from_peer.recv().await.unwrap(), numbered(i));
            assert_eq!(client.from_peer.recv().await.unwrap(), numbered(i + 10_000));
        }
        sending.await.unwrap();
        client.task.abort();
        agent.task.abort();
    }

    #[tokio::test]
    async fn an_arrival_without_room_is_left_unacknowledged_and_comes_again() {
        let (client_link, agent_link) = memory_pair();
        let client = run(Role::Client, client_link, 16);
        // The agent's local side takes one payload and then nothing until drained.
        let mut agent = run(Role::Agent, agent_link, 1);
        for i in 0..5 {
            client.to_peer.send(numbered(i)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(agent.counters.not_ready.load(Ordering::Relaxed) > 0);
        assert!(client.counters.messages_resent.load(Ordering::Relaxed) > 0);
        for i in 0..5 {
            let delivered = tokio::time::timeout(Duration::from_secs(10), agent.from_peer.recv())
                .await
                .expect("delivered after the retransmission")
                .unwrap();
            assert_eq!(delivered, numbered(i));
        }
        client.task.abort();
        agent.task.abort();
    }

    #[tokio::test]
    async fn pause_publication_holds_new_messages_until_start_publication() {
        let (client_link, mut service) = memory_pair();
        let client = run(Role::Client, client_link, 16);
        service
            .writer
            .send_urgent(service_message(MessageType::PausePublication))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.to_peer.send(numbered(1)).await.unwrap();
        let held = tokio::time::timeout(Duration::from_millis(500), service.recv()).await;
        assert!(held.is_err(), "nothing is sent while paused");
        service
            .writer
            .send_urgent(service_message(MessageType::StartPublication))
            .unwrap();
        let frame = tokio::time::timeout(Duration::from_secs(1), service.recv())
            .await
            .expect("sent once publication starts")
            .unwrap()
            .unwrap();
        let message = ClientMessage::decode(&frame).unwrap().message;
        assert_eq!(message.message_type, MessageType::InputStreamData);
        assert_eq!(message.sequence_number, 0);
        client.task.abort();
    }

    #[tokio::test]
    async fn a_peer_that_never_acknowledges_ends_the_pump_in_bounded_time() {
        let (mut link, mut silent_peer) = memory_pair();
        let mut endpoint = Endpoint::new(Role::Client, 64);
        endpoint.set_unacknowledged_limit(Duration::from_millis(500));
        let (to_peer, mut outbound) = mpsc::channel(4);
        let (inbound, _from_peer) = mpsc::channel(4);
        to_peer.send(numbered(1)).await.unwrap();
        let swallow =
            tokio::spawn(async move { while silent_peer.recv().await.ok().flatten().is_some() {} });
        let end = tokio::time::timeout(
            Duration::from_secs(10),
            endpoint.pump(&mut link, &mut outbound, &inbound),
        )
        .await
        .expect("the pump gives up");
        assert!(
            matches!(end, PumpEnd::Unacknowledged(age) if age >= Duration::from_millis(500)),
            "{end:?}"
        );
        swallow.abort();
    }

    #[tokio::test]
    async fn a_pause_without_start_publication_ends_by_itself() {
        let (client_link, mut service) = memory_pair();
        let client = run(Role::Client, client_link, 16);
        service
            .writer
            .send_urgent(service_message(MessageType::PausePublication))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.to_peer.send(numbered(1)).await.unwrap();
        let frame = tokio::time::timeout(PAUSE_LIMIT + Duration::from_secs(2), service.recv())
            .await
            .expect("sent once the pause expired")
            .unwrap()
            .unwrap();
        assert_eq!(
            ClientMessage::decode(&frame)
                .unwrap()
                .message
                .sequence_number,
            0
        );
        client.task.abort();
    }

    #[tokio::test]
    async fn a_start_publication_with_a_bad_digest_still_resumes_sending() {
        let (client_link, service) = memory_pair();
        let client = run(Role::Client, client_link, 16);
        let mut service = service;
        service
            .writer
            .send_urgent(service_message(MessageType::PausePublication))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.to_peer.send(numbered(1)).await.unwrap();
        // As some services send it: a payload whose digest does not match (bytes 80..112).
        let mut start = ClientMessage {
            payload: b"resume".to_vec(),
            ..ClientMessage::decode(&service_message(MessageType::StartPublication))
                .unwrap()
                .message
        }
        .encode()
        .unwrap();
        start[80] ^= 0xff;
        service.writer.send_urgent(start).unwrap();
        let frame = tokio::time::timeout(Duration::from_secs(1), service.recv())
            .await
            .expect("sending resumed")
            .unwrap()
            .unwrap();
        assert_eq!(
            ClientMessage::decode(&frame).unwrap().message.message_type,
            MessageType::InputStreamData
        );
        client.task.abort();
    }

    #[tokio::test]
    async fn channel_closed_ends_a_client_pump_with_its_reason() {
        let (link, service) = memory_pair();
        let client = run(Role::Client, link, 4);
        let body = serde_json::json!({"SessionId": "s-1", "Output": "Session timed out."});
        let frame = ClientMessage {
            message_type: MessageType::ChannelClosed,
            schema_version: SCHEMA_VERSION,
            created_date: now_ms(),
            sequence_number: 0,
            flags: 0,
            message_id: Uuid::new_v4(),
            payload_type: PayloadType::OUTPUT,
            payload: serde_json::to_vec(&body).unwrap(),
        }
        .encode()
        .unwrap();
        service.writer.send_urgent(frame).unwrap();
        assert_eq!(
            client.task.await.unwrap(),
            PumpEnd::ChannelClosed("Session timed out.".into())
        );
        assert_eq!(
            channel_closed_reason(br#"{"SessionId":"s-2","Output":""}"#),
            "Exiting session with sessionId: s-2."
        );
    }

    #[tokio::test]
    async fn what_arrived_before_channel_closed_is_delivered_even_when_the_local_side_was_full() {
        let (mut link, service) = memory_pair();
        let mut endpoint = Endpoint::new(Role::Client, 64);
        let (_to_peer, mut outbound) = mpsc::channel(4);
        // Room for two: the rest are held or buffered (and acknowledged) in the engine.
        let (inbound, mut from_peer) = mpsc::channel(2);
        for sequence in 0..20u32 {
            let frame = ClientMessage {
                message_type: MessageType::OutputStreamData,
                schema_version: SCHEMA_VERSION,
                created_date: now_ms(),
                sequence_number: i64::from(sequence),
                flags: 0,
                message_id: Uuid::new_v4(),
                payload_type: PayloadType::OUTPUT,
                payload: sequence.to_be_bytes().to_vec(),
            }
            .encode()
            .unwrap();
            service.writer.send_urgent(frame).unwrap();
        }
        let closed = ClientMessage {
            message_type: MessageType::ChannelClosed,
            schema_version: SCHEMA_VERSION,
            created_date: now_ms(),
            sequence_number: 0,
            flags: 0,
            message_id: Uuid::new_v4(),
            payload_type: PayloadType::OUTPUT,
            payload: br#"{"SessionId":"s-1","Output":""}"#.to_vec(),
        }
        .encode()
        .unwrap();
        service.writer.send_urgent(closed).unwrap();
        let end = endpoint.pump(&mut link, &mut outbound, &inbound).await;
        assert!(matches!(end, PumpEnd::ChannelClosed(_)), "{end:?}");
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            while let Some(payload) = from_peer.recv().await {
                all.push(payload);
            }
            all
        });
        endpoint.deliver_remaining(&inbound).await;
        drop(inbound);
        let delivered = reader.await.unwrap();
        let expected: Vec<Payload> = (0..20u32)
            .map(|i| Payload::output(i.to_be_bytes().to_vec()))
            .collect();
        assert_eq!(delivered, expected);
    }
}
