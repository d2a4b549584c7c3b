//! Runs a started session the way its agent asked, and decides the exit code.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ssmsession_core::{
    start_any_session, AnySession, ChannelCall, ClientCache, ClientSettings, CommandRun, Cut,
    CutCause, PortForward, PortMode, SessionEnd, ShellSession,
};
use ssmsession_terminal::{attach, exit_lines, starting_line, AttachOptions};
use tokio::io::AsyncReadExt;

use crate::args::PluginRun;

/// The exit code when the session could not run, or failed, and no remote code is known.
const FAILURE: u8 = 1;

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Says on standard error that output which had arrived was not written, and why.
fn report_cut(cut: Option<Cut>) {
    let Some(cut) = cut else { return };
    let why = match cut.cause {
        CutCause::Stopped => "the session was stopped before they were written",
        CutCause::Gap => "the channel closed while the messages before them were missing",
    };
    eprintln!(
        "\nSSMSession: {} bytes of output that had arrived are lost: {why}.",
        cut.bytes
    );
}

/// A remote exit code as a process exit code (the low 8 bits, as shells report them).
fn exit_code_of(code: i32) -> u8 {
    (code & 0xff) as u8
}

/// Set to `remote` to exit with the remote command's exit code.
pub const EXIT_CODE_VARIABLE: &str = "SSMSESSION_PLUGIN_EXIT_CODE";

/// Whether the remote exit code becomes ours. Not by default: the AWS CLI runs the plugin
/// with `check_call`, so a non-zero exit makes `aws` fail with status 255 and print the
/// plugin's whole command line, request parameters included; AWS's plugin exits 0, and
/// ECS Exec and scripts expect that. `SSMSESSION_PLUGIN_EXIT_CODE=remote` asks for it.
fn remote_exit_code_wanted() -> bool {
    std::env::var(EXIT_CODE_VARIABLE).is_ok_and(|v| v.trim().eq_ignore_ascii_case("remote"))
}

pub async fn run(plugin: PluginRun) -> u8 {
    let cache = ClientCache::new();
    let likely_shell = plugin.likely_shell();
    let call = ChannelCall {
        session_id: plugin.session_id.clone(),
        stream_url: plugin.stream_url,
        token_value: plugin.token_value,
        target: plugin.target,
        client: ClientSettings {
            region: plugin.region,
            profile_name: plugin.profile,
            endpoint_url: plugin.endpoint,
            ..Default::default()
        },
        ..Default::default()
    };
    let session_id = plugin.session_id;
    // As AWS's plugin: before connecting. Not for SSH's ProxyCommand stream, whose standard
    // output is the connection's.
    let stream_expected = plugin.document_name.as_deref() == Some("AWS-StartSSHSession");
    if !stream_expected {
        print(&starting_line(&session_id));
    }
    let (session, started) = match start_any_session(&cache, call, likely_shell).await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("\nSessionId: {session_id} : {e}\n");
            return FAILURE;
        }
    };
    let announce = || {
        if !started.customer_message.is_empty() {
            print(&format!("\n{}\n", started.customer_message));
        }
    };
    match session {
        AnySession::Shell(shell) => {
            announce();
            run_shell(&session_id, shell).await
        }
        AnySession::Command(command) => {
            announce();
            run_command(&session_id, command).await
        }
        AnySession::Port(forward) => {
            announce();
            run_port(&session_id, forward).await
        }
        // Nothing printed: standard output is the SSH connection's.
        AnySession::Stream(stream) => run_stream(stream).await,
    }
}

async fn run_shell(session_id: &str, shell: ShellSession) -> u8 {
    match attach(shell, AttachOptions::default()).await {
        Ok(attached) => {
            print(&exit_lines(session_id, &attached.end));
            match (&attached.end, attached.exit_code) {
                (_, Some(code)) if remote_exit_code_wanted() => exit_code_of(code),
                (SessionEnd::Failed(_), _) => FAILURE,
                _ => 0,
            }
        }
        Err(e) => {
            eprintln!("{e}");
            FAILURE
        }
    }
}

