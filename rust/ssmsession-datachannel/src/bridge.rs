//! A byte stream carried in Output payloads: what the channel looks like to smux (both
//! ends of a multiplexed port session) and to a basic port connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::engine::Payload;
use crate::inbound::InboundReceiver;
use crate::message::PayloadType;

/// The reference reads at most this much per message (`StreamDataPayloadSize`).
pub const REFERENCE_CHUNK: usize = 1024;
/// The reference's pause after each message (≈ 1000 messages/s, about 1 MB/s at 1 KiB).
pub const REFERENCE_PACE: Duration = Duration::from_millis(1);
/// Largest chunk this client sends; agents accept 32 KiB (see the protocol notes, §3.7).
pub const MAX_CHUNK: usize = 256 * 1024;

/// Read and write buffer of each forwarded TCP connection: one read fills at most one smux
/// frame (payloads up to 65,535 bytes). Tokio's default 8 KiB made four times as many
/// frames, system calls and task wake-ups per megabyte (measured: see issue 6's note).
pub const STREAM_COPY_BUFFER: usize = 60 * 1024;

/// Copies both ways between a local TCP connection and its multiplexed stream until both
/// directions end.
pub async fn copy_stream<A, B>(tcp: &mut A, stream: &mut B)
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let _ = tokio::io::copy_bidirectional_with_sizes(
        tcp,
        stream,
        STREAM_COPY_BUFFER,
        STREAM_COPY_BUFFER,
    )
    .await;
}

/// How the local bytes are cut into messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunking {
    /// Bytes per message, at most.
    pub size: usize,
    /// A pause after each message, as the reference plugin and agent make; None sends as
    /// fast as the window allows.
    pub pace: Option<Duration>,
}

impl Default for Chunking {
    fn default() -> Self {
        Self {
            size: 32 * 1024,
            pace: None,
        }
    }
}

impl Chunking {
    /// The reference plugin's behaviour: 1 KiB, then 1 ms.
    pub fn reference() -> Self {
        Self {
            size: REFERENCE_CHUNK,
            pace: Some(REFERENCE_PACE),
        }
    }

    pub fn clamped(self) -> Self {
        Self {
            size: self.size.clamp(1, MAX_CHUNK),
            pace: self.pace.filter(|p| !p.is_zero()),
        }
    }
}

/// Bytes moved through the channel, for progress reports.
#[derive(Debug, Default)]
pub struct ByteCounters {
    /// Taken from the local stream and sent to the peer.
    pub sent: AtomicU64,
    /// Received from the peer and written to the local stream.
    pub received: AtomicU64,
}

impl ByteCounters {
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// Reads `reader` into Output payloads until EOF (then returns) or until `outbound` closes.
pub async fn pump_to_channel<R: AsyncRead + Unpin>(
    mut reader: R,
    outbound: &mpsc::Sender<Payload>,
    chunking: Chunking,
    counter: &AtomicU64,
) -> std::io::Result<()> {
    let chunking = chunking.clamped();
    let mut pacer = chunking.pace.map(Pacer::new);
    loop {
        // Each read lands in the payload's own buffer: no copy on the way to the encoder.
        let mut buffer = Vec::with_capacity(chunking.size);
        let read = reader.read_buf(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        counter.fetch_add(read as u64, Ordering::Relaxed);
        if outbound.send(Payload::output(buffer)).await.is_err() {
            return Ok(());
        }
        if let Some(pacer) = pacer.as_mut() {
            pacer.wait().await;
        }
    }
}

/// Spaces messages `pace` apart on average. A plain `sleep(pace)` after each message
/// overshoots by up to a timer tick every time (tokio's timer has 1 ms resolution: a 1 ms
/// pace gave ~450 messages/s, not 1000); deadlines on a fixed grid catch up instead. After
/// an idle spell the grid restarts, so at most `BURST` messages go out back to back.
struct Pacer {
    pace: Duration,
    next: tokio::time::Instant,
}

impl Pacer {
    const BURST: u32 = 4;

    fn new(pace: Duration) -> Self {
        Self {
            pace,
            next: tokio::time::Instant::now(),
        }
    }

    async fn wait(&mut self) {
        let now = tokio::time::Instant::now();
        if now.saturating_duration_since(self.next) > self.pace * Self::BURST {
            self.next = now;
        }
        self.next += self.pace;
        tokio::time::sleep_until(self.next).await;
    }
}

/// Writes Output payloads from `inbound` into `writer` until `inbound` closes; any other
/// payload (flags) goes to `control`.
pub async fn pump_from_channel<W: AsyncWrite + Unpin>(
    mut writer: W,
    inbound: &mut InboundReceiver,
    control: &mpsc::UnboundedSender<Payload>,
    counter: &AtomicU64,
) -> std::io::Result<()> {
    while let Some(payload) = inbound.recv().await {
        if payload.payload_type == PayloadType::OUTPUT {
            counter.fetch_add(payload.data.len() as u64, Ordering::Relaxed);
            writer.write_all(&payload.data).await?;
        } else {
            let _ = control.send(payload);
        }
    }
    writer.shutdown().await
}

/// Carries `stream` over the channel both ways until either direction ends.
pub async fn bridge<S: AsyncRead + AsyncWrite>(
    stream: S,
    outbound: mpsc::Sender<Payload>,
    mut inbound: InboundReceiver,
    control: mpsc::UnboundedSender<Payload>,
    chunking: Chunking,
    counters: Arc<ByteCounters>,
) {
    let (reader, writer) = tokio::io::split(stream);
    tokio::select! {
        _ = pump_to_channel(reader, &outbound, chunking, &counters.sent) => {}
        _ = pump_from_channel(writer, &mut inbound, &control, &counters.received) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pacing_keeps_the_average_rate_and_limits_bursts_after_idle() {
        let mut pacer = Pacer::new(Duration::from_millis(1));
        let started = tokio::time::Instant::now();
        for _ in 0..1000 {
            pacer.wait().await;
        }
        // 1000 messages at 1 ms each: one second, not 1000 overshooting sleeps.
        assert_eq!(started.elapsed(), Duration::from_millis(1000));

        // Idle for a second, then the grid restarts: no burst of 1000 catch-up messages.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let resumed = tokio::time::Instant::now();
        for _ in 0..10 {
            pacer.wait().await;
        }
        assert_eq!(resumed.elapsed(), Duration::from_millis(10));
    }
}
