//! The demo: a vault with two offices and one user of each role, random credentials
//! written to a JSON file (mode 0600), offices unsealed, served over HTTPS with a
//! self-signed certificate.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::auth::TotpSecret;
use crate::crypto::generate_passphrase;
use crate::policy::Role;
use crate::vault::{NewUser, OfficeMode, Vault, VaultError, operator};

/// One demo user's credentials.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct UserCredentials {
    /// Password.
    pub password: String,
    /// Base32 TOTP secret (`oathtool --totp -b SECRET`).
    pub totp_secret: String,
    /// Role.
    pub role: String,
    /// Office slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// User id.
    pub id: String,
}

/// An office's passphrase.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct OfficeSecret {
    /// The passphrase.
    pub passphrase: String,
}

/// The credentials file (its parts wipe themselves on drop).
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// Base URL.
    pub url: String,
    /// Path of the self-signed certificate to trust.
    pub ca_cert: String,
    /// Users by name.
    pub users: BTreeMap<String, UserCredentials>,
    /// Offices by slug.
    pub offices: BTreeMap<String, OfficeSecret>,
}

/// (username, role, office, organisation, supervisor)
type DemoUser = (
    &'static str,
    Role,
    Option<&'static str>,
    Option<&'static str>,
    bool,
);

const USERS: &[DemoUser] = &[
    ("root", Role::Superadmin, None, None, false),
    // The demo's office administrator is called by the role's name (CONTRACT.md).
    (
        Role::Admin.as_str(),
        Role::Admin,
        Some("bronx"),
        None,
        false,
    ),
    ("alice", Role::Caseworker, Some("bronx"), None, true),
    ("bob", Role::Caseworker, Some("queens"), None, false),
    ("pat", Role::Partner, None, Some("nyifup"), false),
    ("audrey", Role::Auditor, None, None, false),
];

/// Creates the demo offices and users in an empty vault (offices end unsealed).
pub async fn populate(vault: &std::sync::Arc<Vault>) -> Result<Credentials, VaultError> {
    let op = operator::actor();
    let mut offices = BTreeMap::new();
    for slug in ["bronx", "queens"] {
        let creds = vault
            .create_office(&op, slug, OfficeMode::Passphrase, None)
            .await?;
        let pass = creds
            .passphrase
            .as_ref()
            .map(|p| p.expose_secret().to_string())
            .unwrap_or_default();
        operator::unseal(vault, slug, SecretString::from(pass.clone())).await?;
        offices.insert(slug.to_string(), OfficeSecret { passphrase: pass });
    }
    let mut users = BTreeMap::new();
    for (name, role, office, org, supervisor) in USERS {
        let password = Zeroizing::new(generate_passphrase().expose_secret().to_string());
        let u = vault
            .create_user(
                &op,
                NewUser {
                    username: name.to_string(),
                    role: role.to_string(),
                    office: office.map(str::to_string),
                    org: org.map(str::to_string),
                    supervisor: *supervisor,
                    password: password.clone(),
                },
                crate::vault::StepUp::none(),
            )
            .await?;
        let secret = TotpSecret::generate();
        operator::set_totp_secret(vault, &u.id, &secret)?;
        users.insert(
            name.to_string(),
            UserCredentials {
                password: password.to_string(),
                totp_secret: secret.to_base32().to_string(),
                role: role.to_string(),
                office: office.map(str::to_string),
                id: u.id.clone(),
            },
        );
    }
    Ok(Credentials {
        url: String::new(),
        ca_cert: String::new(),
        users,
        offices,
    })
}

/// Writes the credentials file (mode 0600).
pub fn write_credentials(path: &Path, c: &Credentials) -> Result<(), String> {
    let json = Zeroizing::new(serde_json::to_vec_pretty(c).map_err(|e| e.to_string())?);
    crate::vault::write_private_file(path, &json)
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Reads a credentials file.
pub fn read_credentials(path: &Path) -> Result<Credentials, String> {
    let bytes = Zeroizing::new(
        std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?,
    );
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The file in a demo's data directory that names where its credentials were last
/// written (a path, no secret), so that a run given another `--credentials-out`
/// still finds them.
const CREDENTIALS_PATH_FILE: &str = "credentials.path";

/// Records that the credentials of the demo vault in `data` are at `path`.
pub fn record_credentials_path(data: &Path, path: &Path) -> Result<(), String> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let text = path
        .to_str()
        .ok_or_else(|| format!("{}: not valid UTF-8", path.display()))?;
    let record = data.join(CREDENTIALS_PATH_FILE);
    std::fs::write(&record, format!("{text}\n"))
        .map_err(|e| format!("writing {}: {e}", record.display()))
}

/// Where the credentials of the existing demo vault in `data` may be, in the order
/// to try: the file asked for, the one last recorded, the default. Only files that
/// exist, each once.
pub fn credentials_candidates(data: &Path, requested: &Path) -> Vec<PathBuf> {
    let recorded = std::fs::read_to_string(data.join(CREDENTIALS_PATH_FILE))
        .ok()
        .map(|t| PathBuf::from(t.trim_end_matches('\n')));
    let mut found: Vec<PathBuf> = Vec::new();
    for p in [
        Some(requested.to_path_buf()),
        recorded,
        Some(data.join("credentials.json")),
    ]
    .into_iter()
    .flatten()
    {
        let same = |q: &PathBuf| {
            q == &p || std::fs::canonicalize(q).ok() == std::fs::canonicalize(&p).ok()
        };
        if p.is_file() && !found.iter().any(same) {
            found.push(p);
        }
    }
    found
}

/// The demo's default data directory.
pub fn default_dir() -> PathBuf {
    PathBuf::from("demo-vault")
}
