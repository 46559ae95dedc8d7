//! `policy/approvals.toml`: which irreversible actions wait for a second person.
//!
//! Invariant: a file that would let a listed action through unapproved (an approval
//! count of 0, no approver, an approver relation or action name this build does not
//! know) is refused, so the server and the command line refuse to start with it.
use std::collections::BTreeMap;

use serde::Deserialize;

/// The approvals file shipped in `policy/`, compiled in as the default.
pub const DEFAULT_APPROVALS: &str = include_str!("../../policy/approvals.toml");

/// Actions that may be made to wait.
pub const APPROVAL_ACTIONS: &[&str] = &["purge_office", "lift_hold"];

/// Who may approve a request, as a relation to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approver {
    /// Another admin of the request's office.
    OfficeAdmin,
    /// The superadmin.
    Superadmin,
}

impl Approver {
    fn parse(s: &str) -> Option<Self> {
        if s == "office_admin" {
            Some(Approver::OfficeAdmin)
        } else if s == crate::policy::Role::Superadmin.as_str() {
            Some(Approver::Superadmin)
        } else {
            None
        }
    }
}

/// The rule of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRule {
    /// Approvals needed besides the requester (at least 1).
    pub approvals: u32,
    /// Who may give them.
    pub approvers: Vec<Approver>,
}

/// The parsed file.
#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    /// Hours before an unanswered request expires.
    pub expiry_hours: u32,
    rules: BTreeMap<String, ApprovalRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    expiry_hours: Option<u32>,
    #[serde(default)]
    actions: BTreeMap<String, RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    approvals: u32,
    approvers: Option<Vec<String>>,
}

/// The most approvers one request may ask for.
const MAX_APPROVALS: u32 = 10;

impl ApprovalSettings {
    /// Parses and validates an approvals file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let expiry_hours = raw.expiry_hours.unwrap_or(24);
        if !(1..=24 * 30).contains(&expiry_hours) {
            return Err("expiry_hours must be between 1 and 720".into());
        }
        let mut rules = BTreeMap::new();
        for (name, r) in raw.actions {
            if !APPROVAL_ACTIONS.contains(&name.as_str()) {
                return Err(format!(
                    "unknown action `{name}` (known: {})",
                    APPROVAL_ACTIONS.join(", ")
                ));
            }
            if r.approvals == 0 {
                return Err(format!(
                    "actions.{name}: approvals = 0 would let the action through unapproved; \
                     give at least 1 (or remove the action from the file)"
                ));
            }
            if r.approvals > MAX_APPROVALS {
                return Err(format!("actions.{name}: at most {MAX_APPROVALS} approvals"));
            }
            let names = r.approvers.unwrap_or_default();
            if names.is_empty() {
                return Err(format!(
                    "actions.{name}: approvers is missing or empty (office_admin, superadmin)"
                ));
            }
            let mut approvers = Vec::new();
            for a in &names {
                let Some(a) = Approver::parse(a) else {
                    return Err(format!(
                        "actions.{name}: unknown approver `{a}` (known: office_admin, superadmin)"
                    ));
                };
                approvers.push(a);
            }
            rules.insert(
                name,
                ApprovalRule {
                    approvals: r.approvals,
                    approvers,
                },
            );
        }
        Ok(ApprovalSettings {
            expiry_hours,
            rules,
        })
    }

    /// The rule for an action, when it waits for approval.
    pub fn rule(&self, action: &str) -> Option<&ApprovalRule> {
        self.rules.get(action)
    }
}

impl Default for ApprovalSettings {
    /// The compiled-in file (tested to parse); the hard-coded copy only keeps this
    /// from panicking and is as strict as the file.
    fn default() -> Self {
        Self::parse(DEFAULT_APPROVALS).unwrap_or_else(|_| {
            let rule = |approvers: Vec<Approver>| ApprovalRule {
                approvals: 1,
                approvers,
            };
            let mut rules = BTreeMap::new();
            rules.insert(
                "purge_office".into(),
                rule(vec![Approver::OfficeAdmin, Approver::Superadmin]),
            );
            ApprovalSettings {
                expiry_hours: 24,
                rules,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_parses_with_office_purge_waiting() {
        let a = ApprovalSettings::parse(DEFAULT_APPROVALS).unwrap();
        assert_eq!(a.expiry_hours, 24);
        let p = a.rule("purge_office").unwrap();
        assert_eq!(p.approvals, 1);
        assert_eq!(
            p.approvers,
            vec![Approver::OfficeAdmin, Approver::Superadmin]
        );
        assert!(a.rule("purge_case").is_none());
        assert!(a.rule("lift_hold").is_none(), "not on by default yet");
        let on = DEFAULT_APPROVALS
            .replace("# [actions.lift_hold]", "[actions.lift_hold]")
            .replace("# approvals = 1", "approvals = 1")
            .replace("# approvers = [", "approvers = [");
        let on = ApprovalSettings::parse(&on).unwrap();
        assert_eq!(
            on.rule("lift_hold").unwrap().approvers,
            vec![Approver::OfficeAdmin]
        );
    }

    #[test]
    fn zero_approvals_unknown_action_or_missing_approver_is_refused() {
        let zero = DEFAULT_APPROVALS.replacen("approvals = 1", "approvals = 0", 1);
        let err = ApprovalSettings::parse(&zero).unwrap_err();
        assert!(err.contains("approvals = 0"), "{err}");
        let unknown = format!(
            "{DEFAULT_APPROVALS}\n[actions.purge_everything]\napprovals = 1\napprovers = [\"superadmin\"]\n"
        );
        assert!(
            ApprovalSettings::parse(&unknown)
                .unwrap_err()
                .contains("purge_everything")
        );
        let none = "[actions.purge_office]\napprovals = 1\n";
        assert!(
            ApprovalSettings::parse(none)
                .unwrap_err()
                .contains("approvers")
        );
        let empty = "[actions.purge_office]\napprovals = 1\napprovers = []\n";
        assert!(ApprovalSettings::parse(empty).is_err());
        let bad = "[actions.purge_office]\napprovals = 1\napprovers = [\"janitor\"]\n";
        assert!(
            ApprovalSettings::parse(bad)
                .unwrap_err()
                .contains("janitor")
        );
        let neg = "[actions.purge_office]\napprovals = -1\napprovers = [\"superadmin\"]\n";
        assert!(ApprovalSettings::parse(neg).is_err());
        assert!(ApprovalSettings::parse("expiry_hours = 0\n").is_err());
        assert!(ApprovalSettings::parse("expiry_hourz = 3\n").is_err());
        // A file with every known action, valid, is accepted.
        assert!(
            ApprovalSettings::parse(
                "[actions.purge_office]\napprovals = 2\napprovers = [\"superadmin\"]\n"
            )
            .is_ok()
        );
    }
}
