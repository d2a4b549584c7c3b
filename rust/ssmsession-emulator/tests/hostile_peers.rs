//! The client against peers that break its assumptions — the emulator's `i-hostile-*`
//! targets (see `ssmsession_emulator::hostile`): agents that flood, that resend only their oldest
//! message, that send far ahead or too much at once, endpoints that accept and drop, hand
//! out plain-text URLs, send malformed multiplexing frames, endless bodies, or never
//! answer TerminateSession. Each test states what a user would see go wrong.

mod common;

use common::{
    echo_server, forward_to, settings, started_channel_to, with_separate_output,
    SEPARATE_OUTPUT_DOCUMENT,
};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ssmsession_core::{ClientCache, CommandRun, StartSessionCall};
use ssmsession_datachannel::driver::SessionEnd;
use ssmsession_emulator::{AgentConfig, Emulator, EmulatorConfig, Faults};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The command sessions here stream their output and end with an exit code: a document
/// with separate output streams (the emulator's configs include it).
const COMMAND_DOCUMENT: &str = SEPARATE_OUTPUT_DOCUMENT;

/// Starts a command session to `target` and opens its channel.
async fn command(url: &str, target: &str, command: &str) -> CommandRun {
    let cache = ClientCache::new();
    let call = started_channel_to(&cache, url, target, Some(COMMAND_DOCUMENT), Some(command)).await;
    let (run, _) = ssmsession_core::start_command(&cache, call)
        .await
        .expect("the command session starts");
    run
}

/// How a test's reader takes output.
#[derive(Clone, Copy)]
enum Reader {
    /// As fast as it comes.
    Fast,
    /// Takes `after` bytes, stops for `pause`, then reads as fast as it comes (a pipeline
    /// consumer busy for a while).
    Pausing { after: usize, pause: Duration },
}

/// Takes everything until the session ended and nothing is left; returns stdout, the exit
/// code and the end.
async fn read_all(
    run: &CommandRun,
    reader: Reader,
    limit: Duration,
) -> (Vec<u8>, Option<i32>, SessionEnd) {
    let started = Instant::now();
    let mut stdout = Vec::new();
    let mut exit_code = None;
    let mut paused = false;
    loop {
        assert!(started.elapsed() < limit, "not done within {limit:?}");
        run.wait_for_output(Duration::from_millis(100)).await;
        let taken = run.take();
        stdout.extend(taken.stdout);
        exit_code = taken.exit_code.or(exit_code);
        if let Reader::Pausing { after, pause } = reader {
            if !paused && stdout.len() >= after {
                paused = true;
                tokio::time::sleep(pause).await;
            }
        }
        if run.end().is_some() && !run.has_output() {
            break;
        }
    }
    let end = run.wait().await;
    (stdout, exit_code, end)
}

fn numbered_lines(count: usize) -> Vec<u8> {
    (1..=count)
        .flat_map(|n| format!("{n}\n").into_bytes())
        .collect()
}

