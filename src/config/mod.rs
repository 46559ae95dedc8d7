//! Settings from `policy/settings.toml`: timeouts, step-up window, TOTP requirements,
//! upload limit, key-derivation work. Unknown keys are refused so a typo cannot
//! silently leave a default in force.
//!
//! [`load_policy_dir`] reads a whole policy directory (rules, schema, settings,
//! retention) or, without one, the compiled-in copy; nothing else in the program picks
//! where configuration comes from, and every error names the file at fault.

use serde::Deserialize;

mod approvals;
mod links;
mod load;
mod schedules;
pub use approvals::{
    APPROVAL_ACTIONS, ApprovalRule, ApprovalSettings, Approver, DEFAULT_APPROVALS,
};
pub use links::UploadLinkSettings;
pub use load::load_policy_dir;
pub use schedules::{BackupSettings, DEFAULT_BACKUP, DEFAULT_RETENTION, RetentionSettings};

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
    /// Limits of client upload links.
    #[serde(default)]
    pub upload_links: UploadLinkSettings,
    /// Key derivation.
    pub kdf: KdfSettings,
    /// Retention (from `retention.toml`, not `settings.toml`).
    #[serde(skip)]
    pub retention: RetentionSettings,
    /// Scheduled backups (from `backup.toml`, not `settings.toml`).
    #[serde(skip)]
    pub backup: BackupSettings,
    /// Two-person approvals (from `approvals.toml`, not `settings.toml`).
    #[serde(skip)]
    pub approvals: ApprovalSettings,
    /// Automatic sealing.
    #[serde(default)]
    pub seal: SealSettings,
    /// Limits on connections and on how long a silent client may hold one.
    #[serde(default)]
    pub connections: ConnectionSettings,
    /// Where documents' bytes are kept.
    #[serde(default)]
    pub blobs: BlobSettings,
    /// Limits on shares with partners.
    #[serde(default)]
    pub sharing: SharingSettings,
    /// How people reach the server.
    #[serde(default)]
    pub server: ServerSettings,
    /// What each role must sign in with: `totp_or_passkey` (the default) or
    /// `passkey`, by role name.
    #[serde(default)]
    pub second_factor: std::collections::BTreeMap<String, String>,
}

/// `[server]`: how people reach the server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// The address people type into their browser (`https://NAME[:PORT]`); passkeys
    /// are bound to it. Empty: `https://localhost:PORT` on a loopback address, else
    /// passkeys are off. `serve --public-url` overrides it.
    #[serde(default)]
    pub public_url: String,
}

/// `[sharing]`: how far ahead a share may run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingSettings {
    /// The latest `expires_at` a share may have, in days from now (1 to 3650).
    pub max_share_days: u32,
}

impl Default for SharingSettings {
    fn default() -> Self {
        SharingSettings {
            max_share_days: 365,
        }
    }
}

/// `[blobs]`: where documents' encrypted bytes are kept. Left out, they are in
/// `DATA/blobs`. `serve --blobs`, `--s3-endpoint` and `--s3-credentials` override it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobSettings {
    /// `s3://BUCKET/PREFIX`, or empty for the data directory.
    pub location: String,
    /// The S3 endpoint URL (path-style addressing), e.g. `http://127.0.0.1:8333`.
    pub s3_endpoint: String,
    /// A file (mode 0600) with the S3 keys; without it they come from
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub s3_credentials: Option<std::path::PathBuf>,
    /// An unreferenced object or a stalled upload in the object store is removed
    /// only once it is this old, so the sweep never touches an upload in progress.
    pub orphan_grace_seconds: u64,
    /// A failing object store request is retried this long before the client is
    /// told the store is unavailable (503).
    pub s3_retry_seconds: u64,
    /// A SeaweedFS master's URL (`http://127.0.0.1:9333`), optional: its volume
    /// servers are counted every few seconds and a lost one is logged as a degraded
    /// store (the S3 interface itself hides a lost replica).
    pub seaweedfs_master: String,
}

