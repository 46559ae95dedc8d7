//! The two policy files of scheduled work: `policy/backup.toml` (what the server backs
//! up, where, how often) and `policy/retention.toml` (how long closed cases are kept).
use serde::Deserialize;

/// `policy/backup.toml`: the server's scheduled backups.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSettings {
    /// The target directory; empty: no scheduled backups.
    pub target: String,
    /// The backup recipient (`age1…`).
    pub recipient: String,
    /// Hours between backups.
    pub every_hours: u32,
    /// Backups kept at the target.
    pub keep: u32,
    /// An `s3://` target's endpoint URL.
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    /// An `s3://` target's credentials file (else the environment's keys).
    #[serde(default)]
    pub s3_credentials: Option<std::path::PathBuf>,
}

/// The backup file shipped in `policy/` (no target: nothing scheduled).
pub const DEFAULT_BACKUP: &str = include_str!("../../policy/backup.toml");

impl BackupSettings {
    /// Parses a backup file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let b: BackupSettings = toml::from_str(text).map_err(|e| e.to_string())?;
        if b.every_hours == 0 || b.keep == 0 {
            return Err("every_hours and keep must be at least 1".into());
        }
        if !b.target.is_empty() && crate::crypto::parse_recipient(&b.recipient).is_err() {
            return Err("recipient must be an age recipient (age1…) when target is set".into());
        }
        Ok(b)
    }

    /// Whether backups are scheduled.
    pub fn enabled(&self) -> bool {
        !self.target.is_empty()
    }
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self::parse(DEFAULT_BACKUP).unwrap_or(BackupSettings {
            target: String::new(),
            recipient: String::new(),
            s3_endpoint: None,
            s3_credentials: None,
            every_hours: 24,
            keep: 30,
        })
    }
}

/// `policy/retention.toml`: routine deletion of closed cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days after closing before a closed case is purged.
    pub closed_case_days: u32,
    /// Minutes between scheduled runs in the server (0: never scheduled).
    pub run_every_minutes: u32,
}

/// The retention file shipped in `policy/`, compiled in as the default.
pub const DEFAULT_RETENTION: &str = include_str!("../../policy/retention.toml");

impl RetentionSettings {
    /// Parses a retention file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let r: RetentionSettings = toml::from_str(text).map_err(|e| e.to_string())?;
        if r.closed_case_days == 0 {
            return Err("closed_case_days must be at least 1".into());
        }
        Ok(r)
    }
}

impl Default for RetentionSettings {
    /// The compiled-in file (tested to parse); a hard-coded copy only so this
    /// cannot panic.
    fn default() -> Self {
        Self::parse(DEFAULT_RETENTION).unwrap_or(RetentionSettings {
            closed_case_days: 365,
            run_every_minutes: 60,
        })
    }
}
