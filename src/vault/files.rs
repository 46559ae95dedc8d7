//! Files of the vault's own beside the database: the auth key, written owner-only
//! and atomically.
use std::path::Path;

use super::VaultError;
use crate::crypto::AuthKey;
use crate::store::write_private_file;

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
