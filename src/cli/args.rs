//! Every clap definition of the `casevault` command line, and so every help text:
//! the commands, their flags and the getting-started note. Nothing here acts; the
//! handlers are in the sibling modules.
//!
//! Invariant: no flag takes a passphrase, password or code — they come from a file,
//! the environment or the terminal — so none ends up in shell history or `ps`.
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) use super::args_accounts::{OfficeCmd, UserCmd};

const GETTING_STARTED: &str = "Getting started:
  casevault demo                         try it at https://localhost:8443/ (passwords and
                                         codes in demo-vault/credentials.json)
  casevault init --data /srv/casevault   a real vault; prints the superadmin's password once
  casevault office add --data /srv/casevault --slug bronx
                                         an office; prints its passphrase once
  casevault serve --data /srv/casevault --listen 0.0.0.0:443 \\
      --tls-cert cert.pem --tls-key key.pem

Under `serve` every office starts sealed, after every restart too: an office administrator
unseals it with the office passphrase (Office page). README.md explains running it as a
service (contrib/casevault.service). `casevault COMMAND --help` explains each command.";

/// casevault — an encrypted case vault for legal-services offices.
///
/// Client files are encrypted with keys the office holds; every access is decided by
/// the policy in policy/ and written to a tamper-evident audit log.
#[derive(Parser)]
#[command(
    name = "casevault",
    version,
    about,
    long_about,
    propagate_version = true,
    after_help = GETTING_STARTED,
    after_long_help = GETTING_STARTED
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Try casevault: a demo vault with two offices and one user of each role, over HTTPS.
    ///
    /// Creates the demo vault in DIR if absent (passwords, TOTP secrets and office
    /// passphrases go to DIR/credentials.json, mode 0600), unseals its offices and serves
    /// it with a self-signed certificate (DIR/tls-cert.pem). Run again, it serves the same
    /// vault; with a new --credentials-out it copies the credentials there.
    Demo {
        /// Data directory (created if absent).
        #[arg(long, default_value = "demo-vault", value_name = "DIR")]
        data: PathBuf,
        /// Address and port to listen on: 127.0.0.1:8443 is this machine only,
        /// 0.0.0.0:8443 every network interface.
        #[arg(long, default_value = "127.0.0.1:8443", value_parser = listen_addr, value_name = "ADDR:PORT")]
        listen: SocketAddr,
        /// Where to write the credentials JSON (default DIR/credentials.json).
        #[arg(long, value_name = "FILE")]
        credentials_out: Option<PathBuf>,
        /// The address people type into their browser, https://NAME[:PORT]. Passkeys
        /// are bound to it (browsers refuse them on an IP address). Default: settings'
        /// [server] public_url, else https://localhost:PORT when listening on a
        /// loopback address.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        #[command(flatten)]
        blobs: BlobArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Create a new, empty vault and its first superadmin (credentials printed once).
    Init {
        /// Data directory (must not hold a vault yet).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The superadmin's username.
        #[arg(long, default_value = "root")]
        superadmin: String,
        #[command(flatten)]
        blobs: BlobArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Serve an existing vault. Every office starts sealed.
    Serve {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Address and port to listen on: 127.0.0.1:8443 is this machine only,
        /// 0.0.0.0:8443 every network interface.
        #[arg(long, default_value = "127.0.0.1:8443", value_parser = listen_addr, value_name = "ADDR:PORT")]
        listen: SocketAddr,
        /// TLS certificate chain (PEM). Without --tls-cert/--tls-key a self-signed
        /// certificate for localhost is made in the data directory.
        #[arg(long, requires = "tls_key", value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, requires = "tls_cert", value_name = "FILE")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP (only behind a TLS-terminating proxy on the same host).
        #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
        insecure_plain_http: bool,
        /// The address people type into their browser, https://NAME[:PORT]. Passkeys
        /// are bound to it (browsers refuse them on an IP address). Default: settings'
        /// [server] public_url, else https://localhost:PORT when listening on a
        /// loopback address; otherwise passkeys are off.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        #[command(flatten)]
        blobs: BlobArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Manage offices.
    #[command(subcommand)]
    Office(OfficeCmd),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Check and read the audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Destroy a case, one document or a whole office for good (crypto-shredding).
    ///
    /// Its keys are deleted, so its ciphertext (and any earlier backup of it) can never
    /// be decrypted again. Refused while a legal hold covers it. Irreversible.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["case", "document", "office"])))]
    Purge {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Case id.
        #[arg(long)]
        case: Option<String>,
        /// Document id.
        #[arg(long)]
        document: Option<String>,
        /// Office slug: every case, document and user of the office.
        #[arg(long)]
        office: Option<String>,
        /// Do not ask for confirmation (scripts). Without it you must type the case id,
        /// document id or office slug again at a terminal.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Place (or with --lift, lift) a legal hold on a case or a whole office. While
    /// held, nothing of it can be purged, by hand or by retention.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["case", "office"])))]
    Hold {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Case id.
        #[arg(long)]
        case: Option<String>,
        /// Office slug.
        #[arg(long)]
        office: Option<String>,
        /// Lift the hold instead of placing it.
        #[arg(long)]
        lift: bool,
        /// Why (stored encrypted to the case or office; never printed or logged).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Routine deletion of closed cases (policy/retention.toml).
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Panic seal: wipe the office keys from a running server's memory.
    ///
    /// Signs in (password and TOTP code from CASEVAULT_PASSWORD / CASEVAULT_TOTP or asked
    /// on the terminal) and wipes every office key you administer (all, for a
    /// superadmin) from the server's memory; nothing can be read until an administrator
    /// unseals again.
    SealAll {
        /// The server, e.g. https://127.0.0.1:8443
        #[arg(long)]
        url: String,
        /// Your username (an office admin or the superadmin).
        #[arg(long)]
        username: String,
        /// CA certificate (PEM) to trust, e.g. the demo's DATA/tls-cert.pem; default:
        /// the system's roots.
        #[arg(long, value_name = "FILE")]
        ca_cert: Option<PathBuf>,
    },
    /// Encrypted backups that honour purge: make, list, check and prune them.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Rebuild a vault from a backup into a new, empty directory.
    ///
    /// `serve` then opens it sealed; it unseals with the same office passphrases. Cases,
    /// documents and offices purged after the backup was made are left out (their keys
    /// are gone from the shred ledger). Give the old vault's auth key with --auth-key to
    /// keep everyone's authenticator; without it every account enrols again. Exit
    /// status: 0 restored, 1 not restored (nothing is left in DIR).
    Restore {
        /// The backup target: a directory or s3://BUCKET/PREFIX (with --s3-endpoint).
        #[arg(long, value_name = "TARGET")]
        from: PathBuf,
        /// The backup identity file (age-keygen's output) whose recipient the backups
        /// were made for.
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// Which backup (an id from `backup list`); default: the newest.
        #[arg(long, value_name = "ID")]
        backup: Option<String>,
        /// The new data directory (must be absent or empty).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// No progress output.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        s3: S3TargetArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Export a case's documents, encrypted to someone outside, as standard .age files.
    ///
    /// Writes each document as OUT/<filename>.age (`age -d -i KEY FILE` reads them),
    /// plus case.json.age with the case's metadata.
    Export {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Case id.
        #[arg(long)]
        case: String,
        /// age recipient (age1…) to encrypt the exported files to.
        #[arg(long)]
        to: String,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// File holding the office passphrase (or identity); without it you are asked.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

/// Where documents' encrypted bytes go (recorded in the data directory on first use).
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Document storage")]
pub(crate) struct BlobArgs {
    /// Keep documents in an S3-compatible object store, s3://BUCKET/PREFIX (one prefix
    /// per vault), instead of DATA/blobs. Recorded on first use, so later commands
    /// find it without the flag. Credentials come from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY or --s3-credentials, never from the command line; the
    /// region from AWS_REGION (default us-east-1).
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub(crate) blobs: Option<String>,
    /// The object store's URL, e.g. http://127.0.0.1:8333 (path-style addressing).
    #[arg(long, value_name = "URL")]
    pub(crate) s3_endpoint: Option<String>,
    /// A file, mode 0600, holding AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=…
    /// lines (its path is recorded; the keys are not).
    #[arg(long, value_name = "FILE")]
    pub(crate) s3_credentials: Option<PathBuf>,
}

/// How to reach a backup target in an S3 bucket.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "S3 target")]
pub(crate) struct S3TargetArgs {
    /// The object store's URL for an s3:// target (path-style addressing). Keys come
    /// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or --s3-credentials; the
    /// region from AWS_REGION (default us-east-1). A bucket with versioning on is
    /// refused: it would keep every old shred ledger.
    #[arg(long, value_name = "URL")]
    pub(crate) s3_endpoint: Option<String>,
    /// A file, mode 0600, holding AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=…
    #[arg(long, value_name = "FILE")]
    pub(crate) s3_credentials: Option<PathBuf>,
}

impl S3TargetArgs {
    /// As the library's access settings.
    pub(crate) fn access(&self) -> casevault::backup::target::S3Access {
        casevault::backup::target::S3Access {
            endpoint: self.s3_endpoint.clone(),
            credentials: self.s3_credentials.clone(),
        }
    }
}

/// The policy and the auth key, which every command that opens a vault takes. Its
/// own heading: flattened after `BlobArgs` or `S3TargetArgs`, it would otherwise be
/// listed under theirs.
#[derive(Args, Clone)]
#[command(next_help_heading = "Policy and keys")]
pub(crate) struct Common {
    /// Policy directory (schema.cedarschema, casevault.cedar, settings.toml); the
    /// built-in copy of the repository's policy/ is used when absent.
    #[arg(long, env = "CASEVAULT_POLICY", value_name = "DIR")]
    pub(crate) policy: Option<PathBuf>,
    /// Where the server auth key lives (default DATA/auth.key). Keeping it outside
    /// the data directory means a copied data directory yields no TOTP secrets.
    #[arg(long, env = "CASEVAULT_AUTH_KEY", value_name = "FILE")]
    pub(crate) auth_key: Option<PathBuf>,
}

/// `--listen`: an address and a port. A bare port (`8443`) is the usual slip; the
/// message shows the form rather than clap's "invalid socket address syntax".
fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| "give an address and a port, e.g. 0.0.0.0:8443 (every network interface) or 127.0.0.1:8443 (this machine only)".to_string())
}

const BACKUP_HELP: &str = "Exit status: 0 done; 1 failed (the message says why; a failed or
interrupted backup is never listed, and earlier ones are untouched); 2 bad command line.
`verify` exits 1 on any damage.

Nightly, from cron:
  casevault backup create --data /srv/casevault --to /mnt/backup --recipient age1... --quiet
  casevault backup prune --from /mnt/backup --keep 30";

#[derive(Subcommand)]
#[command(after_help = BACKUP_HELP)]
pub(crate) enum BackupCmd {
    /// Back up a running or stopped vault: a consistent snapshot of the database and
    /// the document files the target lacks. Prints the backup's id.
    #[command(after_help = BACKUP_HELP)]
    Create {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The target: a directory (created if absent) or s3://BUCKET/PREFIX (with
        /// --s3-endpoint). It holds one vault's backups.
        #[arg(long, value_name = "TARGET")]
        to: PathBuf,
        /// The backup recipient (age1..., from `age-keygen`). Keep its identity file
        /// away from the server: it is what restores.
        #[arg(long)]
        recipient: String,
        /// Seal this target's shred ledger to a new recipient from now on (key
        /// rotation). Once a restore with the new identity has worked, destroy the
        /// old one: every earlier copy of the ledger is then unreadable.
        #[arg(long)]
        rotate_recipient: bool,
        /// No progress output.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        s3: S3TargetArgs,
        #[command(flatten)]
        common: Common,
    },
    /// One complete backup a line: id, time, size, cases, documents.
    List {
        /// The backup target.
        #[arg(long, value_name = "TARGET")]
        from: PathBuf,
        /// Only this backup (exit 1 when the target holds no such complete backup).
        #[arg(long, value_name = "ID")]
        backup: Option<String>,
        #[command(flatten)]
        s3: S3TargetArgs,
    },
    /// Check every file of every backup (or of one) against its manifest. Exit 1 on
    /// any damage.
    Verify {
        /// The backup target.
        #[arg(long, value_name = "TARGET")]
        from: PathBuf,
        /// Only this backup.
        #[arg(long, value_name = "ID")]
        backup: Option<String>,
        /// No progress output.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        s3: S3TargetArgs,
    },
    /// Keep the N newest backups; remove older ones and the document files no kept
    /// backup needs. Their keys leave the shred ledger at the next backup.
    Prune {
        /// The backup target.
        #[arg(long, value_name = "TARGET")]
        from: PathBuf,
        /// How many backups to keep (at least 1).
        #[arg(long)]
        keep: usize,
        #[command(flatten)]
        s3: S3TargetArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum RetentionCmd {
    /// Purge every closed case past its retention period now (held cases are
    /// skipped and listed). With --dry-run, only list what would go.
    Run {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Change nothing; print what would be purged.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditCmd {
    /// Recompute the hash chain; exit 0 when it holds, otherwise print the first bad
    /// sequence number and exit 1.
    Verify {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// A head (SEQ:HASH) recorded earlier: proves nothing before it was rewritten.
        #[arg(long)]
        expect: Option<String>,
    },
    /// Print SEQ:HASH of the newest entry (keep it somewhere else).
    Head {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
    /// Write entries as JSON lines (for a SIEM).
    Export {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Only entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
}
