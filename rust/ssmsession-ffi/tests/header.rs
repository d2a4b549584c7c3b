//! The committed C header must match what cbindgen generates from the exports.
//! `SSMSESSION_UPDATE_HEADER=1` rewrites it instead of failing.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen parses the exports")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");

    let header_path = crate_dir.join("include/ssmsession.h");
    if std::env::var_os("SSMSESSION_UPDATE_HEADER").is_some() {
        std::fs::write(&header_path, &generated).expect("write header");
        return;
    }
    let committed = std::fs::read_to_string(&header_path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/ssmsession.h is stale; regenerate it with \
         SSMSESSION_UPDATE_HEADER=1 cargo test --release -p ssmsession-ffi --test header"
    );
}
