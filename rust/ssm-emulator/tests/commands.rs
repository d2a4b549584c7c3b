//! Non-interactive commands end to end on loopback: StartSession with
//! AWS-StartNonInteractiveCommand, the native client collects what the emulator's agent
//! runs here — standard output and standard error kept apart, and the exit code.

mod common;

use common::started_channel;

use std::time::Duration;

use ssm_datachannel::port::SessionEnd;
use ssm_emulator::{AgentConfig, Emulator, EmulatorConfig};
use ssmsession_core::{ClientCache, CommandOutput};

/// Runs `command` through the emulator and collects everything until the session ends.
async fn run(url: &str, document: &str, command: &str) -> (CommandOutput, SessionEnd) {
    let (output, end, _) = run_as(url, document, command, Some("i-0123456789abcdef0"))
        .await
        .expect("the command session starts");
    (output, end)
}

/// [`run`], naming `target` as the session's target for the KMS context; also returns the
/// handshake's customer message.
async fn run_as(
    url: &str,
    document: &str,
    command: &str,
    target: Option<&str>,
) -> Result<(CommandOutput, SessionEnd, String), ssmsession_core::CoreError> {
    let cache = ClientCache::new();
    let mut call = started_channel(&cache, url, Some(document), Some(command)).await;
    call.target = target.map(str::to_owned);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_stderr_and_the_exit_code_arrive_apart() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (output, end) = run(
        emulator.url(),
        "AWS-StartNonInteractiveCommand",
        "echo out-line; echo err-line >&2; printf 'second\\n'; exit 3",
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "out-line\nsecond\n"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "err-line\n");
    assert_eq!(output.exit_code, Some(3));
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_output_arrives_whole_and_success_is_zero() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    // 200,000 numbered lines: many messages, more than one read of the buffers.
    let (output, _) = run(
        emulator.url(),
        "AWS-StartNonInteractiveCommand",
        "seq 1 200000",
    )
    .await;
    let expected: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    assert_eq!(output.stdout.len(), expected.len());
    assert!(output.stdout == expected.as_bytes(), "stdout differs");
    assert!(output.stderr.is_empty());
    assert_eq!(output.exit_code, Some(0));
    emulator.stop().await;
}

/// A command that ends at once: the service can close the channel right behind
/// HandshakeComplete, the output and the exit code, while the client is still in its
/// handshake. Nothing may be lost then (seen as an intermittent "channel closed" failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_ends_during_the_handshake_still_reports_everything() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    for round in 0..30 {
        let (output, end) = run(
            emulator.url(),
            "AWS-StartNonInteractiveCommand",
            "echo quick; exit 7",
        )
        .await;
        assert_eq!(output.exit_code, Some(7), "round {round}: {end:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "quick\n",
            "round {round}"
        );
        assert!(
            matches!(end, SessionEnd::Closed(_)),
            "round {round}: {end:?}"
        );
    }
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
    EmulatorConfig {
        agent: AgentConfig {
            kms_key_id: Some("alias/ssm-sessions".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kms_encrypted_session_decrypts_every_stream() {
    let emulator = Emulator::start(kms_emulator_config()).await.unwrap();
    // The client's KMS calls go to the emulator too: its SSM endpoint is on loopback.
    let (output, end, message) = run_as(
        emulator.url(),
        "AWS-StartNonInteractiveCommand",
        "echo secret-out; echo secret-err >&2; exit 5",
        Some("i-0123456789abcdef0"),
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
        "AWS-StartNonInteractiveCommand",
        "echo challenged; exit 2",
        Some("i-0123456789abcdef0"),
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
    )
    .await
    .expect_err("declined");
    assert!(error.to_string().contains("KMS"), "{error}");
    emulator.stop().await;
}
