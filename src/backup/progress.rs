//! Progress of a long backup or restore on the terminal: files and bytes, redrawn in
//! place at most ten times a second; silent when stderr is not a terminal (cron) or
//! with `--quiet`.
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A progress line.
pub struct Progress {
    on: bool,
    label: &'static str,
    files: (u64, u64),
    bytes: (u64, u64),
    drawn: Option<Instant>,
}

fn human(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Bytes as people read them (`1.5 GiB`).
pub fn human_bytes(b: u64) -> String {
    human(b)
}

impl Progress {
    /// Shows progress when `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> Progress {
        Progress {
            on: wanted && std::io::stderr().is_terminal(),
            label: "",
            files: (0, 0),
            bytes: (0, 0),
            drawn: None,
        }
    }

    /// No output at all (the server's scheduled backups, tests).
    pub fn silent() -> Progress {
        Progress::new(false)
    }

    /// A new phase with its totals.
    pub fn phase(&mut self, label: &'static str, files: u64, bytes: u64) {
        self.end_line();
        self.label = label;
        self.files = (0, files);
        self.bytes = (0, bytes);
        self.draw(true);
    }

    /// `n` more bytes done.
    pub fn bytes(&mut self, n: u64) {
        self.bytes.0 += n;
        self.draw(false);
    }

    /// One more file done.
    pub fn file(&mut self) {
        self.files.0 += 1;
        self.draw(false);
    }

    fn draw(&mut self, now: bool) {
        if !self.on {
            return;
        }
        if !now
            && self
                .drawn
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.drawn = Some(Instant::now());
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "\r\x1b[2K{}: {}/{} files, {} of {}",
            self.label,
            self.files.0,
            self.files.1,
            human(self.bytes.0),
            human(self.bytes.1)
        );
        let _ = e.flush();
    }

    fn end_line(&mut self) {
        if self.on && self.drawn.is_some() {
            self.drawn = None;
            self.draw(true);
            eprintln!();
            self.drawn = None;
        }
    }

    /// Ends the last phase's line.
    pub fn finish(&mut self) {
        self.end_line();
    }
}
