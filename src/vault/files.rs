//! Files of the vault's own beside the database: the auth key, written owner-only
//! and atomically.
use std::path::Path;

use super::VaultError;
use crate::crypto::AuthKey;

pub(super) fn load_or_create_auth_key(path: &Path) -> Result<AuthKey, VaultError> {
    match std::fs::read(path) {
        Ok(b) => AuthKey::from_bytes(&b).map_err(|_| {
            VaultError::Internal(format!("{} is not a casevault auth key", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = AuthKey::generate();
            write_private_file(path, key.as_bytes())
                .map_err(|e| VaultError::Internal(format!("writing {}: {e}", path.display())))?;
            Ok(key)
        }
        Err(e) => Err(VaultError::Internal(format!(
            "reading {}: {e}",
            path.display()
        ))),
    }
}

/// Writes a file readable only by its owner (mode 0600), atomically.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