impl Default for BlobSettings {
    fn default() -> Self {
        BlobSettings {
            location: String::new(),
            s3_endpoint: String::new(),
            s3_credentials: None,
            orphan_grace_seconds: 3600,
            s3_retry_seconds: 20,
            seaweedfs_master: String::new(),
        }
    }
}

/// `[connections]`: what one client may hold, and for how long while sending
/// nothing. Every key may be left out (its default applies); none may be 0.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionSettings {
    /// Connections served at once in all; further ones wait in the kernel's queue.
    pub max_total: u32,
    /// Connections one client address (an IPv6 /64) may hold at once; further ones
    /// from it are closed at once. Not applied to plain HTTP, where every connection
    /// comes from the TLS-terminating proxy (which must keep per-client limits).
    pub per_address: u32,
    /// Requests one client address may have in progress at once, over all its
    /// connections and HTTP/2 streams (a download counts until its last byte is
    /// handed over); further ones answer 429 at once. Not applied to plain HTTP.
    pub requests_per_address: u32,
    /// Time for the TLS handshake.
    pub tls_handshake_seconds: u32,
    /// Time for a request's line and headers (HTTP/1.1), and the longest a kept-alive
    /// HTTP/1.1 connection waits for the next request.
    pub header_read_seconds: u32,
    /// A request body that sends nothing this long is cut off (the request fails).
    pub body_idle_seconds: u32,
    /// A connection with no request being handled and no byte moving either way this
    /// long is closed.
    pub idle_seconds: u32,
    /// HTTP/2 requests at once on one connection.
    pub h2_max_streams: u32,
    /// HTTP/2 keep-alive: a ping this often, and the connection closed when it goes
    /// unanswered as long.
    pub h2_keep_alive_seconds: u32,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            max_total: 512,
            per_address: 64,
            requests_per_address: 64,
            tls_handshake_seconds: 10,
            header_read_seconds: 10,
            body_idle_seconds: 30,
            idle_seconds: 60,
            h2_max_streams: 32,
            h2_keep_alive_seconds: 20,
        }
    }
}

impl ConnectionSettings {
    fn check(&self) -> Result<(), String> {
        let all = [
            self.max_total,
            self.per_address,
            self.requests_per_address,
            self.tls_handshake_seconds,
            self.header_read_seconds,
            self.body_idle_seconds,
            self.idle_seconds,
            self.h2_max_streams,
            self.h2_keep_alive_seconds,
        ];
        if all.contains(&0) {
            return Err("[connections] values must be at least 1".into());
        }
        if self.per_address > self.max_total {
            return Err("[connections] needs per_address <= max_total".into());
        }
        Ok(())
    }
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
    /// How long a device cookie (set at each sign-in) keeps its browser apart from the
    /// account's and the address's lock; 1 to 400 (browsers keep no cookie longer).
    #[serde(default = "default_device_days")]
    pub device_days: u32,
}

