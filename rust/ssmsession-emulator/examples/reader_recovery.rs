//! How fast a download recovers after its reader pauses, against an agent that sends 1 KiB
//! messages without waiting for acknowledgements and resends only its oldest
//! unacknowledged message (the reference agent's discipline; the emulator's
//! `i-hostile-oldest-only-0` target, unpaced so that the pause fills every buffer on the
//! way).
//!
//! `cargo run --release -p ssmsession-emulator --example reader_recovery [-- <scale>]`
//!
//! A command session prints `64 MB × scale` of text; the reader takes the first quarter as
//! fast as it can (the rate before the pause is the anchor), stops for 2 s, then reads as
//! fast as it can again. Printed: the rate before the pause, the rate over the first second
//! after it, their ratio, and how long the first megabyte after the pause took.

use std::time::{Duration, Instant};

use ssmsession_core::ClientCache;
use ssmsession_emulator::{Emulator, EmulatorConfig};

// The end-to-end tests' helpers: client settings for the emulator, a started session.
#[path = "../tests/common/mod.rs"]
mod common;

const MB: f64 = 1024.0 * 1024.0;
const PAUSE: Duration = Duration::from_secs(2);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let scale: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(1.0);
    let total = ((64.0 * MB * scale) as usize).max(4 * 1024 * 1024);
    // Output streamed as it is written: a document with separate output streams (AWS's
    // own command document holds everything until the command ends).
    let emulator = Emulator::start(common::with_separate_output(EmulatorConfig::default()))
        .await
        .expect("the emulator starts");
    let cache = ClientCache::new();
    let command = format!("sh -c 'yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c {total}'");
    let call = common::started_channel_to(
        &cache,
        emulator.url(),
        "i-hostile-oldest-only-0",
        Some(common::SEPARATE_OUTPUT_DOCUMENT),
        Some(&command),
    )
    .await;
    let (run, _) = ssmsession_core::start_command(&cache, call)
        .await
        .expect("the command session opens");
    let mut received = 0usize;
    let limit = Instant::now() + Duration::from_secs(300);

    let first = Instant::now();
    while received < total / 4 && Instant::now() < limit {
        run.wait_for_output(Duration::from_millis(50)).await;
        received += run.take().stdout.len();
    }
    let before = received as f64 / MB / first.elapsed().as_secs_f64();

    tokio::time::sleep(PAUSE).await;
    let resumed = Instant::now();
    let at_resume = received;
    let mut first_mb = None;
    while resumed.elapsed() < Duration::from_secs(1) && received < total && Instant::now() < limit {
        run.wait_for_output(Duration::from_millis(20)).await;
        received += run.take().stdout.len();
        if first_mb.is_none() && received - at_resume >= 1024 * 1024 {
            first_mb = Some(resumed.elapsed());
        }
    }
    let after = (received - at_resume) as f64 / MB / resumed.elapsed().as_secs_f64();
    while (run.end().is_none() || run.has_output()) && Instant::now() < limit {
        run.wait_for_output(Duration::from_millis(100)).await;
        received += run.take().stdout.len();
    }
    let complete = received == total;
    println!("row                                   before MB/s  after MB/s  ratio  first MB after pause  complete");
    println!(
        "recovery after a {} s pause            {before:>10.1}  {after:>10.1}  {:>5.2}  {:>17.0} ms  {}",
        PAUSE.as_secs(),
        after / before,
        first_mb.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
        if complete { "yes" } else { "NO" }
    );
    emulator.stop().await;
    if !complete {
        eprintln!("only {received} of {total} bytes arrived");
        std::process::exit(1);
    }
}
