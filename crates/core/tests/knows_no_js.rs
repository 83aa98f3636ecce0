//! The core's boundary, enforced: nothing in its dependency tree, for any target and
//! with every feature, may know JavaScript. The front doors bring those crates.

use std::process::Command;

#[test]
fn no_js_crate_is_in_the_dependency_tree_for_any_target() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--package",
            "automagik-telemetry-core",
            "--all-features",
            "--edges",
            "normal,build",
            "--target",
            "all",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(
        crates.first(),
        Some(&"automagik-telemetry-core"),
        "the tree was read"
    );
    for js in [
        "wasm-bindgen",
        "js-sys",
        "web-sys",
        "gloo-timers",
        "wasm-bindgen-futures",
    ] {
        assert!(!crates.contains(&js), "{js} is in the core's tree:\n{tree}");
    }
}
