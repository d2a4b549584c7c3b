//! Shell sessions end to end on loopback: StartSession without a document (or with
//! AWS-StartInteractiveCommand), the native client types into the shell the emulator's
//! agent runs under a pseudo-terminal here, resizes it, reads what it prints, and sees the
//! session end when the shell exits — plain and KMS-encrypted.
#![cfg(unix)]

mod common;

use common::{started_channel, started_channel_to, TARGET};

use std::time::Duration;

use serde_json::json;
use ssmsession_core::{ClientCache, ShellSession};
use ssmsession_datachannel::driver::SessionEnd;
use ssmsession_emulator::documents::ExtraDocument;
use ssmsession_emulator::{AgentConfig, Emulator, EmulatorConfig};

fn emulator_config(kms: bool) -> EmulatorConfig {
    EmulatorConfig {
        agent: AgentConfig {
            kms_key_id: kms.then(|| "alias/ssm-sessions".into()),
            // A plain shell: no rc files, a predictable prompt.
            shell: Some("sh".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn open(
    url: &str,
    document: Option<&str>,
    command: Option<&str>,
) -> (ShellSession, ssmsession_core::ChannelStartOutput) {
    let cache = ClientCache::new();
    let mut call = started_channel(&cache, url, document, command).await;
    call.target = Some(TARGET.into());
    ssmsession_core::start_shell(&cache, call)
        .await
        .expect("the shell session starts")
}

/// Reads output until `wanted` appears (or the session ends); returns all of it.
async fn read_until(shell: &mut ShellSession, wanted: &str) -> String {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = shell.output.recv().await {
            seen.extend(chunk);
            if String::from_utf8_lossy(&seen).contains(wanted) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(found, "'{wanted}' never came; got {text:?}");
    text
}

/// The end of a session whose remote program exited: the service's plain closing line.
fn exited(end: &SessionEnd) -> bool {
    matches!(end, SessionEnd::Closed(reason) if reason.starts_with("Exiting session with sessionId: "))
}

async fn drain_to_end(shell: &mut ShellSession) -> SessionEnd {
    tokio::time::timeout(Duration::from_secs(20), async {
        while shell.output.recv().await.is_some() {}
        shell.wait().await
    })
    .await
    .expect("the session ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_runs_what_is_typed_follows_resizes_and_ends_when_it_exits() {
    let emulator = Emulator::start(emulator_config(false)).await.unwrap();
    let (mut shell, started) = open(emulator.url(), None, None).await;
    // Started without a handshake, as real agents start unencrypted shells: the first
    // output (the prompt) made it a shell session and is not lost.
    assert_eq!(shell.session_type, "Standard_Stream");
    assert_eq!(started.agent_version, "unknown");
    assert_eq!(started.customer_message, "");
    let prompt = tokio::time::timeout(Duration::from_secs(20), shell.output.recv())
        .await
        .expect("the prompt comes")
        .expect("the session runs");
    assert!(!prompt.is_empty());

    shell.input.resize(101, 33).await.unwrap();
    // The sum is computed remotely, so an echo of the typed line cannot satisfy the test.
    shell
        .input
        .keys(b"echo sum=$((40+2)); stty size\r")
        .await
        .unwrap();
    let text = read_until(&mut shell, "33 101").await;
    assert!(text.contains("sum=42"), "{text:?}");

    shell.input.resize(90, 20).await.unwrap();
    shell.input.keys(b"stty size\r").await.unwrap();
    read_until(&mut shell, "20 90").await;

    // UTF-8 both ways.
    shell.input.keys("echo ÉtÉ-€\r".as_bytes()).await.unwrap();
    read_until(&mut shell, "ÉtÉ-€\r\n").await;

    shell.input.keys(b"exit 3\r").await.unwrap();
    let end = drain_to_end(&mut shell).await;
    assert!(exited(&end), "{end:?}");
    emulator.stop().await;
}

/// A document named `name` with `content` (JSON), as `--document NAME=FILE` gives it.
fn document(name: &str, content: serde_json::Value) -> ExtraDocument {
    ExtraDocument {
        name: name.to_owned(),
        content: Some(content.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_starts_with_the_agents_environment_and_profile_and_speaks_after_a_second() {
    let mut config = emulator_config(false);
    config.extra_documents.push(document(
        "Test-ProfiledShell",
        json!({
            "schemaVersion": "1.0",
            "sessionType": "Standard_Stream",
            "inputs": { "shellProfile": { "linux": "GREETING=from-profile", "windows": "" } },
            // Shells never read their properties (the agent passes them none).
            "properties": { "linux": { "runAsElevated": true } }
        }),
    ));
    let emulator = Emulator::start(config).await.unwrap();
    let started = std::time::Instant::now();
    let (mut shell, _) = open(emulator.url(), Some("Test-ProfiledShell"), None).await;
    // The first output decides that this is a shell; the agent reads a new terminal first
    // after 1 s.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // The profile is typed in, so its echo is output.
    read_until(&mut shell, "GREETING=from-profile").await;
    shell
        .input
        .keys(b"echo \"[$GREETING|$TERM|$HOME]\"\r")
        .await
        .unwrap();
    let text = read_until(&mut shell, "xterm-256color|").await;
    let line = text
        .lines()
        .find(|line| line.starts_with("[from-profile|"))
        .unwrap_or_else(|| panic!("{text:?}"));
    let home = line
        .trim_end_matches(']')
        .rsplit('|')
        .next()
        .unwrap_or_default();
    let home_root = if cfg!(target_os = "macos") {
        "/Users/"
    } else {
        "/home/"
    };
    assert!(home.starts_with(home_root), "{line}");
    shell.input.keys(b"exit\r").await.unwrap();
    assert!(exited(&drain_to_end(&mut shell).await));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elevated_interactive_command_gets_roots_home_and_a_string_flag_fails_it() {
    let interactive = |elevated: serde_json::Value| {
        let platform = json!({ "commands": "{{ command }}", "runAsElevated": elevated });
        json!({
            "schemaVersion": "1.0",
            "sessionType": "InteractiveCommands",
            "parameters": { "command": { "type": "String" } },
            "properties": { "linux": platform, "macos": platform }
        })
    };
    let mut config = emulator_config(false);
    config
        .extra_documents
        .push(document("Test-Elevated", interactive(json!(true))));
    config
        .extra_documents
        .push(document("Test-ElevatedText", interactive(json!("true"))));
    let emulator = Emulator::start(config).await.unwrap();
    let (mut shell, _) = open(
        emulator.url(),
        Some("Test-Elevated"),
        Some("echo \"home=$HOME\""),
    )
    .await;
    let root = if cfg!(target_os = "macos") {
        "/var/root"
    } else {
        "/root"
    };
    read_until(&mut shell, &format!("home={root}\r\n")).await;
    assert!(exited(&drain_to_end(&mut shell).await));

    // The agent cannot read a string as runAsElevated: the session fails with the reason.
    let cache = ClientCache::new();
    let call = started_channel(
        &cache,
        emulator.url(),
        Some("Test-ElevatedText"),
        Some("echo never"),
    )
    .await;
    let end = match ssmsession_core::start_shell(&cache, call).await {
        Ok((mut shell, _)) => drain_to_end(&mut shell).await,
        Err(error) => SessionEnd::Failed(error.to_string()),
    };
    let text = format!("{end:?}");
    assert!(text.contains("runAsElevated"), "{text}");
    assert!(!text.contains("never"), "{text}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_reaches_the_remote_terminal_and_interrupts_the_foreground_command() {
    let emulator = Emulator::start(emulator_config(false)).await.unwrap();
    let (mut shell, _) = open(emulator.url(), None, None).await;
    shell
        .input
        .keys(b"sleep 30; echo slept-through\r")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    shell.input.keys(&[0x03]).await.unwrap();
    shell.input.keys(b"echo after-$((6*7))\r").await.unwrap();
    let text = read_until(&mut shell, "after-42").await;
    // Once: the terminal's echo of the typed line; never the command's own output.
    assert_eq!(text.matches("slept-through").count(), 1, "{text:?}");
    shell.stop();
    assert_eq!(drain_to_end(&mut shell).await, SessionEnd::Stopped);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interactive_command_runs_under_a_terminal_and_ends_the_session() {
    let emulator = Emulator::start(emulator_config(false)).await.unwrap();
    let (mut shell, _) = open(
        emulator.url(),
        Some("AWS-StartInteractiveCommand"),
        Some("if [ -t 0 ]; then echo on-a-terminal; fi; read line; echo got-$line"),
    )
    .await;
    // Unencrypted, the agent starts it without a handshake: to the client it is a shell.
    assert_eq!(shell.session_type, "Standard_Stream");
    read_until(&mut shell, "on-a-terminal").await;
    shell.input.keys(b"hello").await.unwrap();
    // A lone line feed is sent as Enter (CR), which the terminal turns into a line.
    shell.input.keys(b"\n").await.unwrap();
    read_until(&mut shell, "got-hello").await;
    let end = drain_to_end(&mut shell).await;
    assert!(exited(&end), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_prints_nothing_until_it_reads_still_opens() {
    let emulator = Emulator::start(emulator_config(false)).await.unwrap();
    let opening = std::time::Instant::now();
    let (mut shell, _) = open(
        emulator.url(),
        Some("AWS-StartInteractiveCommand"),
        Some("read line; echo got-$line-$((1+1))"),
    )
    .await;
    // No handshake and no output: taken for a shell after the quiet wait, not the 20 s
    // handshake timeout.
    assert!(
        opening.elapsed() < Duration::from_secs(10),
        "{:?}",
        opening.elapsed()
    );
    shell.input.keys(b"quiet\r").await.unwrap();
    read_until(&mut shell, "got-quiet-2").await;
    let end = drain_to_end(&mut shell).await;
    assert!(exited(&end), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kms_encrypted_shell_works_both_ways() {
    let emulator = Emulator::start(emulator_config(true)).await.unwrap();
    let (mut shell, started) = open(emulator.url(), None, None).await;
    assert_eq!(
        started.customer_message,
        "This session is encrypted using AWS KMS."
    );
    // The agent can only run this if it decrypted the keys.
    shell.input.keys(b"echo secret-$((6*7))\r").await.unwrap();
    read_until(&mut shell, "secret-42").await;
    shell.input.keys(b"exit\r").await.unwrap();
    let end = drain_to_end(&mut shell).await;
    assert!(exited(&end), "{end:?}");
    emulator.stop().await;
}

/// A shell whose agent stays silent past the client's quiet-shell guess and then asks for
/// a handshake: the client answers it (with KMS, agreeing on the key then) and sends again
/// what was typed before it completed, which the agent dropped.
async fn late_handshake_is_answered_and_early_input_replayed(kms: bool) {
    let emulator = Emulator::start(emulator_config(kms)).await.unwrap();
    let cache = ClientCache::new();
    let target = "i-hostile-late-handshake";
    let mut call = started_channel_to(&cache, emulator.url(), target, None, None).await;
    call.target = Some(target.into());
    let (mut shell, _) = ssmsession_core::start_shell(&cache, call)
        .await
        .expect("taken for a quiet shell");
    // Typed while the agent is silent: it drops this, so the client must send it again.
    shell.input.keys(b"echo early-$((6*7))\r").await.unwrap();
    let text = read_until(&mut shell, "early-42").await;
    if kms {
        assert!(
            text.contains("This session is encrypted using AWS KMS."),
            "{text:?}"
        );
    }
    shell.input.keys(b"echo later-$((5*5))\r").await.unwrap();
    let text = read_until(&mut shell, "later-25").await;
    assert!(!text.contains("early-42"), "typed once, run once: {text:?}");
    shell.input.keys(b"exit\r").await.unwrap();
    let end = drain_to_end(&mut shell).await;
    assert!(exited(&end), "{end:?}");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_handshake_is_answered_and_early_input_replayed() {
    late_handshake_is_answered_and_early_input_replayed(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_kms_handshake_is_answered_and_encrypts_from_then_on() {
    late_handshake_is_answered_and_early_input_replayed(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_session_is_refused_as_a_shell() {
    let emulator = Emulator::start(emulator_config(false)).await.unwrap();
    let cache = ClientCache::new();
    let call = started_channel(
        &cache,
        emulator.url(),
        Some("AWS-StartPortForwardingSession"),
        None,
    )
    .await;
    let error = ssmsession_core::start_shell(&cache, call)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("not a shell session"), "{error}");
    emulator.stop().await;
}

/// The service closes each socket after 1.5 s: the shell is resumed (ResumeSession and a
/// new socket, as AWS's plugin does) and keeps running what is typed, nothing lost or
/// repeated. The drop-in plugin runs shells through this same path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_is_resumed_after_its_socket_is_closed() {
    let mut config = emulator_config(false);
    config.agent.faults.close_after = Some(Duration::from_millis(1500));
    let emulator = Emulator::start(config).await.unwrap();
    let (mut shell, _) = open(emulator.url(), None, None).await;
    shell.input.keys(b"echo first-$((2*3))\r").await.unwrap();
    read_until(&mut shell, "first-6").await;
    let resumed_by = std::time::Instant::now() + Duration::from_secs(20);
    while shell.reconnects.load(std::sync::atomic::Ordering::Relaxed) < 2
        && std::time::Instant::now() < resumed_by
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        shell.reconnects.load(std::sync::atomic::Ordering::Relaxed) >= 2,
        "the socket was not resumed"
    );
    shell.input.keys(b"echo second-$((3*3))\r").await.unwrap();
    let text = read_until(&mut shell, "second-9").await;
    assert_eq!(text.matches("second-9").count(), 1, "{text:?}");
    shell.input.keys(b"exit\r").await.unwrap();
    let end = drain_to_end(&mut shell).await;
    assert!(exited(&end), "{end:?}");
    emulator.stop().await;
}
