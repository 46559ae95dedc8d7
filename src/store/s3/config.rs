//! Where an S3 store is (bucket, prefix, endpoint), the keys to reach it (never
//! logged), and how its requests are timed.
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjPath;

use super::S3Blobs;

/// Where the objects are and how to reach them (no secret: the keys are in
/// [`S3Credentials`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix, without leading or trailing slash (may be empty).
    pub prefix: String,
    /// Endpoint URL (`http://127.0.0.1:8333`); path-style addressing.
    pub endpoint: String,
    /// Region (signing only).
    pub region: String,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX]` with its endpoint and region.
    pub fn parse(url: &str, endpoint: &str, region: &str) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or("an S3 location starts with s3:// (s3://BUCKET/PREFIX)")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(
                "the bucket name must be 3 to 63 lower-case letters, digits, dots or hyphens"
                    .into(),
            );
        }
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix.len() <= 200
            && prefix.split('/').all(|seg| {
                seg.is_empty() && prefix.is_empty()
                    || (!seg.is_empty()
                        && seg != "."
                        && seg != ".."
                        && seg.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
                        }))
            });
        if !prefix_ok {
            return Err(
                "the prefix may hold only letters, digits, '-', '_', '.' and '/' between names"
                    .into(),
            );
        }
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            || endpoint.contains(['@', '?', '#'])
        {
            return Err(
                "--s3-endpoint must be an http:// or https:// URL with no user, query or fragment (keys go in --s3-credentials)"
                    .into(),
            );
        }
        if region.is_empty() || region.len() > 64 {
            return Err("the region (AWS_REGION) must be a short name such as us-east-1".into());
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
        })
    }

    /// `s3://BUCKET/PREFIX`, for logs and messages.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The object key `PREFIX/rest`.
    pub fn key(&self, rest: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(rest)
        } else {
            ObjPath::from(format!("{}/{rest}", self.prefix))
        }
    }
}

/// The access key pair (wiped on drop; never printed).
#[derive(zeroize::ZeroizeOnDrop)]
pub struct S3Credentials {
    pub(super) access_key: String,
    pub(super) secret_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3Credentials(..)")
    }
}

impl S3Credentials {
    /// From `file` (two lines, or `KEY=value` lines with `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`; readable by its owner only) or else the environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<S3Credentials, String> {
        if let Some(f) = file {
            return Self::from_file(f);
        }
        match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(a), Ok(s)) if !a.is_empty() && !s.is_empty() => Ok(S3Credentials {
                access_key: a,
                secret_key: s,
            }),
            _ => Err("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --s3-credentials FILE (mode 0600)".into()),
        }
    }

    fn from_file(f: &std::path::Path) -> Result<S3Credentials, String> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(f).map_err(|e| format!("{}: {e}", f.display()))?;
        if meta.mode() & 0o077 != 0 {
            return Err(format!(
                "{}: the S3 credentials file must be readable by its owner only (chmod 600)",
                f.display()
            ));
        }
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?,
        );
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let pick = |name: &str| {
            lines.iter().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.trim_start().strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_string())
            })
        };
        let (a, s) = match (pick("AWS_ACCESS_KEY_ID"), pick("AWS_SECRET_ACCESS_KEY")) {
            (Some(a), Some(s)) => (a, s),
            _ if lines.len() == 2 && !lines.iter().any(|l| l.contains('=')) => {
                (lines[0].to_string(), lines[1].to_string())
            }
            _ => {
                return Err(format!(
                    "{}: expected AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines (or the two keys on two lines)",
                    f.display()
                ));
            }
        };
        if a.is_empty() || s.is_empty() {
            return Err(format!("{}: an S3 key is empty", f.display()));
        }
        Ok(S3Credentials {
            access_key: a,
            secret_key: s,
        })
    }
}

/// How long the store's requests may take and how often they are retried.
#[derive(Clone, Debug)]
pub struct S3Tuning {
    /// A request (one part, one range) gives up after this long.
    pub request_timeout: Duration,
    /// Retries of a failing request stop after this long in all.
    pub retry_timeout: Duration,
    /// An unreferenced object or a stalled upload is left alone this long.
    pub grace: Duration,
}

impl Default for S3Tuning {
    fn default() -> Self {
        S3Tuning {
            request_timeout: Duration::from_secs(60),
            retry_timeout: Duration::from_secs(20),
            grace: Duration::from_secs(3600),
        }
    }
}

/// The region for signing: `AWS_REGION`, else `us-east-1`.
pub fn region() -> String {
    std::env::var("AWS_REGION")
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".into())
}

/// Connects to an S3 location with credentials from `file` or the environment.
pub fn connect(
    loc: S3Location,
    file: Option<&Path>,
    settings: &crate::config::BlobSettings,
) -> Result<Arc<S3Blobs>, String> {
    let creds = S3Credentials::load(file)?;
    let tuning = S3Tuning {
        grace: Duration::from_secs(settings.orphan_grace_seconds),
        retry_timeout: Duration::from_secs(settings.s3_retry_seconds.max(1)),
        ..S3Tuning::default()
    };
    S3Blobs::new(loc, &creds, tuning)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::s3::without_body;

    #[test]
    fn locations_parse() {
        let l = S3Location::parse(
            "s3://cv-docs/office-a/",
            "http://127.0.0.1:8333/",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("cv-docs", "office-a")
        );
        assert_eq!(l.endpoint, "http://127.0.0.1:8333");
        assert_eq!(l.key("blobs/ab").to_string(), "office-a/blobs/ab");
        let l = S3Location::parse("s3://cv-docs", "https://s3.example", "eu-west-1").unwrap();
        assert_eq!(l.key("blobs/ab").to_string(), "blobs/ab");
        for bad in [
            "cv-docs/x",
            "s3://UPPER/x",
            "s3://ab/x",
            "s3://cv-docs/../x",
            "s3://cv-docs/a//b",
            "s3://cv-docs/a b",
        ] {
            assert!(S3Location::parse(bad, "http://h", "r").is_err(), "{bad}");
        }
        assert!(S3Location::parse("s3://cv-docs/x", "ftp://h", "r").is_err());
        assert!(S3Location::parse("s3://cv-docs/x", "http://ak:sk@h", "r").is_err());
    }

    #[test]
    fn store_errors_lose_their_body() {
        let e = without_body(
            "PUT http://h/b/k failed - Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIA</AWSAccessKeyId><StringToSign>x</StringToSign></Error>",
        );
        assert!(
            e.ends_with("403 Forbidden (S3 error SignatureDoesNotMatch)"),
            "{e}"
        );
        assert!(!e.contains("AKIA") && !e.contains("StringToSign"), "{e}");
        assert_eq!(without_body("connection refused"), "connection refused");
    }

    #[test]
    fn credentials_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("creds");
        std::fs::write(&f, "AWS_ACCESS_KEY_ID=ak\nAWS_SECRET_ACCESS_KEY = \"sk\"\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = S3Credentials::load(Some(&f)).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = S3Credentials::load(Some(&f)).unwrap();
        assert_eq!((c.access_key.as_str(), c.secret_key.as_str()), ("ak", "sk"));
        assert_eq!(format!("{c:?}"), "S3Credentials(..)");
        std::fs::write(&f, "ak2\nsk2\n").unwrap();
        let c = S3Credentials::load(Some(&f)).unwrap();
        assert_eq!(c.secret_key, "sk2");
        std::fs::write(&f, "nonsense\n").unwrap();
        assert!(S3Credentials::load(Some(&f)).is_err());
    }
}
