//! One end of a data channel at work: the sequencing state of both directions and the
//! loop that moves messages between a [`Link`] (the WebSocket) and the local side. The
//! client and the emulator's fake agent both run it; only the [`Role`] differs.
//!
//! The state lives in [`Endpoint`], apart from any socket, so that a lost socket can be
//! replaced (ResumeSession) without losing a sequence number or an unacknowledged message.
//!
//! Receiving follows one rule: **a message is acknowledged only once it is held where it
//! will be handed over from** — the byte-bounded queue to the local side
//! ([`crate::inbound`]) or the byte-bounded reorder buffer. When both are full, the engine
//! stops reading the socket (keeping the one message it read, unacknowledged) until the
//! local side makes room: the peer's writes then wait on TCP, as they do against the
//! reference plugin, whose handlers write synchronously. Nothing acknowledged is dropped,
//! and a peer that never slows down (the reference agent does not wait for
//! acknowledgements) is neither cut off nor left to crawl through retransmissions one
//! message per timer tick. Only early arrivals behind a gap, for which no room is left,
//! are dropped unacknowledged: the gap must be filled first, and the peer sends them
//! again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::inbound::{InboundSender, TrySendError, ENTRY_OVERHEAD};
use crate::message::{
    epoch_millis as now_ms, ClientMessage, MessageType, PayloadType, FLAG_SYN, SCHEMA_VERSION,
};
use crate::payload::{acknowledge, AcknowledgeContent};
use crate::reliability::{
    Arrival, OutgoingWindow, Reorder, WindowFull, DEFAULT_CAPACITY, REORDER_BYTES,
};

/// How often unacknowledged messages are checked for retransmission (the reference tick).
pub const RESEND_TICK: Duration = Duration::from_millis(100);
/// The longest a `pause_publication` holds this end back when no `start_publication` (or
/// other sign of life) follows: the reference plugin ignores pauses altogether, and a
/// lost `start_publication` must not stall the session for good.
pub const PAUSE_LIMIT: Duration = Duration::from_secs(3);
/// Retransmissions per tick at most, oldest first (the reference resends only the oldest
/// message): a timeout usually means a slow peer, not a lost message (the socket is TCP),
/// so a burst must not flood a paced peer with what it will acknowledge anyway.
pub const RESEND_BURST_MESSAGES: usize = 16;
/// Bytes of retransmission per tick at most (one message always goes, whatever its size).
pub const RESEND_BURST_BYTES: usize = 512 * 1024;
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

/// Which unacknowledged messages are sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retransmission {
    /// Messages whose timeout passed, oldest first, in bursts of at most
    /// [`RESEND_BURST_MESSAGES`] and [`RESEND_BURST_BYTES`] per tick (this client).
    AllDue,
    /// Only the oldest unacknowledged message, once its timeout passed: what the reference
    /// agent and plugin do (protocol notes §3.6).
    OldestOnly,
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
    /// The peer broke the protocol (say, a message over the size limit); reconnecting
    /// would only meet the same again.
    PeerError(String),
    /// The local side closed its outbound channel and the peer acknowledged everything.
    Finished,
    /// The local side closed its outbound channel and everything was sent (not yet
    /// necessarily acknowledged); only when asked for with [`Endpoint::set_stop_when_sent`].
    AllSent,
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
    /// Times reading stopped because the local side and the reorder buffer were full (the
    /// peer waits on the socket meanwhile).
    pub reads_paused: AtomicU64,
    /// Early arrivals behind a gap dropped unacknowledged for lack of room (the peer sends
    /// them again).
    pub early_dropped: AtomicU64,
    /// Frames that failed to decode or validate.
    pub invalid_frames: AtomicU64,
    /// Payload bytes acknowledged while the local side was gone (a session being ended
    /// from this side): dropped so that the peer can finish, and reported as cut.
    pub bytes_discarded: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// What a payload costs in the reorder buffer.
fn cost(payload: &Payload) -> usize {
    payload.data.len() + ENTRY_OVERHEAD
}

/// An arrival read while the reorder buffer had no room for it: kept, not acknowledged,
/// and nothing more is read until it has a place.
struct Parked {
    sequence: i64,
    payload: Payload,
    ack: Vec<u8>,
}

/// Acknowledged data that could not be handed to the local side (a session that ended
/// with a gap before it, or a local side that was stopped first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Undelivered {
    pub messages: usize,
    pub bytes: usize,
}

