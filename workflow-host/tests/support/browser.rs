//! The browser tests' Python: Playwright for Python driving Debian's chromium.

use std::path::{Path, PathBuf};

/// The Python with Playwright: `BROWSER_PYTHON`, or the venv CI makes
/// (`target/browser-venv`). `None`, said on stderr, when the run asks for no browser
/// (`ADUAN_BROWSER_TESTS=skip`, for a quick run without the browser) or, outside CI,
/// when there is none. In CI without one the test fails.
pub fn python() -> Option<PathBuf> {
    if std::env::var("ADUAN_BROWSER_TESTS").as_deref() == Ok("skip") {
        eprintln!("SKIPPED: ADUAN_BROWSER_TESTS=skip");
        return None;
    }
    if let Some(p) = std::env::var_os("BROWSER_PYTHON") {
        return Some(p.into());
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install Playwright (target/browser-venv) for the browser tests"
    );
    eprintln!("SKIPPED: no Playwright (python3 -m venv target/browser-venv && target/browser-venv/bin/pip install playwright axe-playwright-python)");
    None
}
