//! Loading `policy/` and deciding. Every route makes one call to [`Policy::decide`];
//! nothing else in the program says who may do what.
//!
//! Invariant: the policy set is validated against the schema (strict mode) before the
//! server starts; an invalid file stops start-up with the file name and line.
mod memo;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use miette::Diagnostic;

mod role;
pub use role::Role;

/// The shipped schema.
pub const DEFAULT_SCHEMA: &str = include_str!("../../policy/schema.cedarschema");
/// The shipped policies.
pub const DEFAULT_POLICIES: &str = include_str!("../../policy/casevault.cedar");
const SCHEMA_FILE: &str = "schema.cedarschema";
const POLICY_FILE: &str = "casevault.cedar";

/// The actions of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// The variants are the schema's actions one to one; `name()` gives each its schema name.
#[allow(missing_docs)]
pub enum Action {
    CreateCase,
    ListCases,
    ListOffices,
    ReadCase,
    UploadDocument,
    ShareCase,
    HoldCase,
    PurgeCase,
    AssignCase,
    SealOffice,
    UnsealOffice,
    HoldOffice,
    PurgeOffice,
    ManageUsers,
    ReadOfficeAudit,
    RunRetention,
    SealAll,
    CreateOffice,
    ReadAllAudit,
    CloseCase,
    ListOfficeCases,
    ConfirmAccess,
    EditCase,
    ReadVersions,
    AddNote,
    AddEvent,
    ReadNotes,
    ReadEvents,
    RenameDocument,
    PurgeDocument,
    ListUpcoming,
    ListHolders,
    ManageHolders,
    HoldOfficeKey,
    SetOfficeTimeZone,
    MakeUploadLink,
}

impl Action {
    /// The action's name in the schema (and in the audit log).
    pub fn name(self) -> &'static str {
        match self {
            Action::CreateCase => "create_case",
            Action::ListCases => "list_cases",
            Action::ListOffices => "list_offices",
            Action::ReadCase => "read_case",
            Action::UploadDocument => "upload_document",
            Action::ShareCase => "share_case",
            Action::HoldCase => "hold_case",
            Action::PurgeCase => "purge_case",
            Action::AssignCase => "assign_case",
            Action::SealOffice => "seal_office",
            Action::UnsealOffice => "unseal_office",
            Action::HoldOffice => "hold_office",
            Action::PurgeOffice => "purge_office",
            Action::ManageUsers => "manage_users",
            Action::ReadOfficeAudit => "read_office_audit",
            Action::RunRetention => "run_retention",
            Action::SealAll => "seal_all",
            Action::CreateOffice => "create_office",
            Action::ReadAllAudit => "read_all_audit",
            Action::CloseCase => "close_case",
            Action::ListOfficeCases => "list_office_cases",
            Action::ConfirmAccess => "confirm_access",
            Action::EditCase => "edit_case",
            Action::ReadVersions => "read_versions",
            Action::AddNote => "add_note",
            Action::AddEvent => "add_event",
            Action::ReadNotes => "read_notes",
            Action::ReadEvents => "read_events",
            Action::RenameDocument => "rename_document",
            Action::PurgeDocument => "purge_document",
            Action::ListUpcoming => "list_upcoming",
            Action::ListHolders => "list_holders",
            Action::ManageHolders => "manage_holders",
            Action::HoldOfficeKey => "hold_office_key",
            Action::SetOfficeTimeZone => "set_office_time_zone",
            Action::MakeUploadLink => "make_upload_link",
        }
    }
}

/// Who asks.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Office slug or "".
    pub office: String,
    /// Supervisor flag.
    pub supervisor: bool,
    /// TOTP enrolled and confirmed.
    pub second_factor: bool,
    /// Not waiting for confirmation of its power to read (policy rule 16).
    pub access_confirmed: bool,
}

/// What a case looks like to the policy.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    /// Case id.
    pub id: String,
    /// Office slug.
    pub office: String,
    /// Creator id.
    pub creator: String,
    /// Assigned user ids.
    pub assignees: Vec<String>,
    /// Partners with a live share.
    pub readers: Vec<String>,
    /// Partners with a live upload share.
    pub uploaders: Vec<String>,
    /// Partners with a live share that includes notes and events.
    pub note_readers: Vec<String>,
}

/// What is acted on.
#[derive(Debug, Clone)]
pub enum Resource<'a> {
    /// The vault as a whole.
    System,
    /// An office.
    Office(&'a str),
    /// A case.
    Case(&'a CaseFacts),
}

/// The request's context.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// A second factor was proved within the step-up window.
    pub fresh: bool,
    /// For user management: the role of the account being made or changed.
    pub target_role: Option<Role>,
    /// The office passphrase was given and opened the office.
    pub passphrase_proved: bool,
    /// User management that gives an account that can read a way in (rule 19).
    pub grants_access: bool,
    /// Purging one document: whether the asker uploaded it, and its age in minutes
    /// (rule 22).
    pub document: Option<DocFacts>,
}

