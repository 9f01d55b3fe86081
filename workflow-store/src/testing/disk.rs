//! A small disk of its own for a test, to fill up for real.

/// A small file system of its own (a tmpfs) that a test can fill to the brim and free
/// again, for real disk-full faults. Mounting needs root: where it is impossible the
/// test is skipped with a loud message; as root a failed mount fails the test.
#[derive(Debug)]
pub struct SmallDisk {
    dir: tempfile::TempDir,
    filler: std::path::PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`mount -o size=`, e.g. `"4m"`), or `None` when not root.
    pub fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => {
                let root = std::process::Command::new("id")
                    .arg("-u")
                    .output()
                    .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
                assert!(!root, "cannot mount a tmpfs as root: {other:?}");
                eprintln!(
                    "\n\n*** SKIPPED: mounting a small tmpfs needs root ({other:?}); \
                     the disk-full fault was NOT tested ***\n"
                );
                return None;
            }
        }
        let filler = dir.path().join("filler");
        Some(Self { dir, filler })
    }

    /// The mount point.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes a filler file until the file system refuses another byte.
    pub fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.filler)
            .unwrap();
        // Bounded: a file system of at most FILL_LIMIT bytes fills long before; one that
        // never says "no space" fails the test instead of writing forever.
        const FILL_LIMIT: u64 = 256 * 1024 * 1024;
        let mut written = 0u64;
        for chunk in [65536usize, 4096, 512, 1] {
            let buf = vec![0xA5u8; chunk];
            loop {
                assert!(
                    written <= FILL_LIMIT,
                    "wrote {written} bytes and the file system is still not full"
                );
                match file.write(&buf) {
                    Ok(n) => written += n as u64,
                    Err(e) if e.raw_os_error() == Some(28) => break,
                    Err(e) => panic!("filling the disk: {e}"),
                }
                if file.flush().is_err() {
                    break;
                }
            }
        }
        let _ = file.sync_all();
    }

    /// Remounts the file system read-only (`true`) or read-write (`false`), under the
    /// files open on it.
    pub fn read_only(&self, read_only: bool) {
        let mode = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        let status = std::process::Command::new("mount")
            .args(["-o", mode])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount -o {mode} failed");
    }

    /// Removes the filler: the space is there again.
    pub fn free(&self) {
        std::fs::remove_file(&self.filler).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
