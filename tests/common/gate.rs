//! A start gate for child processes: the test holds an exclusive `flock` on a file, each
//! child blocks taking a shared one, and when every child is seen waiting (in
//! `/proc/locks`) the test lets go — all start at one instant, however long each took to
//! get there.

use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Gate {
    file: tempfile::NamedTempFile,
}

impl Gate {
    /// A closed gate.
    pub fn closed() -> Gate {
        let file = tempfile::NamedTempFile::new().unwrap();
        // SAFETY: flock on a descriptor we own.
        assert_eq!(
            unsafe { libc::flock(file.as_file().as_raw_fd(), libc::LOCK_EX) },
            0
        );
        Gate { file }
    }

    /// The file children wait on (`flock -s PATH cmd`, or [`wait_at`]).
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Blocked waiters on the gate.
    pub fn waiting(&self) -> usize {
        let ino = self.file.as_file().metadata().unwrap().ino();
        std::fs::read_to_string("/proc/locks")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("->") && l.contains(&format!(":{ino} ")))
            .count()
    }

    /// Wait (up to 30 s) until `n` processes wait at the gate, then open it.
    pub fn open_when_waiting(self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.waiting() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} processes reached the gate",
                self.waiting()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::flock(self.file.as_file().as_raw_fd(), libc::LOCK_UN) },
            0
        );
    }
}

/// In a child: block until the gate at `path` opens.
pub fn wait_at(path: &Path) {
    let f = std::fs::File::open(path).unwrap();
    // SAFETY: flock on a descriptor we own; blocks until the test lets go.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH) }, 0);
}