fn default_device_days() -> u32 {
    90
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

/// The settings file shipped in `policy/`, compiled in as the default.
pub const DEFAULT_SETTINGS: &str = include_str!("../../policy/settings.toml");

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
        s.connections.check()?;
        s.upload_links.check()?;
        if !(1..=400).contains(&s.login.device_days) {
            return Err("[login] device_days must be from 1 to 400".into());
        }
        if !(1..=3650).contains(&s.sharing.max_share_days) {
            return Err("[sharing] max_share_days must be from 1 to 3650".into());
        }
        for (role, need) in &s.second_factor {
            if crate::policy::Role::parse(role).is_none() {
                return Err(format!("[second_factor] {role}: no such role"));
            }
            if !matches!(need.as_str(), "totp_or_passkey" | "passkey") {
                return Err(format!(
                    "[second_factor] {role} = \"{need}\": say \"totp_or_passkey\" or \"passkey\""
                ));
            }
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
                device_days: 90,
            },
            uploads: UploadSettings { max_bytes: 2 << 30 },
            upload_links: UploadLinkSettings::default(),
            kdf: KdfSettings {
                passphrase_log_n: 18,
                max_log_n: 20,
            },
            retention: RetentionSettings::default(),
            backup: BackupSettings::default(),
            approvals: ApprovalSettings::default(),
            seal: SealSettings::default(),
            connections: ConnectionSettings::default(),
            blobs: BlobSettings::default(),
            sharing: SharingSettings::default(),
            server: ServerSettings::default(),
            second_factor: Default::default(),
        })
    }

    /// Whether accounts of `role` must sign in with a passkey (`[second_factor]`).
    pub fn passkey_required(&self, role: crate::policy::Role) -> bool {
        self.second_factor
            .get(role.as_str())
            .is_some_and(|need| need == "passkey")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_backup_file_schedules_nothing_and_bad_ones_are_refused() {
        let b = BackupSettings::parse(DEFAULT_BACKUP).unwrap();
        assert!(!b.enabled());
        assert_eq!((b.every_hours, b.keep), (24, 30));
        let bad = "target = \"/mnt/b\"\nrecipient = \"nope\"\nevery_hours = 24\nkeep = 3\n";
        assert!(
            BackupSettings::parse(bad)
                .unwrap_err()
                .contains("recipient")
        );
        let zero = "target = \"\"\nrecipient = \"\"\nevery_hours = 0\nkeep = 3\n";
        assert!(BackupSettings::parse(zero).is_err());
    }

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
    fn connection_limits_default_and_refuse_nonsense() {
        let s = Settings::parse(DEFAULT_SETTINGS).unwrap();
        assert_eq!(s.connections.per_address, 64);
        let without = DEFAULT_SETTINGS
            .split("[connections]")
            .next()
            .unwrap()
            .to_string();
        let s = Settings::parse(&without).unwrap();
        assert_eq!(s.connections.max_total, 512);
        let partial = format!("{without}[connections]\nper_address = 8\n");
        let s = Settings::parse(&partial).unwrap();
        assert_eq!(s.connections.per_address, 8);
        assert_eq!(s.connections.idle_seconds, 60);
        for bad in [
            "per_address = 0",
            "body_idle_seconds = 0",
            "per_address = 600",
            "requests_per_address = 0",
            "per_adress = 8",
        ] {
            assert!(
                Settings::parse(&format!("{without}[connections]\n{bad}\n")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn device_days_default_and_bounds() {
        assert_eq!(
            Settings::parse(DEFAULT_SETTINGS).unwrap().login.device_days,
            90
        );
        let without = DEFAULT_SETTINGS.replace("device_days = 90", "");
        assert_eq!(Settings::parse(&without).unwrap().login.device_days, 90);
        for bad in ["device_days = 0", "device_days = 401"] {
            let text = DEFAULT_SETTINGS.replace("device_days = 90", bad);
            assert!(Settings::parse(&text).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let bad = DEFAULT_SETTINGS.replace("step_up_minutes", "stepup_minutes");
        assert!(Settings::parse(&bad).is_err());
    }

    #[test]
    fn a_role_may_require_passkeys_and_nonsense_is_refused() {
        let s = Settings::parse(
            &DEFAULT_SETTINGS.replace("admin = \"totp_or_passkey\"", "admin = \"passkey\""),
        )
        .unwrap();
        assert!(s.passkey_required(crate::policy::Role::Admin));
        assert!(!s.passkey_required(crate::policy::Role::Caseworker));
        for bad in ["admin = \"fingerprint\"", "janitor = \"passkey\""] {
            let text = DEFAULT_SETTINGS.replace("admin = \"totp_or_passkey\"", bad);
            assert!(Settings::parse(&text).is_err(), "{bad}");
        }
    }
}