/// A fast agent (no pacing, up to 300 messages unacknowledged) into a reader that stops
/// for a few seconds: before, the client acknowledged ahead of what the reader took, the
/// agent finished and closed, and what the reader had not taken within 2 s of the close
/// was dropped without a word — and with it the exit code (the previous plugin, driven by
/// the AWS CLI against this agent: 1,335,950 of 1,572,864 lines, exit code 0 instead of
/// 3). Now every line and the exit code arrive.
async fn flood_into_a_pausing_reader(target: &str) {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    let lines = 1_572_864;
    let run = command(
        emulator.url(),
        target,
        &format!("sh -c 'seq 1 {lines}; exit 3'"),
    )
    .await;
    let reader = Reader::Pausing {
        after: 1_000_000,
        pause: Duration::from_secs(4),
    };
    let (stdout, exit_code, end) = read_all(&run, reader, Duration::from_secs(120)).await;
    let expected = numbered_lines(lines);
    assert_eq!(stdout.len(), expected.len(), "all {lines} lines: {end:?}");
    assert!(stdout == expected, "the lines are intact and in order");
    assert_eq!(exit_code, Some(3));
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    assert_eq!(run.undelivered(), None);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_small_messages_into_a_pausing_reader_loses_nothing() {
    flood_into_a_pausing_reader("i-hostile-flood").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_large_messages_into_a_pausing_reader_loses_nothing() {
    flood_into_a_pausing_reader("i-hostile-flood-32768").await;
}

/// The same across ResumeSession: the service closes the socket every 1.5 s while output
/// waits for the paused reader (and a message read but not yet acknowledged is dropped with
/// the old socket): every line and the exit code still arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_into_a_pausing_reader_loses_nothing_across_resumed_sockets() {
    let config = EmulatorConfig {
        agent: AgentConfig {
            faults: Faults {
                close_after: Some(Duration::from_millis(1500)),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let emulator = Emulator::start(with_separate_output(config)).await.unwrap();
    // More than every buffer on the way holds, so that the agent is still sending when
    // its socket is closed under it.
    let lines = 6_000_000;
    let run = command(
        emulator.url(),
        "i-hostile-flood",
        &format!("sh -c 'seq 1 {lines}; exit 3'"),
    )
    .await;
    let reader = Reader::Pausing {
        after: 1_000_000,
        pause: Duration::from_secs(4),
    };
    let (stdout, exit_code, end) = read_all(&run, reader, Duration::from_secs(120)).await;
    assert!(
        stdout == numbered_lines(lines),
        "all lines, in order: {end:?}"
    );
    assert_eq!(exit_code, Some(3));
    assert!(run.reconnects.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    emulator.stop().await;
}

/// An agent that never waits for acknowledgements and resends only its oldest
/// unacknowledged message, once per timeout (as the reference agent does), into a reader
/// that stops for a while: before, the client acknowledged ahead and then dropped what did
/// not fit, so each missing message came back one timer tick at a time and the download
/// crawled (~0.3 MB/s) for good. Now the reader gets full speed back at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_paused_gets_full_speed_back_from_an_agent_that_resends_only_its_oldest_message(
) {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    let total: usize = 64_000_000;
    let run = command(
        emulator.url(),
        "i-hostile-oldest-only-0",
        &format!("sh -c 'yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c {total}'"),
    )
    .await;
    let mut received = 0usize;
    let take = |received: &mut usize| {
        let taken = run.take();
        assert!(taken.stdout.iter().all(|b| b.is_ascii()), "text intact");
        *received += taken.stdout.len();
        taken.exit_code
    };
    // Full speed first, for the measure of what full speed is here.
    let first = Instant::now();
    while received < 6_000_000 {
        run.wait_for_output(Duration::from_millis(50)).await;
        take(&mut received);
        assert!(
            first.elapsed() < Duration::from_secs(60),
            "{received} bytes"
        );
    }
    let full_speed = received as f64 / first.elapsed().as_secs_f64();
    // The reader pauses: every buffer on the way fills and the agent is held back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resumed = Instant::now();
    let before = received;
    let mut exit_code = None;
    while resumed.elapsed() < Duration::from_secs(1) && received < total {
        run.wait_for_output(Duration::from_millis(50)).await;
        exit_code = take(&mut received).or(exit_code);
    }
    let after_resume = (received - before) as f64 / resumed.elapsed().as_secs_f64();
    assert!(
        received == total || after_resume >= 0.3 * full_speed,
        "{after_resume:.0} B/s in the second after the pause, {full_speed:.0} B/s before"
    );
    let (rest, code, end) = read_all(&run, Reader::Fast, Duration::from_secs(120)).await;
    received += rest.len();
    assert_eq!(received, total, "{end:?}");
    assert_eq!(code.or(exit_code), Some(0));
    emulator.stop().await;
}

/// A sink that reads as fast as it can, except for one pause once `pause_after` bytes have
/// arrived; it records when each read happened and the running total.
async fn pausing_sink(pause_after: u64, pause: Duration) -> (u16, Arc<Mutex<Vec<(Instant, u64)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reads = Arc::new(Mutex::new(Vec::new()));
    let record = reads.clone();
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut buffer = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        let mut paused = false;
        while let Ok(n) = stream.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            total += n as u64;
            record.lock().unwrap().push((Instant::now(), total));
            if !paused && total >= pause_after {
                paused = true;
                tokio::time::sleep(pause).await;
            }
        }
    });
    (port, reads)
}

/// The other direction: an upload through a forward to a target that stops reading for a
/// while. The agent's side holds back as the client's does, and the upload gets its speed
/// back at once when the target reads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_gets_full_speed_back_after_the_target_paused() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let pause_after = 16 * 1024 * 1024;
    let total: u64 = 160 * 1024 * 1024;
    let (port, reads) = pausing_sink(pause_after, Duration::from_secs(2)).await;
    let forwarding = forward_to(emulator.url(), "i-0123456789abcdef0", port, 32 * 1024).await;
    let mut stream = TcpStream::connect(forwarding.forward.local_addr)
        .await
        .unwrap();
    let block = vec![0x42u8; 256 * 1024];
    let mut sent = 0u64;
    while sent < total {
        stream.write_all(&block).await.unwrap();
        sent += block.len() as u64;
    }
    stream.shutdown().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while reads.lock().unwrap().last().map(|r| r.1) != Some(total) {
        assert!(Instant::now() < deadline, "the upload did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reads = reads.lock().unwrap().clone();
    let start = reads[0].0;
    let paused_at = reads.iter().position(|r| r.1 >= pause_after).unwrap();
    let before = reads[paused_at].1 as f64 / (reads[paused_at].0 - start).as_secs_f64();
    let (resumed, at_resume) = reads[paused_at + 1];
    let window_end = resumed + Duration::from_secs(1);
    let (last_in_window, received) = reads
        .iter()
        .take_while(|r| r.0 <= window_end)
        .last()
        .map(|r| (r.0, r.1))
        .unwrap();
    let after = (received - at_resume) as f64 / (last_in_window - resumed).as_secs_f64().max(0.001);
    assert!(
        received == total || after >= 0.3 * before,
        "{after:.0} B/s after the pause, {before:.0} B/s before"
    );
    forwarding.forward.stop();
    emulator.stop().await;
}

/// Messages numbered far ahead of anything the session sends (300 of 1 MB): the client
/// keeps at most its reorder bound of them (before: up to 10,000 of any size) and the real
/// output still arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_far_ahead_do_not_disturb_the_session() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    let run = command(
        emulator.url(),
        "i-hostile-far-ahead-300",
        "sh -c 'echo done; exit 4'",
    )
    .await;
    let (stdout, exit_code, end) = read_all(&run, Reader::Fast, Duration::from_secs(60)).await;
    assert_eq!(String::from_utf8_lossy(&stdout), "done\n", "{end:?}");
    assert_eq!(exit_code, Some(4));
    // What was kept of them could never be delivered (the agent skipped the numbers in
    // between), and the client says so instead of dropping it silently.
    let cut = run.undelivered().expect("the kept messages are reported");
    assert_eq!(cut.cause, ssmsession_core::CutCause::Gap);
    assert!(
        cut.bytes <= ssmsession_datachannel::reliability::REORDER_BYTES,
        "{cut:?}"
    );
    emulator.stop().await;
}