/// What a document purge is decided on besides the case (rule 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocFacts {
    /// The asker uploaded the document.
    pub uploaded_by_principal: bool,
    /// Whole minutes since the upload (0 for one from the future).
    pub age_minutes: i64,
}

/// Loaded, validated policy.
pub struct Policy {
    set: PolicySet,
    schema: Schema,
    authorizer: Authorizer,
    memo: memo::Memo,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|t| t.matches('\n').count() + 1)
        .unwrap_or(1)
}

fn describe(file: &str, text: &str, d: &dyn Diagnostic, msg: String) -> String {
    let line = d
        .labels()
        .and_then(|mut l| l.next())
        .map(|l| line_of(text, l.offset()));
    match line {
        Some(line) => format!("{file}:{line}: {msg}"),
        None => format!("{file}: {msg}"),
    }
}

impl Policy {
    /// The policy shipped in the binary.
    pub fn builtin() -> Result<Self, String> {
        Self::from_texts(DEFAULT_SCHEMA, DEFAULT_POLICIES, "policy")
    }

    /// Loads and validates `DIR/schema.cedarschema` and `DIR/casevault.cedar`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))
        };
        Self::from_texts(
            &read(SCHEMA_FILE)?,
            &read(POLICY_FILE)?,
            &dir.display().to_string(),
        )
    }

    /// Parses and validates a schema and a policy text.
    pub fn from_texts(schema_text: &str, policy_text: &str, dir: &str) -> Result<Self, String> {
        let schema_file = format!("{dir}/{SCHEMA_FILE}");
        let policy_file = format!("{dir}/{POLICY_FILE}");
        let (schema, _warnings) = Schema::from_cedarschema_str(schema_text)
            .map_err(|e| describe(&schema_file, schema_text, &e, e.to_string()))?;
        let set = PolicySet::from_str(policy_text).map_err(|e| {
            let msg = e
                .iter()
                .next()
                .map(|d| d.to_string())
                .unwrap_or_else(|| e.to_string());
            describe(&policy_file, policy_text, &e, msg)
        })?;
        let validator = Validator::new(schema.clone());
        let result = validator.validate(&set, ValidationMode::Strict);
        if let Some(err) = result.validation_errors().next() {
            // Cedar names policies by position (`policy11`); add the rule's own @id.
            let mut msg = err.to_string();
            for p in set.policies() {
                let pid = format!("`{}`", p.id());
                if let Some(name) = p.annotation("id")
                    && msg.contains(&pid)
                {
                    msg = msg.replace(&pid, &format!("{pid} (@id(\"{name}\"))"));
                    break;
                }
            }
            return Err(describe(&policy_file, policy_text, err, msg));
        }
        Ok(Policy {
            set,
            schema,
            authorizer: Authorizer::new(),
            memo: memo::Memo::default(),
        })
    }

    /// The one decision: may `principal` do `action` to `resource`? Anything that
    /// cannot be evaluated (a malformed entity) is a deny.
    pub fn decide(&self, p: &Principal, action: Action, r: &Resource<'_>, ctx: &Ctx) -> bool {
        let key = memo::key(p, action, r, ctx);
        if let Some(allow) = self.memo.get(&key) {
            return allow;
        }
        let allow = self.try_decide(p, action, r, ctx).unwrap_or(false);
        self.memo.put(key, allow);
        allow
    }

    fn try_decide(
        &self,
        p: &Principal,
        action: Action,
        r: &Resource<'_>,
        ctx: &Ctx,
    ) -> Option<bool> {
        let principal = uid("User", &p.id)?;
        let action_uid = uid("Action", action.name())?;
        let mut entities = Vec::new();
        let mut parents = HashSet::new();
        if !p.office.is_empty() {
            parents.insert(uid("Office", &p.office)?);
            entities.push(Entity::new_no_attrs(
                uid("Office", &p.office)?,
                HashSet::new(),
            ));
        }
        let attrs = HashMap::from([
            (
                "role".to_string(),
                RestrictedExpression::new_string(p.role.as_str().to_string()),
            ),
            (
                "office".to_string(),
                RestrictedExpression::new_string(p.office.clone()),
            ),
            (
                "supervisor".to_string(),
                RestrictedExpression::new_bool(p.supervisor),
            ),
            (
                "second_factor".to_string(),
                RestrictedExpression::new_bool(p.second_factor),
            ),
            (
                "access_confirmed".to_string(),
                RestrictedExpression::new_bool(p.access_confirmed),
            ),
        ]);
        entities.push(Entity::new(principal.clone(), attrs, parents).ok()?);
        let resource = match r {
            Resource::System => {
                let u = uid("System", "vault")?;
                entities.push(Entity::new_no_attrs(u.clone(), HashSet::new()));
                u
            }
            Resource::Office(slug) => {
                let u = uid("Office", slug)?;
                if *slug != p.office {
                    entities.push(Entity::new_no_attrs(u.clone(), HashSet::new()));
                }
                u
            }
            Resource::Case(c) => {
                let u = uid("Case", &c.id)?;
                let users = |ids: &[String]| -> Option<RestrictedExpression> {
                    let v: Option<Vec<_>> = ids
                        .iter()
                        .map(|id| uid("User", id).map(RestrictedExpression::new_entity_uid))
                        .collect();
                    Some(RestrictedExpression::new_set(v?))
                };
                let attrs = HashMap::from([
                    (
                        "office".to_string(),
                        RestrictedExpression::new_string(c.office.clone()),
                    ),
                    (
                        "creator".to_string(),
                        RestrictedExpression::new_entity_uid(uid("User", &c.creator)?),
                    ),
                    ("assignees".to_string(), users(&c.assignees)?),
                    ("readers".to_string(), users(&c.readers)?),
                    ("uploaders".to_string(), users(&c.uploaders)?),
                    ("note_readers".to_string(), users(&c.note_readers)?),
                ]);
                let office = uid("Office", &c.office)?;
                if c.office != p.office {
                    entities.push(Entity::new_no_attrs(office.clone(), HashSet::new()));
                }
                entities.push(Entity::new(u.clone(), attrs, HashSet::from([office])).ok()?);
                u
            }
        };
        let mut pairs = vec![(
            "fresh_second_factor".to_string(),
            RestrictedExpression::new_bool(ctx.fresh),
        )];
        if let Some(role) = &ctx.target_role {
            pairs.push((
                "target_role".to_string(),
                RestrictedExpression::new_string(role.as_str().to_string()),
            ));
        }
        if ctx.grants_access {
            pairs.push((
                "grants_access".to_string(),
                RestrictedExpression::new_bool(true),
            ));
        }
        if ctx.passphrase_proved {
            pairs.push((
                "passphrase_proved".to_string(),
                RestrictedExpression::new_bool(true),
            ));
        }
        if let Some(d) = ctx.document {
            pairs.push((
                "uploaded_by_principal".to_string(),
                RestrictedExpression::new_bool(d.uploaded_by_principal),
            ));
            pairs.push((
                "document_age_minutes".to_string(),
                RestrictedExpression::new_long(d.age_minutes.max(0)),
            ));
        }
        let context = Context::from_pairs(pairs).ok()?;
        let request =
            Request::new(principal, action_uid, resource, context, Some(&self.schema)).ok()?;
        let entities = Entities::from_entities(entities, None).ok()?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.set, &entities);
        Some(response.decision() == Decision::Allow)
    }
}

