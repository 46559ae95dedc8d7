//! Reading a policy directory: the rules and schema, `settings.toml`, and the optional
//! files (`retention.toml`, `backup.toml`, `approvals.toml`) over their compiled-in
//! defaults.
//!
//! Invariant: a file that is present but invalid refuses the whole directory, and the
//! error names the file.
use std::path::Path;

use super::{ApprovalSettings, BackupSettings, RetentionSettings, Settings};
use crate::policy::Policy;

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
    let path = dir.join("backup.toml");
    if path.exists() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        settings.backup =
            BackupSettings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let path = dir.join("approvals.toml");
    if path.exists() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        settings.approvals =
            ApprovalSettings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok((policy, settings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_SETTINGS;

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
        std::fs::remove_file(dir.path().join("retention.toml")).unwrap();
        write(
            "approvals.toml",
            "[actions.purge_office]\napprovals = 0\napprovers = [\"superadmin\"]\n",
        );
        let err = load_policy_dir(Some(dir.path())).err().unwrap();
        assert!(err.contains("approvals.toml"), "{err}");
        std::fs::remove_file(dir.path().join("approvals.toml")).unwrap();
        std::fs::remove_file(dir.path().join("settings.toml")).unwrap();
        let err = load_policy_dir(Some(dir.path())).err().unwrap();
        assert!(err.contains("settings.toml"), "{err}");
    }
}
