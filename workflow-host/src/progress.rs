//! Progress of the long walks (replay, verify, checkpoint, export): a bar with the rate
//! and the time left on a terminal (indicatif), plain lines where standard error is a
//! file or a pipe (a log): one at most every few seconds while it runs and one at the
//! end, never a carriage return, never a line twice.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain line is written while a walk runs.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// The progress of one walk, shown on standard error.
#[derive(Debug)]
pub struct Progress {
    label: String,
    unit: &'static str,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    done: u64,
    finished: bool,
}

impl Progress {
    /// Progress of `label` counted in `unit` (`events`): a bar when standard error is a
    /// terminal, plain lines otherwise.
    pub fn new(label: impl Into<String>, unit: &'static str) -> Self {
        Self::with_terminal(label, unit, std::io::stderr().is_terminal())
    }

    fn with_terminal(label: impl Into<String>, unit: &'static str, terminal: bool) -> Self {
        let label = label.into();
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let template = format!(
                "{{prefix}}: [{{bar:30}}] {{pos}}/{{len}} {unit} ({{percent}}%), {{per_sec}}, {{eta}} left"
            );
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(label.clone());
            bar
        });
        let now = Instant::now();
        Self {
            label,
            unit,
            bar,
            started: now,
            last_line: now,
            done: 0,
            finished: false,
        }
    }

    /// `done` of `total` are through; at `total` the walk is finished.
    pub fn update(&mut self, done: u64, total: u64) {
        if self.finished {
            return;
        }
        self.done = done;
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            None if done < total && self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                eprintln!("{}", self.line(done, total));
            }
            None => {}
        }
        if done >= total {
            self.finish();
        }
    }

    /// Ends the walk's progress with one line saying how many and how fast.
    pub fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!("{}", self.summary());
    }

    /// A line while the walk runs: how far, how fast, how long still.
    fn line(&self, done: u64, total: u64) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        };
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let left = if rate > 0.0 {
            format!(", about {:.0} s left", (total - done) as f64 / rate)
        } else {
            String::new()
        };
        format!(
            "{}: {done}/{total} {} ({pct}%), {rate:.0}/s{left}",
            self.label, self.unit
        )
    }

    /// The line at the end.
    fn summary(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            format!(", {:.0}/s", self.done as f64 / elapsed)
        } else {
            String::new()
        };
        format!(
            "{}: {} {} in {elapsed:.1} s{rate}",
            self.label, self.done, self.unit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_say_how_far_how_fast_and_how_long_still() {
        let mut p = Progress::with_terminal("verify", "events", false);
        p.started = Instant::now() - Duration::from_secs(10);
        assert_eq!(
            p.line(500, 2000),
            "verify: 500/2000 events (25%), 50/s, about 30 s left"
        );
        p.update(2000, 2000);
        assert!(p.finished);
        assert!(
            p.summary().starts_with("verify: 2000 events in 10."),
            "{}",
            p.summary()
        );
    }
}
