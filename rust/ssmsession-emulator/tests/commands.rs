//! Non-interactive commands end to end on loopback, against the emulator's agent as AWS's
//! agent behaves (agent-behaviour §1, §2, §4): the command line is split and run without a
//! shell; AWS-StartNonInteractiveCommand merges both streams, sends them when the command
//! has ended and no exit code; a document with `separateOutputStream` streams them apart
//! and ends with the exit code; Ctrl+C signals the command, the TerminateSession API kills
//! it.

mod common;

use common::{started_channel, with_separate_output, SEPARATE_OUTPUT_DOCUMENT};

use std::time::Duration;

use ssmsession_core::{ChannelCall, ClientCache, CommandOutput};
use ssmsession_datachannel::driver::SessionEnd;
use ssmsession_emulator::documents::ExtraDocument;
use ssmsession_emulator::{AgentConfig, Emulator, EmulatorConfig};

const NON_INTERACTIVE: &str = "AWS-StartNonInteractiveCommand";

/// Runs `command` through the emulator and collects everything until the session ends.
async fn run(url: &str, document: &str, command: &str) -> (CommandOutput, SessionEnd) {
    let (output, end, _) = run_as(url, document, command, Some("i-0123456789abcdef0"), None)
        .await
        .expect("the command session starts");
    (output, end)
}

/// [`run`], naming `target` as the session's target for the KMS context and the marker of
/// an exit-code trailer; also returns the handshake's customer message.
async fn run_as(
    url: &str,
    document: &str,
    command: &str,
    target: Option<&str>,
    exit_marker: Option<&str>,
) -> Result<(CommandOutput, SessionEnd, String), ssmsession_core::CoreError> {
    let cache = ClientCache::new();
    let mut call = started_channel(&cache, url, Some(document), Some(command)).await;
    call.target = target.map(str::to_owned);
    call.exit_marker = exit_marker.map(str::to_owned);
    let (running, started) = ssmsession_core::start_command(&cache, call).await?;
    let end = tokio::time::timeout(Duration::from_secs(30), running.wait())
        .await
        .expect("the command ends");
    let mut all = CommandOutput::default();
    loop {
        let taken = running.take();
        all.stdout.extend(taken.stdout);
        all.stderr.extend(taken.stderr);
        all.exit_code = taken.exit_code;
        if !running.has_output() {
            break;
        }
    }
    Ok((all, end, started.customer_message))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_text_is_not_run_by_a_shell() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    // echo gets `a;`, `exit` and `3` as arguments: nothing interprets the `;`.
    let (output, end) = run(emulator.url(), NON_INTERACTIVE, "echo a; exit 3").await;
    assert_eq!(text(&output.stdout), "a; exit 3\n");
    assert_eq!(
        output.exit_code, None,
        "no exit code without separate output"
    );
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_managed_document_merges_both_streams_and_sends_no_exit_code() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (output, end) = run(
        emulator.url(),
        NON_INTERACTIVE,
        "sh -c 'echo out-line; echo err-line >&2; exit 3'",
    )
    .await;
    assert_eq!(text(&output.stdout), "out-line\nerr-line\n");
    assert!(output.stderr.is_empty());
    assert_eq!(output.exit_code, None);
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_output_arrives_only_when_the_command_has_ended() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let cache = ClientCache::new();
    let call = started_channel(
        &cache,
        emulator.url(),
        Some(NON_INTERACTIVE),
        Some("sh -c 'echo early; sleep 2; echo late'"),
    )
    .await;
    let (running, _) = ssmsession_core::start_command(&cache, call).await.unwrap();
    running.wait_for_output(Duration::from_millis(1200)).await;
    assert!(
        !running.has_output(),
        "output came before the command ended"
    );
    tokio::time::timeout(Duration::from_secs(20), running.wait())
        .await
        .expect("the command ends");
    assert_eq!(text(&running.take().stdout), "early\nlate\n");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_output_streams_apart_and_ends_with_the_exit_code() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    let (output, end) = run(
        emulator.url(),
        SEPARATE_OUTPUT_DOCUMENT,
        "sh -c 'echo out-line; echo err-line >&2; printf \"second\\n\"; exit 3'",
    )
    .await;
    assert_eq!(text(&output.stdout), "out-line\nsecond\n");
    assert_eq!(text(&output.stderr), "err-line\n");
    assert_eq!(output.exit_code, Some(3));
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_code_trailer_is_taken_off_the_output_and_used() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let marker = "0123456789abcdef0123456789abcdef";
    let command = format!("sh -c 'echo done; printf \"\\036{marker}:4\\036\"'");
    let (output, _, _) = run_as(
        emulator.url(),
        NON_INTERACTIVE,
        &command,
        Some("i-0123456789abcdef0"),
        Some(marker),
    )
    .await
    .unwrap();
    assert_eq!(text(&output.stdout), "done\n");
    assert_eq!(output.exit_code, Some(4));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_output_arrives_whole() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    // 200,000 numbered lines: many messages, more than one read of the buffers.
    let (output, _) = run(emulator.url(), NON_INTERACTIVE, "seq 1 200000").await;
    let expected: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    assert_eq!(output.stdout.len(), expected.len());
    assert!(output.stdout == expected.as_bytes(), "stdout differs");
    assert!(output.stderr.is_empty());
    emulator.stop().await;
}

