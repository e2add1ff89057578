//! A binary built by plain cargo (as `cargo test` builds this one, or `cargo build
//! --release` would) serves pages whose script is the real bundle, with nothing set at
//! run time: no `LEPTOS_OUTPUT_NAME` and no warning about it.

use crate::common::process::Process;

#[tokio::test]
async fn a_plainly_built_binary_serves_pages_that_load_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(dir.path()).await;
    let page = reqwest::get(server.url("/login")).await.unwrap().text().await.unwrap();
    assert!(page.contains("/pkg/uplink.js"), "the page loads the bundle: {page}");
    assert!(page.contains("/pkg/uplink.wasm"), "and its WASM: {page}");
    assert!(!page.contains("/pkg/.js"), "never a bundle without a name");
    server.kill().await;
}
