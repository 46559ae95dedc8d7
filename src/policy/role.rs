//! The five roles, as a type. A role is parsed once, when a user row is loaded or an
//! account is requested, and travels as this enum; only here and in `policy/*.cedar`
//! are roles spelled as strings, so who may do what cannot leak into handlers as string
//! comparisons.
use std::fmt;

/// A role, as stored and as the policy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Coalition operator: creates offices and their administrators; reads no document.
    Superadmin,
    /// Office administrator: users, seal, audit, holds, purge of one office.
    Admin,
    /// Staff of one office: cases and documents of that office.
    Caseworker,
    /// Attorney at a partner organisation: only cases shared with them.
    Partner,
    /// Coalition oversight: every office's audit log, nothing else.
    Auditor,
}

impl Role {
    /// Every role, in the order the administrators' pages list them.
    pub const ALL: [Role; 5] = [
        Role::Superadmin,
        Role::Admin,
        Role::Caseworker,
        Role::Partner,
        Role::Auditor,
    ];

    /// Parses the stored (and policy) name; anything else is no role.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The stored name, which is also the policy's `principal.role`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Superadmin => "superadmin",
            Role::Admin => "admin",
            Role::Caseworker => "caseworker",
            Role::Partner => "partner",
            Role::Auditor => "auditor",
        }
    }

    /// Whether this role must sign in with TOTP. DESIGN: mandatory for every role but
    /// caseworkers, for whom the settings decide.
    pub fn totp_required(self, caseworkers_too: bool) -> bool {
        self != Role::Caseworker || caseworkers_too
    }

    /// Whether accounts of this role belong to one office.
    pub fn has_office(self) -> bool {
        matches!(self, Role::Admin | Role::Caseworker)
    }

    /// Whether accounts of this role belong to a partner organisation.
    pub fn has_org(self) -> bool {
        self == Role::Partner
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_nothing_else_parses() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for bad in ["", "Admin", "root", "admin ", "caseworkers"] {
            assert_eq!(Role::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_caseworkers_may_skip_totp() {
        for r in Role::ALL {
            assert_eq!(r.totp_required(false), r != Role::Caseworker);
            assert!(r.totp_required(true));
        }
    }
}