/// A command that ends at once: the service can close the channel right behind
/// HandshakeComplete, the output and the exit code, while the client is still in its
/// handshake. Nothing may be lost then (seen as an intermittent "channel closed" failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_ends_during_the_handshake_still_reports_everything() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    for round in 0..30 {
        let (output, end) = run(
            emulator.url(),
            SEPARATE_OUTPUT_DOCUMENT,
            "sh -c 'echo quick; exit 7'",
        )
        .await;
        assert_eq!(output.exit_code, Some(7), "round {round}: {end:?}");
        assert_eq!(text(&output.stdout), "quick\n", "round {round}");
        assert!(
            matches!(end, SessionEnd::Closed(_)),
            "round {round}: {end:?}"
        );
    }
    emulator.stop().await;
}

/// A started command session and a scratch file path for its process to write.
async fn started(
    url: &str,
    document: &str,
    command: &str,
) -> (ssmsession_core::CommandRun, ChannelCall) {
    let cache = ClientCache::new();
    let call = started_channel(&cache, url, Some(document), Some(command)).await;
    let (running, _) = ssmsession_core::start_command(&cache, call.clone())
        .await
        .expect("the command session starts");
    (running, call)
}

fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ssmsession-test-{}-{name}", std::process::id()))
}

/// Waits until `path` exists (its process started), at most 20 s.
async fn appears(path: &std::path::Path) -> bool {
    for _ in 0..200 {
        if path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[cfg(unix)]
fn alive(pid: &str) -> bool {
    std::path::Path::new(&format!("/proc/{}", pid.trim())).exists()
        || std::process::Command::new("kill")
            .args(["-0", pid.trim()])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_command_interrupts_it_with_ctrl_c() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    let started_file = scratch("interrupt-started");
    let interrupted = scratch("interrupted");
    let _ = std::fs::remove_file(&interrupted);
    let command = format!(
        "sh -c 'trap \"echo interrupted; touch {}; exit 9\" INT; touch {}; while :; do sleep 0.1; done'",
        interrupted.display(),
        started_file.display()
    );
    let (running, _) = started(emulator.url(), SEPARATE_OUTPUT_DOCUMENT, &command).await;
    assert!(appears(&started_file).await, "the command never started");
    running.stop();
    let end = tokio::time::timeout(Duration::from_secs(30), running.wait())
        .await
        .expect("the stop ends the session");
    assert_eq!(end, SessionEnd::Stopped);
    assert!(appears(&interrupted).await, "the command never saw SIGINT");
    // What it wrote as it ended, and how it ended, still arrive: nothing was cut.
    let rest = running.take();
    assert_eq!(text(&rest.stdout), "interrupted\n");
    assert_eq!(rest.exit_code, Some(9));
    assert_eq!(running.undelivered(), None);
    let _ = std::fs::remove_file(&started_file);
    let _ = std::fs::remove_file(&interrupted);
    emulator.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_ignores_ctrl_c_is_ended_through_the_terminate_session_api() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let pid_file = scratch("ignores-int.pid");
    let _ = std::fs::remove_file(&pid_file);
    // SIGINT ignored, and kept ignored by the exec'd sleep: only the API's kill ends it.
    let command = format!(
        "sh -c 'trap \"\" INT; echo $$ > {}; exec sleep 60'",
        pid_file.display()
    );
    let (running, call) = started(emulator.url(), NON_INTERACTIVE, &command).await;
    assert!(appears(&pid_file).await, "the command never started");
    // The file exists before the shell has written its number into it.
    let mut pid = String::new();
    for _ in 0..100 {
        pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
        if pid.ends_with('\n') {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        pid.trim().parse::<u32>().is_ok(),
        "no process id in {pid:?}"
    );
    assert!(alive(&pid));
    running.stop();
    let end = tokio::time::timeout(Duration::from_secs(30), running.wait())
        .await
        .expect("the stop ends the session");
    assert_eq!(end, SessionEnd::Stopped);
    let mut gone = false;
    for _ in 0..100 {
        if !alive(&pid) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "process {} still runs after the stop", pid.trim());
    let _ = std::fs::remove_file(&pid_file);
    drop(call);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_session_is_not_taken_for_a_command() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let cache = ClientCache::new();
    let call = started_channel(
        &cache,
        emulator.url(),
        Some("AWS-StartPortForwardingSession"),
        None,
    )
    .await;
    let error = ssmsession_core::start_command(&cache, call)
        .await
        .err()
        .expect("refused");
    assert!(
        error
            .to_string()
            .contains("not a non-interactive command session"),
        "{error}"
    );
    emulator.stop().await;
}

fn kms_emulator_config() -> EmulatorConfig {
    with_separate_output(EmulatorConfig {
        agent: AgentConfig {
            kms_key_id: Some("alias/ssm-sessions".into()),
            ..Default::default()
        },
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kms_encrypted_session_decrypts_every_stream() {
    let emulator = Emulator::start(kms_emulator_config()).await.unwrap();
    // The client's KMS calls go to the emulator too: its SSM endpoint is on loopback.
    let (output, end, message) = run_as(
        emulator.url(),
        SEPARATE_OUTPUT_DOCUMENT,
        "sh -c 'echo secret-out; echo secret-err >&2; exit 5'",
        Some("i-0123456789abcdef0"),
        None,
    )
    .await
    .expect("the encrypted session starts");
    assert_eq!(message, "This session is encrypted using AWS KMS.");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "secret-out\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "secret-err\n");
    assert_eq!(output.exit_code, Some(5));
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_agents_anti_replay_challenge_is_acknowledged_and_bound_into_the_data_key() {
    let mut config = kms_emulator_config();
    // The agent sends a challenge, requires its acknowledgement, and decrypts the data key
    // with aws:ssm:RandomChallenge in the context: this only works if the client put it
    // there when it asked KMS for the key.
    config.agent.kms_challenge = true;
    let emulator = Emulator::start(config).await.unwrap();
    let (output, end, message) = run_as(
        emulator.url(),
        SEPARATE_OUTPUT_DOCUMENT,
        "sh -c 'echo challenged; exit 2'",
        Some("i-0123456789abcdef0"),
        None,
    )
    .await
    .expect("the challenged session starts");
    assert_eq!(message, "This session is encrypted using AWS KMS.");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "challenged\n");
    assert_eq!(output.exit_code, Some(2));
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    emulator.stop().await;
}

/// The `aws:ssm:SessionId` of the data key's encryption context is the SessionId the
/// caller got from StartSession (as AWS's plugin takes it), not a piece of the stream URL:
/// a call naming another session id makes a key the agent cannot decrypt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kms_context_names_the_session_id_from_start_session() {
    let emulator = Emulator::start(kms_emulator_config()).await.unwrap();
    let cache = ClientCache::new();
    let mut call = started_channel(
        &cache,
        emulator.url(),
        Some("AWS-StartNonInteractiveCommand"),
        Some("echo never"),
    )
    .await;
    call.target = Some("i-0123456789abcdef0".into());
    call.session_id = "emulator-user-0000000000000000f".into();
    let error = match ssmsession_core::start_command(&cache, call).await {
        Err(error) => error,
        Ok(_) => panic!("a key for another session id must be refused"),
    };
    assert!(
        error
            .to_string()
            .contains("KMS Decrypt of the session's data key failed"),
        "{error}"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_encryption_context_is_refused_by_the_agent() {
    let emulator = Emulator::start(kms_emulator_config()).await.unwrap();
    let error = run_as(
        emulator.url(),
        "AWS-StartNonInteractiveCommand",
        "echo never",
        Some("i-someone-else"),
        None,
    )
    .await
    .expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("KMS Decrypt of the session's data key failed"),
        "{error}"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_target_an_encrypted_session_is_declined_clearly() {
    let emulator = Emulator::start(kms_emulator_config()).await.unwrap();
    let error = run_as(
        emulator.url(),
        "AWS-StartNonInteractiveCommand",
        "echo x",
        None,
        None,
    )
    .await
    .expect_err("declined");
    assert!(error.to_string().contains("KMS"), "{error}");
    emulator.stop().await;
}

/// A document with separate output and both prefixes, for the prefix rule.
fn prefixed_config() -> EmulatorConfig {
    let mut config = EmulatorConfig::default();
    config.extra_documents.push(ExtraDocument::command(
        "Test-Prefixed",
        serde_json::json!({
            "separateOutputStream": "true",
            "stdOutSeparatorPrefix": "OUT:",
            "stdErrSeparatorPrefix": "ERR:"
        }),
    ));
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_start_each_chunk_that_follows_a_line_end() {
    let emulator = Emulator::start(prefixed_config()).await.unwrap();
    // One read each (short writes, a pause between): a prefix at the first chunk and after
    // a chunk that ended a line, none inside a chunk.
    let (output, _) = run(
        emulator.url(),
        "Test-Prefixed",
        "sh -c 'printf \"a\\nb\\n\"; sleep 0.2; printf c; sleep 0.2; printf \"d\\n\"; echo e >&2; exit 2'",
    )
    .await;
    assert_eq!(text(&output.stdout), "OUT:a\nb\nOUT:cd\n");
    assert_eq!(text(&output.stderr), "ERR:e\n");
    assert_eq!(output.exit_code, Some(2));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_gets_no_standard_input_and_no_terminal() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    // cat ends at once (nothing to read); none of the streams is a terminal.
    let (output, _) = run(
        emulator.url(),
        SEPARATE_OUTPUT_DOCUMENT,
        "sh -c 'cat; for fd in 0 1 2; do [ -t $fd ] && echo tty-$fd; done; echo done'",
    )
    .await;
    assert_eq!(text(&output.stdout), "done\n");
    assert_eq!(output.exit_code, Some(0));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_line_that_cannot_be_split_fails_with_its_reason_on_standard_error() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    let (output, end) = run(emulator.url(), SEPARATE_OUTPUT_DOCUMENT, "echo 'unclosed").await;
    assert!(
        text(&output.stderr).contains("Failed to parse commands input"),
        "{output:?}"
    );
    assert_eq!(output.exit_code, None, "no exit code follows");
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_separate_output_setting_fails_the_session() {
    let mut config = EmulatorConfig::default();
    config.extra_documents.push(ExtraDocument::command(
        "Test-BadSetting",
        serde_json::json!({ "separateOutputStream": "yes" }),
    ));
    let emulator = Emulator::start(config).await.unwrap();
    let (output, end) = run(emulator.url(), "Test-BadSetting", "echo never").await;
    assert!(output.stdout.is_empty());
    let SessionEnd::Closed(reason) = &end else {
        panic!("{end:?}")
    };
    assert!(reason.contains("separateOutputStream"), "{reason}");
    emulator.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_backslash_reaches_the_command_as_sigquit() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    let quit = scratch("quit");
    let _ = std::fs::remove_file(&quit);
    let ready = scratch("quit-ready");
    let _ = std::fs::remove_file(&ready);
    let command = format!(
        "sh -c 'trap \"touch {}; exit 3\" QUIT; touch {}; while :; do sleep 0.1; done'",
        quit.display(),
        ready.display()
    );
    let cache = ClientCache::new();
    let call = started_channel(
        &cache,
        emulator.url(),
        Some(SEPARATE_OUTPUT_DOCUMENT),
        Some(&command),
    )
    .await;
    let opened = common::open_raw_session(
        &call.stream_url,
        &call.token_value,
        ssmsession_core::CLIENT_VERSION,
    )
    .await;
    assert!(appears(&ready).await, "the command never started");
    opened
        .local
        .to_agent
        .send(ssmsession_datachannel::engine::Payload::output(vec![0x1c]))
        .await
        .unwrap();
    let mut engine = opened.engine;
    let mut connection = opened.connection;
    let mut endpoint = opened.endpoint;
    let saw_quit = tokio::select! {
        found = appears(&quit) => found,
        _ = endpoint.pump(&mut connection, &mut engine.outbound, &engine.inbound) => appears(&quit).await,
    };
    drop(opened.local);
    assert!(saw_quit, "the command never saw SIGQUIT");
    let _ = std::fs::remove_file(&quit);
    let _ = std::fs::remove_file(&ready);
    emulator.stop().await;
}

/// The same stop with AWS's own document: its agent sends the output only when the command
/// has ended, so it arrives after the stop; with the wrapper's trailer, so does the code.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_command_s_held_output_and_trailer_arrive_after_ctrl_c() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let ready = scratch("held-ready");
    let _ = std::fs::remove_file(&ready);
    let marker = "fedcba9876543210fedcba9876543210";
    let command = format!(
        "sh -c 'trap \"printf \\\"\\036{marker}:7\\036\\\"; exit 7\" INT; echo held; touch {}; while :; do sleep 0.1; done'",
        ready.display()
    );
    let cache = ClientCache::new();
    let mut call = started_channel(
        &cache,
        emulator.url(),
        Some(NON_INTERACTIVE),
        Some(&command),
    )
    .await;
    call.exit_marker = Some(marker.into());
    let (running, _) = ssmsession_core::start_command(&cache, call).await.unwrap();
    assert!(appears(&ready).await, "the command never started");
    running.stop();
    let end = tokio::time::timeout(Duration::from_secs(30), running.wait())
        .await
        .expect("the stop ends the session");
    assert_eq!(end, SessionEnd::Stopped);
    let rest = running.take();
    assert_eq!(text(&rest.stdout), "held\n");
    assert_eq!(rest.exit_code, Some(7));
    assert_eq!(running.undelivered(), None);
    let _ = std::fs::remove_file(&ready);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_cannot_start_is_reported_on_standard_error() {
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    let missing = "ssmsession-no-such-program --flag";
    // Separate output: exit code 1 first, the reason 1 s later.
    let (output, end) = run(emulator.url(), SEPARATE_OUTPUT_DOCUMENT, missing).await;
    assert_eq!(output.exit_code, Some(1));
    assert!(
        text(&output.stderr).contains("could not start ssmsession-no-such-program"),
        "{output:?}"
    );
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    // Merged output: the reason alone, no exit code.
    let (output, end) = run(emulator.url(), NON_INTERACTIVE, missing).await;
    assert_eq!(output.exit_code, None);
    assert!(
        text(&output.stderr).contains("could not start"),
        "{output:?}"
    );
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_gets_the_agents_terminal_type_and_the_home_of_its_user() {
    let mut config = EmulatorConfig::default();
    config.extra_documents.push(ExtraDocument::command(
        "Test-ElevatedCommand",
        serde_json::json!({ "runAsElevated": true }),
    ));
    let emulator = Emulator::start(config).await.unwrap();
    let print = "sh -c 'echo \"$TERM|$HOME|${LANG:-none}\"'";
    let (output, _) = run(emulator.url(), NON_INTERACTIVE, print).await;
    let line = text(&output.stdout);
    let home_root = if cfg!(target_os = "macos") {
        "/Users/"
    } else {
        "/home/"
    };
    assert!(
        line.starts_with(&format!("xterm-256color|{home_root}")),
        "{line}"
    );
    assert!(!line.contains("|none"), "LANG is always set: {line}");
    let (output, _) = run(emulator.url(), "Test-ElevatedCommand", print).await;
    let root = if cfg!(target_os = "macos") {
        "/var/root"
    } else {
        "/root"
    };
    assert!(
        text(&output.stdout).starts_with(&format!("xterm-256color|{root}|")),
        "{output:?}"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_cut_at_character_boundaries_and_an_undecodable_tail_is_dropped_as_by_the_agent()
{
    let emulator = Emulator::start(with_separate_output(EmulatorConfig::default()))
        .await
        .unwrap();
    // 1,023 bytes and a 3-byte character: the agent's 1 KiB read cuts the character, which
    // goes out whole with the next read.
    let (output, _) = run(
        emulator.url(),
        SEPARATE_OUTPUT_DOCUMENT,
        "sh -c 'printf \"%01023d€\\n\" 0'",
    )
    .await;
    let stdout = text(&output.stdout);
    assert_eq!(stdout.len(), 1023 + 3 + 1, "{stdout:?}");
    assert!(stdout.ends_with("0€\n"), "{stdout:?}");
    // Undecodable bytes at the very end are held for a next read that never comes.
    let (output, _) = run(
        emulator.url(),
        SEPARATE_OUTPUT_DOCUMENT,
        "sh -c 'printf \"end\\377\"'",
    )
    .await;
    assert_eq!(output.stdout, b"end");
    assert_eq!(output.exit_code, Some(0));
    emulator.stop().await;
}
