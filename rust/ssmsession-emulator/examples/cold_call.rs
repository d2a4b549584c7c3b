//! Where a process's first StartSession spends its time on the native side, phase by phase:
//! runtime start, client construction (config loading, credentials, TLS set-up), the first
//! call (connection set-up included) and a warm call. The emulator runs in its own thread
//! and runtime first, so its start-up is not counted.
//!
//! `cargo run --release -p ssmsession-emulator --example cold_call` (run it a few times: the
//! first phases are what a fresh pwsh pays before its first Start-SSMSession returns).

use std::collections::BTreeMap;
use std::time::Instant;

use ssmsession_core::{ClientCache, ClientSettings, ResolveClientCall, StartSessionCall};
use ssmsession_emulator::{Emulator, EmulatorConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

fn main() {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
            url_tx.send(emulator.url().to_owned()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let url = url_rx.recv().unwrap();

    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime_ms = started.elapsed().as_secs_f64() * 1000.0;

    let mut environment = BTreeMap::new();
    environment.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
    environment.insert("HOME".to_owned(), std::env::var("HOME").unwrap_or_default());
    let settings = ClientSettings {
        region: Some("eu-west-3".into()),
        endpoint_url: Some(url),
        access_key: Some(DEFAULT_ACCESS_KEY.into()),
        secret_key: Some(DEFAULT_SECRET_KEY.into()),
        environment: Some(environment),
        ..Default::default()
    };
    let cache = ClientCache::new();
    let call = || StartSessionCall {
        target: Some("i-0123456789abcdef0".into()),
        document_name: None,
        parameters: None,
        reason: None,
        client: settings.clone(),
    };
    runtime.block_on(async {
        let phase = Instant::now();
        ssmsession_core::resolve_client(
            &cache,
            ResolveClientCall {
                client: settings.clone(),
            },
        )
        .await
        .unwrap();
        let client_ms = phase.elapsed().as_secs_f64() * 1000.0;
        let phase = Instant::now();
        ssmsession_core::start_session(&cache, call()).await.unwrap();
        let first_ms = phase.elapsed().as_secs_f64() * 1000.0;
        let phase = Instant::now();
        ssmsession_core::start_session(&cache, call()).await.unwrap();
        let warm_ms = phase.elapsed().as_secs_f64() * 1000.0;
        println!(
            "runtime {runtime_ms:.1} ms, client {client_ms:.1} ms, first call {first_ms:.1} ms, warm call {warm_ms:.2} ms, total {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0 - warm_ms
        );
    });
}