/// The schema's entity types, parsed once: Cedar parses a type name with its full
/// grammar, which cost more than the decision itself when done per call.
const KINDS: [&str; 5] = ["User", "Action", "Office", "System", "Case"];

fn kind_name(kind: &str) -> Option<EntityTypeName> {
    static PARSED: std::sync::OnceLock<Vec<Option<EntityTypeName>>> = std::sync::OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        KINDS
            .iter()
            .map(|k| EntityTypeName::from_str(&format!("CaseVault::{k}")).ok())
            .collect()
    });
    let i = KINDS.iter().position(|k| *k == kind)?;
    parsed.get(i)?.clone()
}

fn uid(kind: &str, id: &str) -> Option<EntityUid> {
    let ty = kind_name(kind)?;
    Some(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_policy_validates() {
        Policy::builtin().unwrap();
    }

    #[test]
    fn invalid_policy_names_file_and_line() {
        let bad = DEFAULT_POLICIES.replace(
            "principal.role == \"auditor\"",
            "principal.rank == \"auditor\"",
        );
        let err = Policy::from_texts(DEFAULT_SCHEMA, &bad, "policy")
            .err()
            .unwrap();
        let line = bad
            .lines()
            .position(|l| l.contains("principal.rank"))
            .unwrap()
            + 1;
        assert!(
            err.starts_with(&format!("policy/casevault.cedar:{line}:")),
            "{err}"
        );
        assert!(err.contains("@id(\"11-auditor\")"), "{err}");

        let syntax = DEFAULT_POLICIES.replacen("permit (", "permit ((", 1);
        let err = Policy::from_texts(DEFAULT_SCHEMA, &syntax, "policy")
            .err()
            .unwrap();
        assert!(err.starts_with("policy/casevault.cedar:"), "{err}");
    }
}
