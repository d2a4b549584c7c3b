//! The drop-in plugin binary driven the way the AWS CLI drives it (argv contract, protocol
//! notes §7), against the emulator on loopback: the response on argv and in the
//! environment variable, camelCase keys, commands with their exit code, KMS, port
//! forwarding, an SSH-style byte stream, and a flooding agent into a reader that pauses.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ssmsession_core::{ClientCache, ClientSettings, StartSessionCall};
use ssmsession_emulator::documents::ExtraDocument;
use ssmsession_emulator::{
    AgentConfig, Emulator, EmulatorConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
};

const PLUGIN: &str = env!("CARGO_BIN_EXE_session-manager-plugin");
const REGION: &str = "eu-west-3";
const TARGET: &str = "i-0123456789abcdef0";

/// The plugin with nothing of this machine's AWS setup: the emulator's keys only.
fn plugin() -> Command {
    let mut command = Command::new(PLUGIN);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("NO_PROXY", "127.0.0.1,localhost");
    command
}

async fn start(url: &str, document: &str, parameters: &[(&str, &str)]) -> serde_json::Value {
    start_to(url, TARGET, document, parameters).await
}

/// [`start`] to another target (the emulator's hostile targets).
async fn start_to(
    url: &str,
    target: &str,
    document: &str,
    parameters: &[(&str, &str)],
) -> serde_json::Value {
    let mut environment = BTreeMap::new();
    environment.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
    let parameters: BTreeMap<String, Vec<String>> = parameters
        .iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect();
    let started = ssmsession_core::start_session(
        &ClientCache::new(),
        StartSessionCall {
            target: Some(target.into()),
            document_name: Some(document.into()),
            parameters: Some(parameters),
            reason: None,
            client: ClientSettings {
                region: Some(REGION.into()),
                endpoint_url: Some(url.into()),
                access_key: Some(DEFAULT_ACCESS_KEY.into()),
                secret_key: Some(DEFAULT_SECRET_KEY.into()),
                environment: Some(environment),
                ..Default::default()
            },
        },
    )
    .await
    .expect("StartSession");
    // What the AWS CLI passes: exactly these three.
    serde_json::json!({
        "SessionId": started.session_id,
        "TokenValue": started.token_value,
        "StreamUrl": started.stream_url,
    })
}

fn request_json(document: &str) -> String {
    serde_json::json!({ "Target": TARGET, "DocumentName": document }).to_string()
}

