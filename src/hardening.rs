//! Process hardening at start: no core dumps, so a crash never writes keys or
//! plaintext from memory to disk.

/// Disables core dumps (`RLIMIT_CORE` 0) and, on Linux, marks the process
/// non-dumpable (`PR_SET_DUMPABLE` 0) so that other users cannot ptrace it or read
/// `/proc/PID/mem`. Failures are reported, not fatal: the caller logs them.
pub fn disable_core_dumps() -> Result<(), String> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    // Files we create (database, blobs, keys) are for this user only.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )
    .map_err(|e| format!("setrlimit(RLIMIT_CORE): {e}"))?;
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| format!("prctl(PR_SET_DUMPABLE): {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn core_dumps_are_off_after_hardening() {
        super::disable_core_dumps().unwrap();
        let lim = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!(lim.current, Some(0));
        #[cfg(target_os = "linux")]
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            rustix::process::DumpableBehavior::NotDumpable
        );
    }
}
