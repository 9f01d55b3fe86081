//! `aduan` started the one way every test starts it, and run as a verb to its end.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a verb, or another program a test runs to its end, may take: then it is
/// killed and the test fails, so that a regression that hangs fails instead of hanging
/// the whole run.
pub const VERB_WITHIN: Duration = Duration::from_secs(120);

/// `aduan` in a folder, on a database: as a verb ([`Aduan::run`]) or as a server
/// ([`super::Server`]).
#[derive(Clone, Copy, Debug)]
pub struct Aduan<'a> {
    dir: &'a Path,
    /// `DATABASE_URL`; `None` leaves it unset, so that the binary uses its embedded
    /// default (`sqlite://aduan.db`, relative to `dir`) whatever the caller's environment.
    database: Option<&'a str>,
    /// `ulimit -n` for the process.
    open_files: Option<u32>,
}

impl<'a> Aduan<'a> {
    /// On the database at `url`.
    pub fn on(dir: &'a Path, url: &'a str) -> Self {
        Self {
            dir,
            database: Some(url),
            open_files: None,
        }
    }

    /// On the default database, `aduan.db` in `dir`.
    pub fn in_dir(dir: &'a Path) -> Self {
        Self {
            dir,
            database: None,
            open_files: None,
        }
    }

    /// Allowed only this many open files.
    pub fn open_files(self, open_files: u32) -> Self {
        Self {
            open_files: Some(open_files),
            ..self
        }
    }

    /// The command, without its arguments.
    pub fn command(self) -> Command {
        let mut command = match self.open_files {
            None => Command::new(env!("CARGO_BIN_EXE_aduan")),
            Some(n) => {
                let mut shell = Command::new("sh");
                shell.args([
                    "-c",
                    &format!("ulimit -n {n} && exec \"$0\" \"$@\""),
                    env!("CARGO_BIN_EXE_aduan"),
                ]);
                shell
            }
        };
        command.current_dir(self.dir);
        match self.database {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        command
    }

    /// Runs a verb to its end, within [`VERB_WITHIN`].
    pub fn run(self, args: &[&str]) -> Output {
        run_bounded(self.verb(args)).expect("the aduan binary runs")
    }

    /// Runs a verb to its end with one more variable in its environment.
    pub fn run_with_env(self, args: &[&str], key: &str, value: &str) -> Output {
        let mut command = self.verb(args);
        command.env(key, value);
        run_bounded(command).expect("the aduan binary runs")
    }

    /// Runs a verb whose reader went away before it wrote (`aduan … | head -1`): its
    /// stdout is a pipe already closed at the other end.
    pub fn run_unread(self, args: &[&str]) -> Output {
        let mut child = spawn_piped(self.verb(args)).expect("the aduan binary runs");
        drop(child.stdout.take());
        wait_bounded(child, &format!("aduan {args:?}"), VERB_WITHIN)
    }

    fn verb(self, args: &[&str]) -> Command {
        let mut command = self.command();
        // Only `serve` logs; run as a verb (to see it refuse to start) it logs at the
        // level an operator gets, whatever the test's environment says.
        command.env_remove("RUST_LOG").args(args);
        command
    }
}

/// Runs `aduan` in `dir` on the database at `url`, to its end.
pub fn aduan(dir: &Path, url: &str, args: &[&str]) -> Output {
    Aduan::on(dir, url).run(args)
}

/// Runs `aduan` in `dir` on its default database, `aduan.db` there, to its end.
pub fn aduan_in(dir: &Path, args: &[&str]) -> Output {
    Aduan::in_dir(dir).run(args)
}

/// Runs a program to its end, within [`VERB_WITHIN`]; an error only when it cannot be
/// started.
pub fn run_bounded(command: Command) -> std::io::Result<Output> {
    run_bounded_within(command, VERB_WITHIN)
}

/// Runs a program to its end, within `within`; an error only when it cannot be started.
pub fn run_bounded_within(command: Command, within: Duration) -> std::io::Result<Output> {
    let what = format!(
        "{} {:?}",
        command.get_program().to_string_lossy(),
        command.get_args().collect::<Vec<_>>()
    );
    let child = spawn_piped(command)?;
    Ok(wait_bounded(child, &what, within))
}

fn spawn_piped(mut command: Command) -> std::io::Result<Child> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// Waits for the exit itself (no polling) while a watchdog kills the child after
/// [`VERB_WITHIN`]; a killed child fails the test.
fn wait_bounded(child: Child, what: &str, within: Duration) -> Output {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a child's pid");
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let timed_out = matches!(
            finished.recv_timeout(within),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        if timed_out {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        timed_out
    });
    let output = child.wait_with_output().expect("waiting for a child");
    let _ = done.send(());
    assert!(
        !watchdog.join().unwrap(),
        "{what} did not end within {within:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A success; returns its stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A failure with a one-line reason; returns it.
pub fn refused(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    stderr
}

/// Creates a token and returns it; its agency, if it names one, is registered first
/// (named after its code; registering it again as given changes nothing).
pub fn token(dir: &Path, url: &str, user: &str, role: &str, agency: Option<&str>) -> String {
    let mut args = vec!["token", "create", "--user", user, "--role", role];
    if let Some(a) = agency {
        ok(&aduan(
            dir,
            url,
            &["agency", "add", a, &format!("Dinas {a}")],
        ));
        args.extend(["--agency", a]);
    }
    ok(&aduan(dir, url, &args)).trim().to_owned()
}
