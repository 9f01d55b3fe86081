//! The SMTP server of the notification tests: aiosmtpd (PyPI) in a venv of its own.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The Python with aiosmtpd: `SMTP_PYTHON`, or `target/smtp-venv`, made (once per test
/// run, from PyPI) when it is not there yet. These tests never skip: without a Python
/// that can make the venv, they fail saying so.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("SMTP_PYTHON") {
                return p.into();
            }
            let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/smtp-venv");
            let python = venv.join("bin/python");
            let ready = || {
                std::process::Command::new(&python)
                    .args(["-c", "import aiosmtpd"])
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !ready() {
                let made = std::process::Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .is_ok_and(|s| s.success())
                    && std::process::Command::new(&python)
                        .args(["-m", "pip", "install", "-q", "aiosmtpd"])
                        .status()
                        .is_ok_and(|s| s.success());
                assert!(
                    made && ready(),
                    "the notification tests need aiosmtpd: python3 -m venv target/smtp-venv && target/smtp-venv/bin/pip install aiosmtpd"
                );
            }
            python
        })
        .clone()
}
