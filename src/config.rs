//! Settings from `policy/settings.toml`: timeouts, step-up window, TOTP requirements,
//! upload limit, key-derivation work. Unknown keys are refused so a typo cannot
//! silently leave a default in force.
//!
//! [`load_policy_dir`] reads a whole policy directory (rules, schema, settings,
//! retention) or, without one, the compiled-in copy; nothing else in the program picks
//! where configuration comes from, and every error names the file at fault.
use std::path::Path;

use serde::Deserialize;

use crate::policy::Policy;

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Session lifetimes.
    pub session: SessionSettings,
    /// Second-factor rules.
    pub totp: TotpSettings,
    /// Throttling of sign-in.
    pub login: LoginSettings,
    /// Upload limits.
    pub uploads: UploadSettings,
    /// Key derivation.
    pub kdf: KdfSettings,
    /// Retention (from `retention.toml`, not `settings.toml`).
    #[serde(skip)]
    pub retention: RetentionSettings,
    /// Automatic sealing.
    #[serde(default)]
    pub seal: SealSettings,
}

/// `[seal]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealSettings {
    /// An office whose keys are unused this long is sealed again (0 = never).
    pub idle_minutes: u32,
}

impl Default for SealSettings {
    fn default() -> Self {
        SealSettings { idle_minutes: 240 }
    }
}

/// `[session]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// Idle timeout.
    pub idle_timeout_minutes: u32,
    /// Absolute lifetime.
    pub absolute_lifetime_hours: u32,
    /// Step-up window.
    pub step_up_minutes: u32,
}

/// `[totp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpSettings {
    /// Whether caseworkers must use TOTP.
    pub required_for_caseworkers: bool,
}

/// `[login]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    /// Failures before slowing down.
    pub free_failures: u32,
    /// Failures before a soft lock.
    pub lock_after_failures: u32,
    /// Soft-lock length.
    pub lock_minutes: u32,
}

/// `[uploads]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadSettings {
    /// Largest document.
    pub max_bytes: u64,
}

/// `[kdf]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfSettings {
    /// scrypt work factor for wrapping office identities.
    pub passphrase_log_n: u8,
    /// Largest work factor accepted at unseal.
    pub max_log_n: u8,
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
pub const DEFAULT_RETENTION: &str = include_str!("../policy/retention.toml");

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

/// The settings file shipped in `policy/`, compiled in as the default.
pub const DEFAULT_SETTINGS: &str = include_str!("../policy/settings.toml");

impl Settings {
    /// Parses a settings file; the error names the problem and its line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let s: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        if s.kdf.passphrase_log_n == 0
            || s.kdf.passphrase_log_n > s.kdf.max_log_n
            || s.kdf.max_log_n > 30
        {
            return Err("[kdf] needs 0 < passphrase_log_n <= max_log_n <= 30".into());
        }
        Ok(s)
    }

    /// The compiled-in defaults.
    pub fn defaults() -> Self {
        // The shipped file is tested to parse (see tests below); fall back to a
        // hard-coded copy only so that this cannot panic.
        Self::parse(DEFAULT_SETTINGS).unwrap_or(Settings {
            session: SessionSettings {
                idle_timeout_minutes: 15,
                absolute_lifetime_hours: 12,
                step_up_minutes: 10,
            },
            totp: TotpSettings {
                required_for_caseworkers: true,
            },
            login: LoginSettings {
                free_failures: 3,
                lock_after_failures: 10,
                lock_minutes: 15,
            },
            uploads: UploadSettings { max_bytes: 2 << 30 },
            kdf: KdfSettings {
                passphrase_log_n: 18,
                max_log_n: 20,
            },
            retention: RetentionSettings::default(),
            seal: SealSettings::default(),
        })
    }
}

/// Loads the policy and the settings of a policy directory: the rules and schema
/// through [`Policy::load`], `settings.toml`, and `retention.toml` when present (the
/// compiled-in retention otherwise). Without a directory, the compiled-in copy of the
/// repository's `policy/` is used. An error names the file and what is wrong in it.
pub fn load_policy_dir(dir: Option<&Path>) -> Result<(Policy, Settings), String> {
    let Some(dir) = dir else {
        return Ok((Policy::builtin()?, Settings::defaults()));
    };
    let policy = Policy::load(dir)?;
    let path = dir.join("settings.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut settings = Settings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let path = dir.join("retention.toml");
    if path.exists() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        settings.retention =
            RetentionSettings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok((policy, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_settings_parse() {
        let s = Settings::parse(DEFAULT_SETTINGS).unwrap();
        assert_eq!(s.session.idle_timeout_minutes, 15);
        assert_eq!(s.uploads.max_bytes, 2 << 30);
    }

    #[test]
    fn shipped_retention_parses() {
        let r = RetentionSettings::parse(DEFAULT_RETENTION).unwrap();
        assert_eq!(r.closed_case_days, 365);
        assert!(RetentionSettings::parse("closed_case_days = 0\nrun_every_minutes = 1").is_err());
        assert!(RetentionSettings::parse("closed_case_dayz = 3\nrun_every_minutes = 1").is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let bad = DEFAULT_SETTINGS.replace("step_up_minutes", "stepup_minutes");
        assert!(Settings::parse(&bad).is_err());
    }

    #[test]
    fn policy_dir_loads_and_errors_name_the_file() {
        assert!(load_policy_dir(None).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("schema.cedarschema", crate::policy::DEFAULT_SCHEMA);
        write("casevault.cedar", crate::policy::DEFAULT_POLICIES);
        write("settings.toml", DEFAULT_SETTINGS);
        let (_, s) = load_policy_dir(Some(dir.path())).unwrap();
        assert_eq!(s.retention.closed_case_days, 365);
        write(
            "retention.toml",
            "closed_case_days = 30\nrun_every_minutes = 0\n",
        );
        let (_, s) = load_policy_dir(Some(dir.path())).unwrap();
        assert_eq!(s.retention.closed_case_days, 30);
        write(
            "retention.toml",
            "closed_case_days = 0\nrun_every_minutes = 0\n",
        );
        let err = load_policy_dir(Some(dir.path())).err().unwrap();
        assert!(err.contains("retention.toml"), "{err}");
        std::fs::remove_file(dir.path().join("settings.toml")).unwrap();
        let err = load_policy_dir(Some(dir.path())).err().unwrap();
        assert!(err.contains("settings.toml"), "{err}");
    }
}
