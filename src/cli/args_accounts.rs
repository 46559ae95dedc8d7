//! The `office` and `user` sub-commands' arguments (split from `args.rs` by size).
use std::path::PathBuf;

use clap::Subcommand;

use super::args::Common;

#[derive(Subcommand)]
pub(crate) enum OfficeCmd {
    /// Create an office; its passphrase (or, with --office-held, its identity) is
    /// printed once.
    Add {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Short slug, e.g. bronx.
        #[arg(long)]
        slug: String,
        /// Keep only the public key on the server; unseal then takes the identity.
        #[arg(long)]
        office_held: bool,
        /// The office's time zone, an IANA name such as America/Chicago: the pages
        /// show its times in it (stored times stay UTC).
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        time_zone: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the offices: slug, time zone, legal hold and how many key holders each has.
    /// Prints no secret.
    List {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// List the office's key holders: who can unseal it, with their own passphrase,
    /// and whose invitation or key is still waiting. Prints no secret.
    Holders {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Office slug.
        #[arg(long)]
        office: String,
        #[command(flatten)]
        common: Common,
    },
    /// Make recovery shares: any THRESHOLD of SHARES printed lines unseal the office
    /// when every key holder is gone. Asks for a key holder's passphrase (or the office
    /// passphrase; CASEVAULT_PASSPHRASE for scripts). Each line is printed once: hand
    /// each to a different person, on paper. Making shares again replaces the old ones
    /// and rotates the office key. Stop the server first.
    Recovery {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Office slug.
        #[arg(long)]
        office: String,
        /// How many shares unseal the office (at least 2).
        #[arg(long)]
        threshold: u8,
        /// How many shares to make (at most 16).
        #[arg(long)]
        shares: u8,
        #[command(flatten)]
        common: Common,
    },
    /// Replace the office key: a new office identity, every case re-wrapped to it,
    /// every search index recomputed, the old key destroyed. Asks for a key holder's
    /// passphrase (or the office passphrase; CASEVAULT_PASSPHRASE for scripts). Stop
    /// the server first (the data directory is locked while it runs). Holders keep
    /// their own passphrases.
    Rotate {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Office slug.
        #[arg(long)]
        office: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub(crate) enum UserCmd {
    /// Create an account; a random password is printed once. TOTP is set up at first
    /// sign-in.
    Add {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Username.
        #[arg(long)]
        username: String,
        /// superadmin, admin, caseworker, partner or auditor.
        #[arg(long)]
        role: String,
        /// Office slug (admin, caseworker).
        #[arg(long)]
        office: Option<String>,
        /// Partner organisation.
        #[arg(long)]
        org: Option<String>,
        /// Caseworker sees every case of the office.
        #[arg(long)]
        supervisor: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Switch a disabled account back on. A caseworker then waits for a supervisor's
    /// confirmation only if the web made the change; from here it is confirmed.
    Enable {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        common: Common,
    },
    /// Reset an account's authenticator (a lost phone): its sessions, passkeys and
    /// recovery codes end; the person sets up their app again at their next sign-in.
    ResetTotp {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        common: Common,
    },
    /// Disable an account (its sessions end at once).
    Disable {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        common: Common,
    },
    /// Set a new random password (printed once) and end the user's sessions.
    ResetPassword {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        common: Common,
    },
    /// List accounts.
    List {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}
