//! The browser tests' Python: Playwright for Python driving Debian's chromium, and the
//! other Python clients the tests use, each from a venv of its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The Python with Playwright: `BROWSER_PYTHON`, or the venv CI makes
/// (`target/browser-venv`). `None`, said on stderr, when the run asks for no browser
/// (`ADUAN_BROWSER_TESTS=skip`, for a quick run without the browser) or, outside CI,
/// when there is none. In CI without one the test fails.
pub fn python() -> Option<PathBuf> {
    venv_python(
        "BROWSER_PYTHON",
        "browser-venv",
        "playwright axe-playwright-python",
        "the browser tests",
    )
}

/// A Python with `packages` for `what`: the one `env_var` names, or `target/{venv}`
/// (which CI makes). `None`, said on stderr, with `ADUAN_BROWSER_TESTS=skip` or,
/// outside CI, when there is none; in CI without one the test fails.
pub fn venv_python(env_var: &str, venv: &str, packages: &str, what: &str) -> Option<PathBuf> {
    if std::env::var("ADUAN_BROWSER_TESTS").as_deref() == Ok("skip") {
        eprintln!("SKIPPED: ADUAN_BROWSER_TESTS=skip");
        return None;
    }
    if let Some(p) = std::env::var_os(env_var) {
        return Some(p.into());
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(venv)
        .join("bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install {packages} (target/{venv}) for {what}"
    );
    eprintln!(
        "SKIPPED: no {packages} (python3 -m venv target/{venv} && target/{venv}/bin/pip install {packages})"
    );
    None
}

/// Where the browser tests leave their screenshots (`target/screens`), made if missing.
pub fn screens() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `python tests/browser/SCRIPT`, with the screenshot folder (`SHOTS`) and axe-core's
/// script (`AXE`: the file `AXE_JS` names; empty, the script finds the copy the PyPI
/// package axe-playwright-python ships) in its environment.
pub fn script(python: &Path, script: &str) -> Command {
    let mut command = Command::new(python);
    command
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/browser")
                .join(script),
        )
        .env("SHOTS", screens())
        .env("AXE", std::env::var("AXE_JS").unwrap_or_default());
    super::on_the_machines_clock(&mut command);
    command
}

/// Runs a browser script within the bound of a verb; fails the test with its output
/// unless it succeeds.
pub fn run(command: Command) {
    succeeded(super::run_bounded(command).expect("python runs"));
}

/// [`run`], for at most `within`.
pub fn run_within(command: Command, within: Duration) {
    succeeded(super::run_bounded_within(command, within).expect("python runs"));
}

fn succeeded(out: std::process::Output) {
    assert!(
        out.status.success(),
        "the browser test failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
