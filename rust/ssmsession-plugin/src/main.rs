//! `session-manager-plugin`, built on SSMSession's engine: a drop-in for AWS's plugin that
//! `aws ssm start-session` and ECS Exec run with the StartSession response (argv contract:
//! [`args`]). It runs the session its agent asks for — a shell on this terminal, a command
//! with its output and **its exit code as this process's exit code**, port forwarding, or
//! an SSH ProxyCommand stream — with KMS encryption when the agent requires it.
//!
//! Set `SSMSESSION_PLUGIN_LOG` (e.g. `debug`) to log to standard error.

#![forbid(unsafe_code)]

mod args;
mod run;

use std::process::ExitCode;

use args::{parse, Invocation, INSTALLED_MESSAGE};

fn init_logging() {
    if let Ok(level) = std::env::var("SSMSESSION_PLUGIN_LOG") {
        let level = level.parse().unwrap_or(tracing::Level::INFO);
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let invocation = match parse(&args, |name| std::env::var(name).ok()) {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(1);
        }
    };
    match invocation {
        Invocation::InstallCheck => {
            println!("{INSTALLED_MESSAGE}");
            ExitCode::SUCCESS
        }
        Invocation::Version => {
            // A 4-part version above 1.2.497.0, so that the AWS CLI hands the response
            // over in the environment instead of on the command line (protocol notes §7).
            println!("{}", ssmsession_core::CLIENT_VERSION);
            ExitCode::SUCCESS
        }
        Invocation::Run(plugin_run) => {
            if let Some(variable) = &plugin_run.response_variable {
                // As the plugin does: the token does not outlive its hand-off. Single
                // threaded here: no runtime has started yet.
                std::env::remove_var(variable);
            }
            init_logging();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    eprintln!("Could not start: {e}");
                    return ExitCode::from(1);
                }
            };
            let code = runtime.block_on(run::run(*plugin_run));
            // Background tasks (a key reader blocked on input) must not hold the exit up.
            runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            ExitCode::from(code)
        }
    }
}