/// The sequencing state of one end: sent-but-unacknowledged messages (as encoded frames)
/// and the reorder buffer for arrivals.
pub struct Endpoint {
    role: Role,
    outgoing: OutgoingWindow<Bytes>,
    incoming: Reorder<Payload>,
    parked: Option<Parked>,
    /// When reading last resumed after a pause for room: the stall limit counts from then,
    /// since no acknowledgement can be seen while nothing is read.
    reading_since: Instant,
    reading: bool,
    /// When a `pause_publication` arrived: send nothing new and retransmit nothing until
    /// `start_publication`, any message from the peer, a new socket, or [`PAUSE_LIMIT`].
    paused_since: Option<Instant>,
    outbound_closed: bool,
    /// Return [`PumpEnd::AllSent`] once the outbound channel closed and all was sent.
    stop_when_sent: bool,
    unacknowledged_limit: Duration,
    retransmission: Retransmission,
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
        Self {
            role,
            outgoing: OutgoingWindow::new(window),
            incoming: Reorder::new(REORDER_BYTES, DEFAULT_CAPACITY),
            parked: None,
            reading_since: Instant::now(),
            reading: true,
            paused_since: None,
            outbound_closed: false,
            stop_when_sent: false,
            unacknowledged_limit: DEFAULT_UNACKNOWLEDGED_LIMIT,
            retransmission: Retransmission::AllDue,
            counters: Arc::default(),
        }
    }

    pub fn set_unacknowledged_limit(&mut self, limit: Duration) {
        self.unacknowledged_limit = limit;
    }

    /// Bounds the reorder buffer (bytes of arrivals held beyond the expected one).
    pub fn set_reorder_limit(&mut self, bytes: usize) {
        let expected = self.incoming.expected();
        debug_assert!(self.incoming.is_empty(), "set before anything arrives");
        self.incoming = Reorder::new(bytes, DEFAULT_CAPACITY);
        for _ in 0..expected {
            self.incoming.advance();
        }
    }

    /// Makes [`Endpoint::pump`] return [`PumpEnd::AllSent`] as soon as the outbound channel
    /// closed and everything in it was sent: an agent that writes all it has before it
    /// starts its short wait for acknowledgements.
    pub fn set_stop_when_sent(&mut self, stop: bool) {
        self.stop_when_sent = stop;
    }

    pub fn set_retransmission(&mut self, retransmission: Retransmission) {
        self.retransmission = retransmission;
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

    /// A mark that moves whenever the session makes progress: the peer's messages taken in
    /// order, and this end's messages acknowledged. Equal marks: nothing moved between them.
    pub fn progress(&self) -> (i64, i64) {
        (
            self.incoming.expected(),
            self.outgoing.next_sequence() - self.outgoing.len() as i64,
        )
    }

    /// Acknowledged arrivals not yet handed to the local side: messages and bytes.
    pub fn held(&self) -> Undelivered {
        Undelivered {
            messages: self.incoming.len(),
            bytes: self.incoming.bytes(),
        }
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
    /// only the link is gone (it is sent again on the next socket). Cancel-safe: a message
    /// is numbered only once its place in the link's queue is secured, and then queued at
    /// once — a future dropped while waiting leaves nothing numbered and unsent.
    pub async fn send<L: Link>(&mut self, link: &mut L, payload: Payload) -> Result<(), SendError> {
        match link.writer().reserve_data().await {
            Ok(slot) => {
                slot.send(self.sequence(payload)?);
                Ok(())
            }
            Err(gone) => {
                self.sequence(payload)?;
                Err(gone.into())
            }
        }
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

    /// After a reconnect: every unacknowledged message goes out again at once, oldest
    /// first — the old socket is gone, so unlike a timeout these are surely missing (at
    /// worst the peer acknowledges a copy again). A pause belonged to the old socket and
    /// ends with it, and so does a message read from it and kept unacknowledged (the peer
    /// sends it again).
    pub async fn resend_all<L: Link>(&mut self, link: &mut L) -> Result<(), LinkError> {
        self.paused_since = None;
        self.parked = None;
        let now = Instant::now();
        self.outgoing.expire_all(now);
        let frames: Vec<Bytes> = self
            .outgoing
            .due_within(now, usize::MAX, usize::MAX, Bytes::len)
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
        let now = Instant::now();
        let frames: Vec<Bytes> = match self.retransmission {
            Retransmission::AllDue => self
                .outgoing
                .due_within(now, RESEND_BURST_MESSAGES, RESEND_BURST_BYTES, Bytes::len)
                .into_iter()
                .cloned()
                .collect(),
            Retransmission::OldestOnly => {
                self.outgoing.due_oldest(now).cloned().into_iter().collect()
            }
        };
        bump(&self.counters.messages_resent, frames.len() as u64);
        for frame in frames {
            // A full queue drops the rest of this round; they are due again later.
            if !link.writer().try_send_data(frame)? {
                break;
            }
        }
        Ok(())
    }

    /// Hands what is ready, in order, to the local side while its budget has room, then
    /// finds a place for a parked arrival if one has opened: its acknowledgement is
    /// returned, to be sent.
    fn hand_over(&mut self, inbound: &InboundSender) -> Option<Vec<u8>> {
        while let Some(len) = self.incoming.peek_ready().map(|p| p.data.len()) {
            let permit = if inbound.is_closed() {
                None
            } else {
                match inbound.try_reserve(len) {
                    Some(permit) => Some(permit),
                    None => break,
                }
            };
            let Some(payload) = self.incoming.take_ready() else {
                break;
            };
            bump(&self.counters.messages_delivered, 1);
            // A gone local side takes nothing more: what arrives is dropped, so that the
            // peer can finish.
            match permit {
                Some(permit) => {
                    let _ = inbound.queue_with(payload, permit);
                }
                None => bump(&self.counters.bytes_discarded, payload.data.len() as u64),
            }
        }
        let parked = self.parked.take()?;
        let size = cost(&parked.payload);
        if parked.sequence == self.incoming.expected() || self.incoming.has_room(size) {
            let ack = match self.incoming.offer(parked.sequence, parked.payload, size) {
                Arrival::Stored | Arrival::Duplicate => Some(parked.ack),
                // Cannot happen (room was checked); the peer sends it again.
                Arrival::NoRoom(_) => {
                    bump(&self.counters.early_dropped, 1);
                    None
                }
            };
            // It may be next: hand it over too.
            let none = self.hand_over(inbound);
            debug_assert!(none.is_none(), "nothing is parked any more");
            ack
        } else if !self.incoming.has_ready() {
            // A gap holds the buffer up: reading on is how the missing message arrives.
            // This one is dropped unacknowledged and comes again.
            bump(&self.counters.early_dropped, 1);
            None
        } else {
            self.parked = Some(parked);
            None
        }
    }

    /// After the service closed the channel: hands everything acknowledged that can be
    /// handed over in order to `inbound`, waiting for room as long as it takes (the caller
    /// bounds the wait if it must). A parked arrival goes too when it is next. Returns what
    /// could not be handed over: what lies beyond a gap that will never be filled now, or
    /// everything when the local side is gone.
    pub async fn deliver_remaining(&mut self, inbound: &InboundSender) -> Undelivered {
        if let Some(parked) = self.parked.take() {
            let size = cost(&parked.payload);
            if parked.sequence == self.incoming.expected() || self.incoming.has_room(size) {
                let _ = self.incoming.offer(parked.sequence, parked.payload, size);
            }
        }
        while let Some(len) = self.incoming.peek_ready().map(|p| p.data.len()) {
            let permit = inbound.reserve(len).await;
            let Some(payload) = self.incoming.take_ready() else {
                break;
            };
            bump(&self.counters.messages_delivered, 1);
            if inbound.queue_with(payload, permit).is_err() {
                break;
            }
        }
        let (messages, bytes) = self.incoming.clear();
        Undelivered { messages, bytes }
    }

    /// Moves messages until the link is lost, the service closes the channel, the local
    /// side finishes, or the peer stops acknowledging. Payloads from `outbound` are sent in
    /// order (taken only while the window has room); in-order arrivals go to `inbound`.
    /// Cancel-safe between messages.
    pub async fn pump<L: Link>(
        &mut self,
        link: &mut L,
        outbound: &mut mpsc::Receiver<Payload>,
        inbound: &InboundSender,
    ) -> PumpEnd {
        let mut ticker = tokio::time::interval(RESEND_TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if self.outbound_closed && self.outgoing.is_empty() {
                return PumpEnd::Finished;
            }
            if self.outbound_closed && self.stop_when_sent {
                return PumpEnd::AllSent;
            }
            let writer = link.writer().clone();
            if let Some(ack) = self.hand_over(inbound) {
                if let Err(e) = writer.send_urgent(ack) {
                    return PumpEnd::LinkLost(Some(e));
                }
            }
            let may_send = !self.is_paused() && !self.outbound_closed && !self.outgoing.is_full();
            // A payload is taken only with its place on the link already held, and numbered
            // and queued in one step: the pump may be dropped at any await (the agent drops
            // it when its work ends, the driver on a stop), and a message numbered but not
            // queued would go out only as a late retransmission — or never, if the channel
            // closed first.
            let mut slot = match may_send {
                true => match writer.try_reserve_data() {
                    Ok(slot) => slot,
                    Err(e) => return PumpEnd::LinkLost(Some(e)),
                },
                false => None,
            };
            let has_room = slot.is_some();
            let urgent_full = writer.urgent_full();
            let may_read = self.parked.is_none() && !urgent_full;
            self.note_reading(may_read);
            let ready_len = self.incoming.peek_ready().map(|p| p.data.len());
            tokio::select! {
                frame = link.recv(), if may_read => match frame {
                    Ok(Some(frame)) => {
                        if let Some(end) = self.on_frame(&writer, &frame, inbound) {
                            return end;
                        }
                    }
                    Ok(None) => return PumpEnd::LinkLost(None),
                    Err(e) if e.peer_fault => return PumpEnd::PeerError(e.message),
                    Err(e) => return PumpEnd::LinkLost(Some(e)),
                },
                // Acknowledgements piled up: read on once they are written.
                _ = writer.urgent_room(), if urgent_full => {},
                permit = inbound.reserve(ready_len.unwrap_or(0)), if ready_len.is_some() && !inbound.is_closed() => {
                    if let Some(payload) = self.incoming.take_ready() {
                        bump(&self.counters.messages_delivered, 1);
                        let _ = inbound.queue_with(payload, permit);
                    }
                },
                next = outbound.recv(), if has_room => match next {
                    Some(payload) => match (self.sequence(payload), slot.take()) {
                        (Ok(frame), Some(slot)) => slot.send(frame),
                        // Not reached (the branch runs with a slot); kept, it would go out
                        // as a retransmission.
                        (Ok(_), None) => {}
                        // Not reached either: the window was checked, and only this task
                        // numbers messages.
                        (Err(full), _) => tracing::error!(%full, "a payload was dropped"),
                    },
                    None => self.outbound_closed = true,
                },
                // The socket is busy: wake up when it has drained a little.
                _ = writer.data_ready(), if may_send && !has_room => {},
                _ = ticker.tick() => {
                    if let Some(age) = self.stalled_for() {
                        return PumpEnd::Unacknowledged(age);
                    }
                    if let Err(e) = self.resend_due(link) {
                        return PumpEnd::LinkLost(Some(e));
                    }
                }
            }
        }
    }

    /// Remembers when reading resumed after a pause.
    fn note_reading(&mut self, reading: bool) {
        if reading && !self.reading {
            self.reading_since = Instant::now();
        }
        self.reading = reading;
    }

    /// How long the oldest message has gone unacknowledged while this end was reading, when
    /// that is over the limit. While reading is paused no acknowledgement can be seen, so
    /// that time does not count.
    fn stalled_for(&self) -> Option<Duration> {
        if !self.reading {
            return None;
        }
        let first_sent = self.outgoing.oldest_first_sent()?;
        let age = Instant::now().saturating_duration_since(first_sent.max(self.reading_since));
        (age > self.unacknowledged_limit).then_some(age)
    }

    fn on_frame(
        &mut self,
        writer: &LinkWriter,
        frame: &[u8],
        inbound: &InboundSender,
    ) -> Option<PumpEnd> {
        // Each end checks what its real counterpart checks: the plugin a message's digest
        // too, AWS's agent only its header (see DecodedFrame::validate_as_agent).
        let decoded = match ClientMessage::decode(frame) {
            Ok(decoded)
                if match self.role {
                    Role::Client => decoded.validate(),
                    Role::Agent => decoded.validate_as_agent(),
                }
                .is_ok() =>
            {
                decoded
            }
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
                let sequence = message.sequence_number;
                let ack = acknowledge(&message, now_ms()).encode().unwrap_or_default();
                let payload = Payload {
                    payload_type: message.payload_type,
                    data: message.payload,
                };
                let acknowledged = self.receive(sequence, payload, ack.clone(), inbound);
                if acknowledged {
                    if let Err(e) = writer.send_urgent(ack) {
                        return Some(PumpEnd::LinkLost(Some(e)));
                    }
                }
                None
            }
            // agent_session_state and types this version does not know.
            _ => None,
        }
    }

    /// Takes a sequenced arrival; true when it is to be acknowledged now.
    fn receive(
        &mut self,
        sequence: i64,
        payload: Payload,
        ack: Vec<u8>,
        inbound: &InboundSender,
    ) -> bool {
        // The common case, straight through: the expected message, nothing held before it.
        if sequence == self.incoming.expected() && self.incoming.is_empty() {
            return match inbound.try_send(payload) {
                Ok(()) => {
                    self.incoming.advance();
                    bump(&self.counters.messages_delivered, 1);
                    true
                }
                // Held until the local side makes room (the expected one always fits).
                Err(TrySendError::Full(payload)) => {
                    let size = cost(&payload);
                    !matches!(
                        self.incoming.offer(sequence, payload, size),
                        Arrival::NoRoom(_)
                    )
                }
                // Nobody listens any more: take it so the peer can finish.
                Err(TrySendError::Closed(payload)) => {
                    self.incoming.advance();
                    bump(&self.counters.bytes_discarded, payload.data.len() as u64);
                    true
                }
            };
        }
        let size = cost(&payload);
        match self.incoming.offer(sequence, payload, size) {
            Arrival::Stored => true,
            // Acknowledged again: the first acknowledgement may have been lost.
            Arrival::Duplicate => {
                bump(&self.counters.duplicates, 1);
                true
            }
            // The buffer is full while the local side catches up: keep this one and read
            // nothing more until it has a place (the peer waits on the socket meanwhile).
            Arrival::NoRoom(payload) if self.incoming.has_ready() => {
                bump(&self.counters.reads_paused, 1);
                self.parked = Some(Parked {
                    sequence,
                    payload,
                    ack,
                });
                false
            }
            // Full behind a gap: the missing message must come first; this one is dropped
            // unacknowledged and sent again by the peer.
            Arrival::NoRoom(_) => {
                bump(&self.counters.early_dropped, 1);
                false
            }
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
    use crate::inbound::{inbound_queue, InboundReceiver};
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
                        .map_err(|_| LinkError::lost("closed"))?;
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
        from_peer: InboundReceiver,
        counters: Arc<EngineCounters>,
        task: tokio::task::JoinHandle<PumpEnd>,
    }

    fn run_with(mut endpoint: Endpoint, mut link: MemoryLink, inbound_bytes: usize) -> Running {
        let counters = endpoint.counters();
        let (to_peer, mut outbound) = mpsc::channel(16);
        let (inbound, from_peer) = inbound_queue(inbound_bytes);
        let task =
            tokio::spawn(async move { endpoint.pump(&mut link, &mut outbound, &inbound).await });
        Running {
            to_peer,
            from_peer,
            counters,
            task,
        }
    }

    fn run(role: Role, link: MemoryLink, inbound_bytes: usize) -> Running {
        run_with(Endpoint::new(role, 64), link, inbound_bytes)
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

    fn agent_frame(sequence: i64, payload: Vec<u8>) -> Vec<u8> {
        ClientMessage {
            message_type: MessageType::OutputStreamData,
            schema_version: SCHEMA_VERSION,
            created_date: now_ms(),
            sequence_number: sequence,
            flags: 0,
            message_id: Uuid::new_v4(),
            payload_type: PayloadType::OUTPUT,
            payload,
        }
        .encode()
        .unwrap()
    }

    #[tokio::test]
    async fn two_ends_deliver_everything_in_order_both_ways() {
        let (client_link, agent_link) = memory_pair();
        let mut client = run(Role::Client, client_link, 4096);
        let mut agent = run(Role::Agent, agent_link, 4096);
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

    /// The pump is dropped whenever it yields (as the emulator's agent drops it when its
    /// work ends, and the driver when a stop is asked for): every message it numbered is
    /// on the link by then. Before, a message numbered in one round and cut off while its
    /// frame waited for the link's queue went out only as a retransmission, after the
    /// peer's next acknowledgement came — or never, when the agent closed first (a
    /// flooding agent's output then ended behind a gap, reported as cut).
    #[tokio::test]
    async fn a_message_numbered_before_the_pump_is_dropped_is_on_the_link() {
        const MESSAGES: u32 = 2_000;
        let (mut agent_link, mut client_link) = memory_pair();
        let mut agent = Endpoint::new(Role::Agent, MESSAGES as usize + 1);
        let (to_client, mut outbound) = mpsc::channel(MESSAGES as usize);
        for i in 0..MESSAGES {
            to_client.send(numbered(i)).await.unwrap();
        }
        drop(to_client);
        let (inbound, _from_client) = inbound_queue(4096);
        let mut rounds = 0;
        while agent.next_sequence() < i64::from(MESSAGES) {
            rounds += 1;
            assert!(rounds < 100_000, "the pump made no progress");
            // Use up some of the task's cooperative budget first, a different amount each
            // round, so that the budget runs out at every kind of point in the pump.
            for _ in 0..rounds % 5 {
                tokio::task::consume_budget().await;
            }
            tokio::select! {
                biased;
                _ = agent.pump(&mut agent_link, &mut outbound, &inbound) => {}
                // Ready at once: the pump is dropped at the first point it waits.
                _ = std::future::ready(()) => {}
            }
            // A fresh cooperative budget for the next round.
            tokio::task::yield_now().await;
        }
        assert_eq!(agent.counters().messages_resent.load(Ordering::Relaxed), 0);
        let mut received = std::collections::BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while received.len() < MESSAGES as usize && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(200), client_link.rx.recv()).await {
                Ok(Some(frame)) => {
                    received.insert(
                        ClientMessage::decode(&frame)
                            .unwrap()
                            .message
                            .sequence_number,
                    );
                }
                _ => break,
            }
        }
        let missing: Vec<i64> = (0..i64::from(MESSAGES))
            .filter(|sequence| !received.contains(sequence))
            .collect();
        assert!(
            missing.is_empty(),
            "numbered but never written: {missing:?}"
        );
        drop(client_link.writer);
    }

    /// The local side stops reading for a while: the engine fills its bounded buffers,
    /// then stops reading the socket; everything arrives in order once the reader is back,
    /// and nothing was dropped for the sender to send again.
    #[tokio::test]
    async fn a_full_local_side_pauses_reading_and_nothing_is_dropped() {
        let (client_link, agent_link) = memory_pair();
        let client = run(Role::Client, client_link, 64 * 1024);
        let mut agent_end = Endpoint::new(Role::Agent, 64);
        agent_end.set_reorder_limit(4 * 1024);
        let mut agent = run_with(agent_end, agent_link, 4 * 1024);
        let sender = tokio::spawn({
            let to_peer = client.to_peer.clone();
            async move {
                for i in 0..300u32 {
                    let mut data = i.to_be_bytes().to_vec();
                    data.resize(1024, i as u8);
                    to_peer.send(Payload::output(data)).await.unwrap();
                }
            }
        });
        // Nothing is read for a while: the buffers fill and reading stops.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(agent.counters.reads_paused.load(Ordering::Relaxed) > 0);
        let held = agent.counters.messages_delivered.load(Ordering::Relaxed);
        assert!(held <= 8, "{held} messages handed over into a 4 KiB budget");
        for i in 0..300u32 {
            let payload = tokio::time::timeout(Duration::from_secs(10), agent.from_peer.recv())
                .await
                .expect("delivered")
                .unwrap();
            assert_eq!(payload.data[..4], i.to_be_bytes());
        }
        sender.await.unwrap();
        assert_eq!(agent.counters.early_dropped.load(Ordering::Relaxed), 0);
        client.task.abort();
        agent.task.abort();
    }

    #[tokio::test]
    async fn pause_publication_holds_new_messages_until_start_publication() {
        let (client_link, mut service) = memory_pair();
        let client = run(Role::Client, client_link, 4096);
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
        let (inbound, _from_peer) = inbound_queue(4096);
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

    /// While this end is not reading (its local side is full), no acknowledgement can be
    /// seen: that time is not the peer's stall.
    #[tokio::test]
    async fn time_spent_not_reading_does_not_count_as_the_peer_stalling() {
        let (mut link, peer) = memory_pair();
        let mut endpoint = Endpoint::new(Role::Client, 64);
        endpoint.set_unacknowledged_limit(Duration::from_millis(300));
        endpoint.set_reorder_limit(0);
        let (to_peer, mut outbound) = mpsc::channel(4);
        let (inbound, mut from_peer) = inbound_queue(crate::inbound::ENTRY_OVERHEAD + 8);
        // Our message goes unacknowledged; the peer's fill the local side and the buffer.
        to_peer.send(numbered(1)).await.unwrap();
        for sequence in 0..3 {
            peer.writer
                .send_urgent(agent_frame(sequence, vec![1; 8]))
                .unwrap();
        }
        let pumped = tokio::time::timeout(
            Duration::from_secs(1),
            endpoint.pump(&mut link, &mut outbound, &inbound),
        )
        .await;
        assert!(pumped.is_err(), "still running after 1 s: {pumped:?}");
        assert!(from_peer.try_recv().is_some());
    }

    #[tokio::test]
    async fn a_pause_without_start_publication_ends_by_itself() {
        let (client_link, mut service) = memory_pair();
        let client = run(Role::Client, client_link, 4096);
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

    /// An end of `role` and, from its peer, one message of `message_type` whose digest
    /// does not match its payload (`b"bytes"`). The peer's half is returned to keep the
    /// link open.
    fn sent_with_a_bad_digest(role: Role, message_type: MessageType) -> (Running, MemoryLink) {
        let (link, peer) = memory_pair();
        let end = run(role, link, 4096);
        let mut frame = ClientMessage {
            message_type,
            payload: b"bytes".to_vec(),
            ..ClientMessage::decode(&agent_frame(0, Vec::new()))
                .unwrap()
                .message
        }
        .encode()
        .unwrap();
        frame[80] ^= 0xff;
        peer.writer.send_urgent(frame).unwrap();
        (end, peer)
    }

    /// AWS's agent never checks a message's digest (agentmessage.go, `Validate`); the
    /// plugin drops a message whose digest does not match, unacknowledged.
    #[tokio::test]
    async fn only_the_client_end_drops_a_message_for_its_digest() {
        let (mut agent, _client_side) =
            sent_with_a_bad_digest(Role::Agent, MessageType::InputStreamData);
        let delivered = tokio::time::timeout(Duration::from_secs(1), agent.from_peer.recv())
            .await
            .expect("the agent end delivers it")
            .unwrap();
        assert_eq!(delivered, Payload::output(b"bytes".to_vec()));
        assert_eq!(agent.counters.invalid_frames.load(Ordering::Relaxed), 0);

        let (mut client, _service) =
            sent_with_a_bad_digest(Role::Client, MessageType::OutputStreamData);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), client.from_peer.recv())
                .await
                .is_err(),
            "the client end drops it"
        );
        assert_eq!(client.counters.invalid_frames.load(Ordering::Relaxed), 1);
        agent.task.abort();
        client.task.abort();
    }

    #[tokio::test]
    async fn a_start_publication_with_a_bad_digest_still_resumes_sending() {
        let (client_link, service) = memory_pair();
        let client = run(Role::Client, client_link, 4096);
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

    fn channel_closed_frame(output: &str) -> Vec<u8> {
        let body = serde_json::json!({"SessionId": "s-1", "Output": output});
        ClientMessage {
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
        .unwrap()
    }

    #[tokio::test]
    async fn channel_closed_ends_a_client_pump_with_its_reason() {
        let (link, service) = memory_pair();
        let client = run(Role::Client, link, 4096);
        service
            .writer
            .send_urgent(channel_closed_frame("Session timed out."))
            .unwrap();
        assert_eq!(
            client.task.await.unwrap(),
            PumpEnd::ChannelClosed("Session timed out.".into())
        );
        assert_eq!(
            channel_closed_reason(br#"{"SessionId":"s-2","Output":""}"#),
            "Exiting session with sessionId: s-2."
        );
    }

    /// The service closes the channel right behind the last messages while the local side
    /// is slow: everything acknowledged is still handed over, however long that takes.
    #[tokio::test]
    async fn what_arrived_before_channel_closed_is_delivered_however_slow_the_local_side() {
        let (mut link, service) = memory_pair();
        let mut endpoint = Endpoint::new(Role::Client, 64);
        let (_to_peer, mut outbound) = mpsc::channel(4);
        // Room for two small payloads: the rest waits in the engine (or on the socket).
        let (inbound, mut from_peer) = inbound_queue(2 * (crate::inbound::ENTRY_OVERHEAD + 4));
        for sequence in 0..200u32 {
            service
                .writer
                .send_urgent(agent_frame(
                    i64::from(sequence),
                    sequence.to_be_bytes().to_vec(),
                ))
                .unwrap();
        }
        service
            .writer
            .send_urgent(channel_closed_frame(""))
            .unwrap();
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            while let Some(payload) = from_peer.recv().await {
                // A slow reader.
                if all.len() % 20 == 0 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                all.push(payload);
            }
            all
        });
        let end = endpoint.pump(&mut link, &mut outbound, &inbound).await;
        assert!(matches!(end, PumpEnd::ChannelClosed(_)), "{end:?}");
        let stranded = endpoint.deliver_remaining(&inbound).await;
        assert_eq!(stranded, Undelivered::default());
        drop(inbound);
        let delivered = reader.await.unwrap();
        let expected: Vec<Payload> = (0..200u32)
            .map(|i| Payload::output(i.to_be_bytes().to_vec()))
            .collect();
        assert_eq!(delivered, expected);
    }

    /// Messages far ahead of the expected one cost at most the reorder buffer's bound: the
    /// rest are dropped unacknowledged (the gap must be filled first).
    #[tokio::test]
    async fn arrivals_far_ahead_are_held_only_up_to_the_byte_bound() {
        let (mut link, mut service) = memory_pair();
        let mut endpoint = Endpoint::new(Role::Client, 64);
        let counters = endpoint.counters();
        let (_to_peer, mut outbound) = mpsc::channel(4);
        let (inbound, mut from_peer) = inbound_queue(1024 * 1024);
        let big = 256 * 1024;
        for i in 0..40i64 {
            service
                .writer
                .send_urgent(agent_frame(1_000_000 + i, vec![9; big]))
                .unwrap();
        }
        service
            .writer
            .send_urgent(agent_frame(0, b"first".to_vec()))
            .unwrap();
        let pumped = tokio::time::timeout(
            Duration::from_millis(500),
            endpoint.pump(&mut link, &mut outbound, &inbound),
        )
        .await;
        assert!(pumped.is_err());
        assert_eq!(from_peer.try_recv().unwrap().data, b"first");
        assert!(
            endpoint.held().bytes <= REORDER_BYTES,
            "{:?}",
            endpoint.held()
        );
        let dropped = counters.early_dropped.load(Ordering::Relaxed);
        assert!(
            dropped >= 40 - (REORDER_BYTES / big) as u64,
            "{dropped} dropped"
        );
        // Only what was kept was acknowledged (plus the expected one).
        let mut acknowledged = 0;
        while let Ok(Ok(Some(_))) =
            tokio::time::timeout(Duration::from_millis(100), service.recv()).await
        {
            acknowledged += 1;
        }
        assert_eq!(acknowledged as u64, 41 - dropped);
    }

    /// A model of the engine's receiving side against a peer that loses, repeats and
    /// reorders, retransmits as this client or as the reference agent does, and a local
    /// side that reads at any pace — then a close.
    mod model {
        use std::collections::{BTreeSet, VecDeque};

        use proptest::prelude::*;

        use super::*;

        #[derive(Clone, Debug)]
        enum Step {
            /// The peer sends its next message (also again, or ahead of the one before it).
            Send { repeat: bool, swap: bool },
            /// The endpoint reads up to n frames, if it may.
            Read(u8),
            /// The local side takes up to n payloads.
            Consume(u8),
            /// The frame at the head of the wire is lost.
            Lose,
            /// The peer sends unacknowledged messages again.
            Retransmit { oldest_only: bool },
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                4 => (any::<bool>(), any::<bool>()).prop_map(|(r, s)| Step::Send { repeat: r && s, swap: s && !r }),
                3 => (1u8..6).prop_map(Step::Read),
                2 => (0u8..4).prop_map(Step::Consume),
                1 => Just(Step::Lose),
                1 => any::<bool>().prop_map(|oldest_only| Step::Retransmit { oldest_only }),
            ]
        }

        const BUDGET: usize = 4 * (ENTRY_OVERHEAD + 40);
        const REORDER: usize = 3 * (ENTRY_OVERHEAD + 40);

        struct World {
            endpoint: Endpoint,
            inbound: InboundSender,
            local: InboundReceiver,
            wire: VecDeque<i64>,
            sizes: Vec<usize>,
            next: i64,
            unacked: BTreeSet<i64>,
            acked: BTreeSet<i64>,
            delivered: Vec<i64>,
        }

        impl World {
            fn new(sizes: Vec<usize>) -> Self {
                let mut endpoint = Endpoint::new(Role::Client, 64);
                endpoint.set_reorder_limit(REORDER);
                let (inbound, local) = inbound_queue(BUDGET);
                Self {
                    endpoint,
                    inbound,
                    local,
                    wire: VecDeque::new(),
                    sizes,
                    next: 0,
                    unacked: BTreeSet::new(),
                    acked: BTreeSet::new(),
                    delivered: Vec::new(),
                }
            }

            fn payload(&self, sequence: i64) -> Payload {
                let mut data = sequence.to_be_bytes().to_vec();
                data.resize(self.sizes[sequence as usize], sequence as u8);
                Payload::output(data)
            }

            fn acknowledged(&mut self, ack: Vec<u8>) {
                let sequence = i64::from_be_bytes(ack.try_into().unwrap());
                self.unacked.remove(&sequence);
                self.acked.insert(sequence);
            }

            fn settle(&mut self) {
                if let Some(ack) = self.endpoint.hand_over(&self.inbound) {
                    self.acknowledged(ack);
                }
            }

            fn read(&mut self) -> bool {
                self.settle();
                if self.endpoint.parked.is_some() {
                    return false;
                }
                let Some(sequence) = self.wire.pop_front() else {
                    return false;
                };
                let payload = self.payload(sequence);
                let ack = sequence.to_be_bytes().to_vec();
                if self
                    .endpoint
                    .receive(sequence, payload, ack.clone(), &self.inbound)
                {
                    self.acknowledged(ack);
                }
                self.settle();
                true
            }

            fn consume(&mut self, n: usize) -> usize {
                let mut taken = 0;
                while taken < n {
                    let Some(payload) = self.local.try_recv() else {
                        break;
                    };
                    let sequence = i64::from_be_bytes(payload.data[..8].try_into().unwrap());
                    assert_eq!(payload, self.payload(sequence), "payload intact");
                    self.delivered.push(sequence);
                    taken += 1;
                }
                self.settle();
                taken
            }

            fn check_bounds(&self) -> Result<(), TestCaseError> {
                let largest = ENTRY_OVERHEAD + 40;
                prop_assert!(self.endpoint.held().bytes <= REORDER + largest);
                prop_assert!(self.inbound.queued_bytes() <= BUDGET);
                Ok(())
            }

            fn apply(&mut self, step: &Step) -> Result<(), TestCaseError> {
                match *step {
                    Step::Send { repeat, swap } => {
                        if (self.next as usize) < self.sizes.len() {
                            let sequence = self.next;
                            self.next += 1;
                            self.unacked.insert(sequence);
                            self.wire.push_back(sequence);
                            if repeat {
                                self.wire.push_back(sequence);
                            }
                            let n = self.wire.len();
                            if swap && n >= 2 {
                                self.wire.swap(n - 1, n - 2);
                            }
                        }
                    }
                    Step::Read(n) => {
                        for _ in 0..n {
                            self.read();
                        }
                    }
                    Step::Consume(n) => {
                        self.consume(n as usize);
                    }
                    Step::Lose => {
                        self.wire.pop_front();
                    }
                    Step::Retransmit { oldest_only } => {
                        let again: Vec<i64> = if oldest_only {
                            self.unacked.iter().next().copied().into_iter().collect()
                        } else {
                            self.unacked.iter().take(32).copied().collect()
                        };
                        self.wire.extend(again);
                    }
                }
                self.check_bounds()
            }

            /// The peer keeps sending and retransmitting its oldest message, the endpoint
            /// keeps reading, the local side keeps taking, until everything was
            /// acknowledged and read.
            fn finish(&mut self) -> Result<(), TestCaseError> {
                for _ in 0..100_000 {
                    if self.unacked.is_empty()
                        && self.next as usize == self.sizes.len()
                        && self.wire.is_empty()
                        && self.endpoint.held().messages == 0
                        && self.endpoint.parked.is_none()
                    {
                        break;
                    }
                    self.apply(&Step::Send {
                        repeat: false,
                        swap: false,
                    })?;
                    if self.wire.is_empty() {
                        self.apply(&Step::Retransmit { oldest_only: true })?;
                    }
                    self.read();
                    self.consume(1);
                }
                self.consume(usize::MAX);
                Ok(())
            }

            /// The service closes the channel behind what is on the wire: it is read
            /// (waiting for room as the engine does), then everything deliverable goes to
            /// the local side. Returns what was stranded.
            fn close(&mut self) -> Result<Undelivered, TestCaseError> {
                for _ in 0..100_000 {
                    if self.wire.is_empty() {
                        break;
                    }
                    if !self.read() {
                        self.consume(usize::MAX);
                    }
                    self.check_bounds()?;
                }
                // deliver_remaining, with the local side reading meanwhile.
                if let Some(parked) = self.endpoint.parked.take() {
                    let size = cost(&parked.payload);
                    if parked.sequence == self.endpoint.expected()
                        || self.endpoint.incoming.has_room(size)
                    {
                        let _ = self
                            .endpoint
                            .incoming
                            .offer(parked.sequence, parked.payload, size);
                    }
                }
                for _ in 0..100_000 {
                    self.settle();
                    if self.consume(usize::MAX) == 0 && !self.endpoint.incoming.has_ready() {
                        break;
                    }
                }
                let (messages, bytes) = self.endpoint.incoming.clear();
                Ok(Undelivered { messages, bytes })
            }
        }

        fn sizes() -> impl Strategy<Value = Vec<usize>> {
            proptest::collection::vec(8usize..=40, 1..80)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Whatever the peer and the local side do, what reaches the local side is the
            /// peer's messages in order, each once; every acknowledged message reaches it,
            /// or is reported as stranded at the close; memory stays within the bounds.
            #[test]
            fn acknowledged_data_is_delivered_in_order_or_reported(
                sizes in sizes(),
                steps in proptest::collection::vec(step(), 0..300),
                finish in any::<bool>(),
            ) {
                let mut world = World::new(sizes);
                for step in &steps {
                    world.apply(step)?;
                }
                if finish {
                    world.finish()?;
                }
                let stranded = world.close()?;
                let expected: Vec<i64> = (0..world.delivered.len() as i64).collect();
                prop_assert_eq!(&world.delivered, &expected, "in order, each once");
                let delivered: BTreeSet<i64> = world.delivered.iter().copied().collect();
                let lost = world.acked.difference(&delivered).count();
                prop_assert_eq!(lost, stranded.messages, "every acknowledged message delivered or reported");
                if finish {
                    prop_assert_eq!(world.delivered.len(), world.sizes.len(), "everything, when the peer finished");
                    prop_assert_eq!(stranded, Undelivered::default());
                }
            }
        }
    }
}
