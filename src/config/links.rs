//! `[upload_links]`: the limits on what a client upload link lets in, besides the
//! number of files each link names.
//!
//! Invariant: every limit is above zero (a zero would make every link useless, or
//! silently turn a limit off); the checks are in [`UploadLinkSettings::check`].
use serde::Deserialize;

/// `[upload_links]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadLinkSettings {
    /// Plaintext bytes one link may bring in all (each file is also held to
    /// `[uploads] max_bytes`).
    pub max_bytes_per_link: u64,
    /// Requests to client pages (`/u/…`, page or upload, any link or none) one client
    /// address may make per hour; more answer 429.
    pub requests_per_address_per_hour: u32,
}

impl Default for UploadLinkSettings {
    fn default() -> Self {
        UploadLinkSettings {
            max_bytes_per_link: 200 * 1024 * 1024,
            requests_per_address_per_hour: 60,
        }
    }
}

impl UploadLinkSettings {
    /// Refuses a limit of zero.
    pub fn check(&self) -> Result<(), String> {
        if self.max_bytes_per_link == 0 || self.requests_per_address_per_hour == 0 {
            return Err(
                "[upload_links] max_bytes_per_link and requests_per_address_per_hour must be above 0"
                    .into(),
            );
        }
        Ok(())
    }
}