/// Standard output and standard error apart; the remote exit code as ours when asked for.
async fn run_command(session_id: &str, command: CommandRun) -> u8 {
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let mut stopping = false;
    let mut exit_code = None;
    loop {
        tokio::select! {
            _ = command.wait_for_output(Duration::from_secs(1)) => {}
            _ = &mut interrupted, if !stopping => {
                stopping = true;
                command.stop();
            }
        }
        let output = command.take();
        if !output.stdout.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&output.stdout).and_then(|_| out.flush());
        }
        if !output.stderr.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&output.stderr).and_then(|_| err.flush());
        }
        exit_code = output.exit_code.or(exit_code);
        if command.end().is_some() && !command.has_output() {
            break;
        }
    }
    let end = command.wait().await;
    report_cut(command.undelivered());
    print(&exit_lines(session_id, &end));
    if !remote_exit_code_wanted() {
        return if matches!(end, SessionEnd::Failed(_)) {
            FAILURE
        } else {
            0
        };
    }
    match (&end, exit_code) {
        (_, Some(code)) => exit_code_of(code),
        (SessionEnd::Failed(_), None) => FAILURE,
        // Stopped (Ctrl+C) before the command reported: as a shell reports SIGINT.
        (SessionEnd::Stopped, None) => 130,
        (SessionEnd::Closed(_), None) => {
            eprintln!(
                "SSMSession: the agent reported no exit code (it sends one only for documents with separateOutputStream); exiting 0."
            );
            0
        }
    }
}

/// Listens on the session's local port until Ctrl+C or the session's end, printing AWS's
/// plugin's lines for its mode.
async fn run_port(session_id: &str, forward: PortForward) -> u8 {
    let multiplexed = forward.mode == PortMode::Multiplexed;
    let opened = format!(
        "Port {} opened for sessionId {session_id}.",
        forward.local_addr.port()
    );
    if multiplexed {
        print(&format!("{opened}\nWaiting for connections...\n"));
    } else {
        print(&format!("{opened}\n"));
    }
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let mut announced = false;
    let end = loop {
        tokio::select! {
            end = forward.wait() => break end,
            _ = &mut interrupted => {
                print("Terminate signal received, exiting.\n");
                forward.stop();
                break forward.wait().await;
            }
            _ = tokio::time::sleep(Duration::from_millis(100)), if !announced => {
                if forward.stats.connections_total.load(Ordering::Relaxed) > 0 {
                    announced = true;
                    if multiplexed {
                        print(&format!("\nConnection accepted for session [{session_id}]\n"));
                    } else {
                        print(&format!("Connection accepted for session {session_id}.\n"));
                    }
                }
            }
        }
    };
    print(&exit_lines(session_id, &end));
    match end {
        SessionEnd::Failed(reason) => {
            eprintln!("{reason}");
            FAILURE
        }
        _ => 0,
    }
}

/// Standard input to the target's port, its bytes to standard output (SSH ProxyCommand).
async fn run_stream(mut stream: ShellSession) -> u8 {
    let input = stream.input.clone();
    let reader = tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let mut buffer = vec![0u8; ssmsession_core::STREAM_CHUNK];
        loop {
            match stdin.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if input.keys(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut reader = std::pin::pin!(reader);
    let mut input_open = true;
    loop {
        tokio::select! {
            chunk = stream.output.recv() => match chunk {
                Some(bytes) => {
                    let mut out = std::io::stdout().lock();
                    if out.write_all(&bytes).and_then(|_| out.flush()).is_err() {
                        // The SSH client has gone.
                        stream.stop();
                    }
                }
                None => break,
            },
            _ = &mut reader, if input_open => {
                // End of input: the SSH client is done with the connection.
                input_open = false;
                stream.stop();
            }
        }
    }
    let end = stream.wait().await;
    report_cut(stream.undelivered());
    match end {
        SessionEnd::Failed(reason) => {
            eprintln!("{reason}");
            FAILURE
        }
        _ => 0,
    }
}