/// A message over the 1 MiB limit: a clear error naming the limit (before: accepted up to
/// the WebSocket library's 64 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_size_limit_fails_the_session_with_the_limit_named() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let cache = ClientCache::new();
    let call = started_channel_to(
        &cache,
        emulator.url(),
        "i-hostile-oversized",
        Some("AWS-StartNonInteractiveCommand"),
        Some("echo never"),
    )
    .await;
    let error = match ssmsession_core::start_command(&cache, call).await {
        Err(error) => error,
        Ok(_) => panic!("an oversized message must fail the session"),
    };
    let message = error.to_string();
    assert!(message.contains("limit is 1048576 bytes"), "{message}");
    emulator.stop().await;
}

/// StartSession answered with a body that never ends: a clear error after the 1 MiB cap
/// (before: the process grew without bound, 6 GB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_response_body_is_cut_at_the_cap_with_a_clear_error() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let cache = ClientCache::new();
    let started = Instant::now();
    let result = ssmsession_core::start_session(
        &cache,
        StartSessionCall {
            target: Some("i-hostile-endless-body".into()),
            client: settings(emulator.url()),
            ..Default::default()
        },
    )
    .await;
    let error = result.expect_err("an endless body is not an answer");
    assert_eq!(error.code(), "InvalidResponse", "{error}");
    assert!(
        error.to_string().contains("larger than 1024 KiB"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    emulator.stop().await;
}

/// Waits for a forward's end.
async fn ended_within(forward: &ssmsession_core::PortForward, limit: Duration) -> SessionEnd {
    tokio::time::timeout(limit, forward.wait())
        .await
        .unwrap_or_else(|_| panic!("the forward did not end within {limit:?}"))
}

/// An endpoint that accepts each resumed socket and drops it at once: before, ~440
/// reconnects a second and a forward Running for ever; now a few attempts with growing
/// pauses, then Failed with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_that_drop_right_after_connecting_end_the_forward_after_a_bounded_number_of_attempts(
) {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-hostile-accept-drop", echo, 1024).await;
    let started = Instant::now();
    let end = ended_within(&forwarding.forward, Duration::from_secs(90)).await;
    let SessionEnd::Failed(reason) = &end else {
        panic!("{end:?}")
    };
    assert!(reason.contains("could not be restored"), "{reason}");
    let reconnects = forwarding.forward.stats.snapshot().reconnects;
    assert!(
        reconnects <= u64::from(ssmsession_datachannel::driver::RECONNECT_ATTEMPTS),
        "{reconnects} reconnects"
    );
    // Back-off: the attempts took a while, not a burst.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    emulator.stop().await;
}

