//! Crash tests: the test binary runs one of its own ignored tests again as a child
//! process holding the store, and kills it (or lets it abort at a fault point).

use std::time::Duration;

/// The variable that hands a child process the URL of its parent test's database.
const CHILD_URL: &str = "ADUAN_TEST_CHILD_URL";

/// A child process that holds a store for a crash test: the current test binary run
/// again for one ignored test (the child's side), with the parent's database URL. Its
/// lines said with [`say`] are read on a thread of their own, so that every wait for
/// one is bounded. Killed with SIGKILL when dropped.
#[derive(Debug)]
pub struct ChildProcess {
    child: std::process::Child,
    said: std::sync::mpsc::Receiver<String>,
}

impl ChildProcess {
    /// Runs the ignored test named `test` (its full path in the test binary, e.g.
    /// `child::writes_then_waits`) on the database at `url`.
    pub fn spawn(test: &str, url: &str) -> Self {
        Self::spawn_with_fault(test, url, None)
    }

    /// Like [`ChildProcess::spawn`], the child aborting at the [`fault_point`] named
    /// `fault`.
    pub fn spawn_with_fault(test: &str, url: &str, fault: Option<&str>) -> Self {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        if let Some(point) = fault {
            command.env("ADUAN_FAULT", point);
        }
        let mut child = command
            .args([
                test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_URL, url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("the test binary runs again as a child");
        let stdout = child.stdout.take().unwrap();
        let (tell, said) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                // libtest may start the line with the test's name.
                if let Some((_, said)) = line.split_once("child says: ") {
                    if tell.send(said.to_owned()).is_err() {
                        return;
                    }
                }
            }
        });
        Self { child, said }
    }

    /// Waits for the child to say `what`; panics after `within`, or if it ends first.
    pub fn wait_for(&self, what: &str, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.said.recv_timeout(left) {
                Ok(line) if line == what => return,
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the child did not say `{what}` within {within:?}")
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("the child ended before it said `{what}`")
                }
            }
        }
    }

    /// Waits for the child to end by itself; panics after `within`.
    pub fn wait_exit(mut self, within: Duration) -> std::process::ExitStatus {
        use wait_timeout::ChildExt;
        match self.child.wait_timeout(within).expect("the child's status") {
            Some(status) => status,
            None => panic!("the child did not end within {within:?}"),
        }
    }

    /// SIGKILL, and waits for the child to be gone: no chance to finish anything.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the child");
        self.child.wait().expect("the killed child is reaped");
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In a child process's test: the parent's database URL. Panics when the test runs on
/// its own rather than as a child (`cargo test -- --ignored`).
pub fn child_url() -> String {
    std::env::var(CHILD_URL).unwrap_or_else(|_| {
        panic!("run only as a child process of a crash test ({CHILD_URL} is not set)")
    })
}

/// In a child process's test: tells the parent something (see [`ChildProcess::wait_for`]).
pub fn say(what: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "child says: {what}");
    let _ = out.flush();
}

/// Where a test may have the process die for real: when the environment variable
/// `ADUAN_FAULT` names `point`, the process aborts there (as `SIGKILL` would end it,
/// with no unwinding and nothing flushed). Compiled only with the `testing` feature.
pub fn fault_point(point: &str) {
    if std::env::var("ADUAN_FAULT").is_ok_and(|f| f == point) {
        std::process::abort();
    }
}
