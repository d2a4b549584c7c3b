//! The AWS-owned session documents as the emulator serves them. Their exact JSON is not
//! published (agent-behaviour §7): the session types, parameter names and property keys
//! follow AWS's user guide and what agents and clients are seen to exchange; descriptions
//! and patterns are the emulator's own. Shell-type documents carry their properties per
//! platform (`linux`, `macos`, `windows`), as the agent reads them; none sets
//! `separateOutputStream`, so `AWS-StartNonInteractiveCommand` merges and holds output and
//! sends no exit code.

/// The default shell document (the account's Session Manager preferences).
const RUN_SHELL: &str = r#"{
  "schemaVersion": "1.0",
  "description": "Session Manager preferences and the default shell session.",
  "sessionType": "Standard_Stream",
  "inputs": {
    "s3BucketName": "", "s3KeyPrefix": "", "s3EncryptionEnabled": true,
    "cloudWatchLogGroupName": "", "cloudWatchEncryptionEnabled": true,
    "cloudWatchStreamingEnabled": false, "kmsKeyId": "", "runAsEnabled": false,
    "runAsDefaultUser": "", "idleSessionTimeout": "20", "maxSessionDuration": "",
    "shellProfile": { "windows": "", "linux": "" }
  }
}"#;

const INTERACTIVE_COMMAND: &str = r#"{
  "schemaVersion": "1.0",
  "description": "Runs one command under a terminal.",
  "sessionType": "InteractiveCommands",
  "parameters": {
    "command": { "type": "String", "description": "The command to run." }
  },
  "properties": {
    "linux": { "commands": "{{ command }}", "runAsElevated": false },
    "macos": { "commands": "{{ command }}", "runAsElevated": false },
    "windows": { "commands": "{{ command }}", "runAsElevated": false }
  }
}"#;

const NON_INTERACTIVE_COMMAND: &str = r#"{
  "schemaVersion": "1.0",
  "description": "Runs one command without a terminal; its output comes when it has ended.",
  "sessionType": "NonInteractiveCommands",
  "parameters": {
    "command": { "type": "String", "description": "The command to run." }
  },
  "properties": {
    "linux": { "commands": "{{ command }}", "runAsElevated": false },
    "macos": { "commands": "{{ command }}", "runAsElevated": false },
    "windows": { "commands": "{{ command }}", "runAsElevated": false }
  }
}"#;

const PORT_FORWARDING: &str = r#"{
  "schemaVersion": "1.0",
  "description": "Forwards a local port to a port on the node.",
  "sessionType": "Port",
  "parameters": {
    "portNumber": { "type": "String", "description": "The port on the node.", "default": "80" },
    "localPortNumber": { "type": "String", "description": "The local port; 0 picks one.", "default": "0" }
  },
  "properties": {
    "portNumber": "{{ portNumber }}",
    "type": "LocalPortForwarding",
    "localPortNumber": "{{ localPortNumber }}"
  }
}"#;

const PORT_FORWARDING_TO_REMOTE_HOST: &str = r#"{
  "schemaVersion": "1.0",
  "description": "Forwards a local port to a host reachable from the node.",
  "sessionType": "Port",
  "parameters": {
    "host": { "type": "String", "description": "The host to reach from the node." },
    "portNumber": { "type": "String", "description": "The port on the host.", "default": "80" },
    "localPortNumber": { "type": "String", "description": "The local port; 0 picks one.", "default": "0" }
  },
  "properties": {
    "host": "{{ host }}",
    "portNumber": "{{ portNumber }}",
    "type": "LocalPortForwarding",
    "localPortNumber": "{{ localPortNumber }}"
  }
}"#;

const PORT_FORWARDING_TO_SOCKET: &str = r#"{
  "schemaVersion": "1.0",
  "description": "Forwards a local port to a port on the node (the emulator has no socket targets).",
  "sessionType": "Port",
  "parameters": {
    "portNumber": { "type": "String", "description": "The port on the node.", "default": "80" },
    "localPortNumber": { "type": "String", "description": "The local port; 0 picks one.", "default": "0" },
    "localUnixSocket": { "type": "String", "description": "A local socket path instead of a port.", "default": "" }
  },
  "properties": {
    "portNumber": "{{ portNumber }}",
    "type": "LocalPortForwarding",
    "localPortNumber": "{{ localPortNumber }}",
    "localUnixSocket": "{{ localUnixSocket }}"
  }
}"#;

/// No `type`: the plugin and the agent treat it as one byte stream (an SSH ProxyCommand).
const SSH: &str = r#"{
  "schemaVersion": "1.0",
  "description": "A byte stream to the node's SSH port.",
  "sessionType": "Port",
  "parameters": {
    "portNumber": { "type": "String", "description": "The SSH port.", "default": "22" }
  },
  "properties": { "portNumber": "{{ portNumber }}" }
}"#;

/// Modelled as a shell: the real document's content is not public.
const PASSWORD_RESET: &str = r#"{
  "schemaVersion": "1.0",
  "description": "A shell session (the real document resets a password; the emulator runs a shell).",
  "sessionType": "Standard_Stream"
}"#;

/// Name and content of every AWS-owned session document.
pub const MANAGED_DOCUMENTS: &[(&str, &str)] = &[
    ("SSM-SessionManagerRunShell", RUN_SHELL),
    ("AWS-StartInteractiveCommand", INTERACTIVE_COMMAND),
    ("AWS-StartNonInteractiveCommand", NON_INTERACTIVE_COMMAND),
    ("AWS-StartPortForwardingSession", PORT_FORWARDING),
    (
        "AWS-StartPortForwardingSessionToRemoteHost",
        PORT_FORWARDING_TO_REMOTE_HOST,
    ),
    (
        "AWS-StartPortForwardingSessionToSocket",
        PORT_FORWARDING_TO_SOCKET,
    ),
    ("AWS-StartSSHSession", SSH),
    ("AWS-PasswordReset", PASSWORD_RESET),
];