/// A data channel that answers the first upgrades with 503 (a service not ready yet): the
/// first connection is retried with back-off, as AWS's plugin retries it (before: the
/// session failed at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_connection_refused_for_a_while_is_retried() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-hostile-refuse-first-2", echo, 1024).await;
    let mut connection = TcpStream::connect(forwarding.forward.local_addr)
        .await
        .unwrap();
    connection.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    connection.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"ping");
    forwarding.forward.stop();
    emulator.stop().await;
}

/// ...but not for ever: after its retries the session fails, naming the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_connection_refused_for_good_fails_after_its_retries() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let cache = ClientCache::new();
    let call = started_channel_to(
        &cache,
        emulator.url(),
        "i-hostile-refuse-first-10",
        Some("AWS-StartNonInteractiveCommand"),
        Some("echo never"),
    )
    .await;
    let started = Instant::now();
    let error = match ssmsession_core::start_command(&cache, call).await {
        Err(error) => error,
        Ok(_) => panic!("a data channel that always refuses cannot open"),
    };
    assert!(error.to_string().contains("503"), "{error}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(30),
        "{waited:?}"
    );
    emulator.stop().await;
}

/// ResumeSession hands out a ws:// URL on a host that is not loopback: before, the client
/// reconnected in plain text, sending its signed upgrade and the new token; now it refuses,
/// as it refuses such a URL from StartSession.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_text_url_from_resume_session_is_refused() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-hostile-ws-resume", echo, 1024).await;
    let end = ended_within(&forwarding.forward, Duration::from_secs(30)).await;
    let SessionEnd::Failed(reason) = &end else {
        panic!("{end:?}")
    };
    assert!(
        reason.contains("ws://") && reason.contains("0.0.0.0"),
        "{reason}"
    );
    assert_eq!(forwarding.forward.stats.snapshot().reconnects, 0);
    emulator.stop().await;
}

/// A malformed multiplexing frame from the agent: before, the forward ended "Stopped" with
/// no message and the session was terminated as if the user had stopped it; now it is
/// Failed, saying what was wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_smux_frame_fails_the_forward_with_the_reason() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-hostile-bad-smux", echo, 1024).await;
    let mut connection = TcpStream::connect(forwarding.forward.local_addr)
        .await
        .unwrap();
    let _ = connection.write_all(b"hello").await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), connection.read_to_end(&mut sink)).await;
    let end = ended_within(&forwarding.forward, Duration::from_secs(20)).await;
    let SessionEnd::Failed(reason) = &end else {
        panic!("{end:?}")
    };
    assert!(
        reason.contains("smux") && reason.contains("version 7"),
        "{reason}"
    );
    emulator.stop().await;
}

/// Stopping a session whose agent ignores the TerminateSession flag while the
/// TerminateSession API hangs: the stop still ends in bounded time, and says that the
/// session may still be open (before: the state stayed Running).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_terminate_session_hangs_ends_in_bounded_time_and_says_so() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    // Deaf to Ctrl+C too, so that only the TerminateSession API could end it.
    let run = command(
        emulator.url(),
        "i-hostile-terminate-hang",
        "sh -c 'trap \"\" INT; echo ready; exec sleep 100'",
    )
    .await;
    // Only once it ignores Ctrl+C: a stop before that would end it in band.
    let mut seen = Vec::new();
    let ready_by = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains("ready") && Instant::now() < ready_by {
        run.wait_for_output(Duration::from_millis(100)).await;
        seen.extend(run.take().stdout);
    }
    assert!(
        String::from_utf8_lossy(&seen).contains("ready"),
        "the command never started"
    );
    let started = Instant::now();
    run.stop();
    let end = tokio::time::timeout(Duration::from_secs(30), run.wait())
        .await
        .expect("the stop ends within 30 s");
    let SessionEnd::Failed(reason) = &end else {
        panic!("{end:?}")
    };
    assert!(reason.contains("did not answer within 20 s"), "{reason}");
    assert!(started.elapsed() >= Duration::from_secs(20));
    emulator.stop().await;
}