/// argv\[1..] as the AWS CLI passes it: the response (or the variable holding it), region,
/// operation, an empty profile, the request, the endpoint.
fn cli_argv(response: &str, document: &str, endpoint: &str) -> Vec<String> {
    [
        response,
        REGION,
        "StartSession",
        "",
        &request_json(document),
        endpoint,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Runs the plugin to its end (on a blocking thread: the emulator runs on this runtime).
async fn finish(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("the plugin runs"))
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_installation_check_answer_as_the_cli_expects() {
    let version = finish({
        let mut c = plugin();
        c.arg("--version");
        c
    })
    .await;
    assert!(version.status.success());
    let printed = text(&version.stdout);
    let parts: Vec<u64> = printed
        .trim()
        .split('.')
        .map(|p| p.parse().expect("numeric"))
        .collect();
    assert_eq!(parts.len(), 4, "{printed:?}");
    // Above LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR (1.2.497.0): the CLI then uses the variable.
    assert!(parts > vec![1, 2, 497, 0], "{printed:?}");

    let installed = finish(plugin()).await;
    assert!(installed.status.success());
    assert_eq!(
        text(&installed.stdout).trim(),
        "The Session Manager plugin was installed successfully. Use the AWS CLI to start a session."
    );

    let unknown = finish({
        let mut c = plugin();
        c.args(["{}", REGION, "TerminateSession", ""]);
        c
    })
    .await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("only StartSession"));
}

/// The emulator with a NonInteractiveCommands document that has `separateOutputStream`
/// (AWS's `AWS-StartNonInteractiveCommand` has none, so its agent sends no exit code).
fn separate_output_config(mut config: EmulatorConfig) -> EmulatorConfig {
    config.extra_documents.push(ExtraDocument::command(
        SEPARATE_OUTPUT,
        serde_json::json!({ "separateOutputStream": true }),
    ));
    config
}

const SEPARATE_OUTPUT: &str = "Test-SeparateOutputCommand";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_through_the_environment_variable_form_exits_with_the_remote_exit_code_when_asked(
) {
    let emulator = Emulator::start(separate_output_config(EmulatorConfig::default()))
        .await
        .unwrap();
    for wanted in [true, false] {
        let response = start(
            emulator.url(),
            SEPARATE_OUTPUT,
            &[("command", "sh -c 'echo to-out; echo to-err >&2; exit 3'")],
        )
        .await;
        let mut command = plugin();
        command
            .env("AWS_SSM_START_SESSION_RESPONSE", response.to_string())
            .args(cli_argv(
                "AWS_SSM_START_SESSION_RESPONSE",
                SEPARATE_OUTPUT,
                emulator.url(),
            ));
        if wanted {
            command.env("SSMSESSION_PLUGIN_EXIT_CODE", "remote");
        }
        let output = finish(command).await;
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        // By default 0, as AWS's plugin: the AWS CLI fails on anything else.
        let expected = if wanted { 3 } else { 0 };
        assert_eq!(output.status.code(), Some(expected), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("Starting session with SessionId: "),
            "{stdout}"
        );
        assert!(stdout.contains("to-out\n"), "{stdout}");
        assert!(!stdout.contains("to-err"), "{stdout}");
        assert!(stderr.contains("to-err\n"), "{stderr}");
        assert!(
            stdout.contains("Exiting session with sessionId: "),
            "{stdout}"
        );
    }
    emulator.stop().await;
}

/// A flooding agent (the emulator's `i-hostile-flood`) into a reader of the plugin's
/// standard output that stops for 4 s: every line and the exit code arrive (the previous
/// plugin, driven by the AWS CLI the same way, printed 1,335,950 of 1,572,864 lines and
/// exited 0 instead of 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_agent_into_a_pausing_reader_loses_no_line_and_keeps_the_exit_code() {
    let emulator = Emulator::start(separate_output_config(EmulatorConfig::default()))
        .await
        .unwrap();
    let document = SEPARATE_OUTPUT;
    let lines = 1_572_864usize;
    let command_line = format!("sh -c 'seq 1 {lines}; exit 3'");
    let response = start_to(
        emulator.url(),
        "i-hostile-flood",
        document,
        &[("command", &command_line)],
    )
    .await;
    let mut command = plugin();
    command
        .env("SSMSESSION_PLUGIN_EXIT_CODE", "remote")
        .args(cli_argv(&response.to_string(), document, emulator.url()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let (status, stdout) = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("the plugin starts");
        let mut out = child.stdout.take().unwrap();
        let mut all = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut paused = false;
        loop {
            let n = out.read(&mut buffer).expect("stdout reads");
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buffer[..n]);
            if !paused && all.len() >= 1_000_000 {
                paused = true;
                std::thread::sleep(Duration::from_secs(4));
            }
        }
        (child.wait().expect("the plugin ends"), all)
    })
    .await
    .unwrap();
    let stdout = text(&stdout);
    let numbers: Vec<&str> = stdout
        .lines()
        .filter(|line| !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert_eq!(numbers.len(), lines);
    assert!(numbers
        .iter()
        .enumerate()
        .all(|(i, n)| n.parse() == Ok(i + 1)));
    assert_eq!(status.code(), Some(3));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kms_encrypted_command_with_ecs_exec_camel_case_keys_on_argv() {
    let emulator = Emulator::start(EmulatorConfig {
        agent: AgentConfig {
            kms_key_id: Some("alias/ssm-sessions".into()),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let document = "AWS-StartNonInteractiveCommand";
    let response = start(
        emulator.url(),
        document,
        &[("command", "sh -c 'echo secret-$((6*7))'")],
    )
    .await;
    let camel = serde_json::json!({
        "sessionId": response["SessionId"],
        "streamUrl": response["StreamUrl"],
        "tokenValue": response["TokenValue"],
    });
    let mut command = plugin();
    command.args(cli_argv(&camel.to_string(), document, emulator.url()));
    let output = finish(command).await;
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("This session is encrypted using AWS KMS."),
        "{stdout}"
    );
    assert!(stdout.contains("secret-42\n"), "{stdout}");
    emulator.stop().await;
}

/// A TCP echo server on 127.0.0.1 (a plain thread: the test's runtime is busy waiting).
fn echo_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = stream.try_clone().unwrap();
                let mut writer = stream;
                let _ = std::io::copy(&mut reader, &mut writer);
            });
        }
    });
    port
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads the child's standard output until `wanted` appears.
fn wait_for_line(child: &mut Child, wanted: &str) -> String {
    let stdout = child.stdout.as_mut().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && !text(&seen).contains(wanted) {
        match stdout.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => break,
        }
    }
    let seen = text(&seen);
    assert!(seen.contains(wanted), "never printed {wanted:?}: {seen:?}");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forwarding_prints_the_plugin_lines_carries_bytes_and_ends_on_ctrl_c() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server();
    let local = free_port();
    let document = "AWS-StartPortForwardingSession";
    let response = start(
        emulator.url(),
        document,
        &[
            ("portNumber", &echo.to_string()),
            ("localPortNumber", &local.to_string()),
        ],
    )
    .await;
    let url = emulator.url().to_owned();
    let session_id = response["SessionId"].as_str().unwrap().to_owned();
    let (status, printed) = tokio::task::spawn_blocking(move || {
        let mut child = plugin()
            .args(cli_argv(&response.to_string(), document, &url))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut printed = wait_for_line(&mut child, "Waiting for connections...\n");
        let mut connection = TcpStream::connect(("127.0.0.1", local)).unwrap();
        connection
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        connection.write_all(b"through the plugin").unwrap();
        let mut echoed = [0u8; 18];
        connection.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"through the plugin");
        printed += &wait_for_line(&mut child, "Connection accepted for session");
        // Ctrl+C, as a terminal delivers it.
        let interrupted = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(interrupted.success());
        let status = child.wait().unwrap();
        let mut rest = String::new();
        let _ = child.stdout.take().unwrap().read_to_string(&mut rest);
        (status, printed + &rest)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0), "{printed}");
    assert!(
        printed.contains(&format!("Port {local} opened for sessionId {session_id}.")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("Exiting session with sessionId: {session_id}.")),
        "{printed}"
    );
    // AWS's plugin's lines, in its order: the session first, then the multiplexed port.
    let starting = printed
        .find(&format!("Starting session with SessionId: {session_id}"))
        .expect("the starting line");
    let waiting = printed.find("Waiting for connections...").expect("waiting");
    assert!(starting < waiting, "{printed}");
    assert!(
        printed.contains(&format!("Connection accepted for session [{session_id}]")),
        "{printed}"
    );
    assert!(
        printed.contains("Terminate signal received, exiting."),
        "{printed}"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_style_session_is_a_byte_stream_on_standard_input_and_output() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server();
    let document = "AWS-StartSSHSession";
    let response = start(
        emulator.url(),
        document,
        &[("portNumber", &echo.to_string())],
    )
    .await;
    let url = emulator.url().to_owned();
    let (status, stdout) = tokio::task::spawn_blocking(move || {
        let mut child = plugin()
            .args(cli_argv(&response.to_string(), document, &url))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Binary, with lone line feeds that a terminal session would turn into CR.
        let mut payload: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        payload.extend_from_slice(b"\n");
        let mut stdin = child.stdin.take().unwrap();
        // Written while the echo is read: neither side waits on a full pipe.
        let sent = payload.clone();
        let writer = std::thread::spawn(move || {
            stdin.write_all(&sent).unwrap();
            stdin
        });
        let mut echoed = vec![0u8; payload.len()];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut echoed)
            .unwrap();
        assert!(echoed == payload, "the stream was altered");
        // End of input ends the session, as ssh closing the ProxyCommand does.
        drop(writer.join().unwrap());
        let mut rest = Vec::new();
        let _ = child.stdout.take().unwrap().read_to_end(&mut rest);
        (child.wait().unwrap(), rest)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0));
    // Nothing but the stream's bytes on standard output.
    assert!(stdout.is_empty(), "{:?}", text(&stdout));
    emulator.stop().await;
}
