//! Passkeys (WebAuthn) as the relying party: the ceremonies' options and checks
//! (webauthn-rs, on RustCrypto) and the challenges waiting for their answer.
//!
//! Invariants: the relying party id and origin come from the server's one public URL,
//! so an assertion made for any other origin is refused; user verification is required
//! (a passkey then stands for both factors); attestation is "none". A challenge lives
//! only in memory, is used at most once (taken out before it is checked), expires after
//! five minutes, and the store of them is bounded: a flood of starts cannot grow memory
//! past [`MAX_PENDING`] (further starts are refused until some expire).
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, RequestChallengeResponse, Url, Webauthn, WebauthnBuilder,
};

/// Challenges waiting at once, at most.
pub const MAX_PENDING: usize = 10_000;
/// Challenges waiting at once for one owner (an account, or a client address before
/// sign-in), at most: one address cannot fill the store for everyone.
pub const MAX_PER_OWNER: usize = 16;
/// How long a challenge waits for its answer, in seconds.
pub const CHALLENGE_SECS: i64 = 300;

/// A ceremony started and not yet finished.
pub enum Ceremony {
    /// Adding a passkey to the account `user`.
    Register {
        /// The account's id.
        user: String,
        /// webauthn-rs's state of it.
        state: PasskeyRegistration,
    },
    /// Signing in with a passkey, nobody named yet.
    Login(DiscoverableAuthentication),
    /// The signed-in `user` proving one of their own passkeys again (step-up).
    Reauth {
        /// The account's id.
        user: String,
        /// webauthn-rs's state of it (only that account's passkeys are allowed).
        state: PasskeyAuthentication,
    },
}

struct Pending {
    ceremony: Ceremony,
    expires: i64,
    owner: String,
}

/// Why a passkey ceremony could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The server has no public URL yet, or it is not one WebAuthn accepts.
    #[error("passkeys are not available: {0}")]
    Unavailable(String),
    /// Too many ceremonies are waiting.
    #[error("too many passkey requests are waiting; try again in a minute")]
    Busy,
    /// The answer does not verify (unknown, expired or reused challenge, wrong
    /// origin, bad signature, a counter that went back, …). Coarse on purpose.
    #[error("the passkey was not accepted")]
    Refused,
}

/// The relying party and its waiting challenges.
#[derive(Default)]
pub struct Passkeys {
    rp: OnceLock<Webauthn>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Passkeys {
    /// Sets the public URL the browser uses (`https://HOST[:PORT]`): its host is the
    /// relying party id, the URL the one origin accepted. Once per process; a later
    /// call with another URL is refused.
    pub fn configure(&self, public_url: &str) -> Result<(), PasskeyError> {
        let url = Url::parse(public_url)
            .map_err(|e| PasskeyError::Unavailable(format!("public URL {public_url}: {e}")))?;
        let host = url.domain().ok_or_else(|| {
            PasskeyError::Unavailable(format!(
                "public URL {public_url} has no domain name (browsers refuse passkeys on an IP address: use https://localhost:PORT or the server's name)"
            ))
        })?;
        let rp = WebauthnBuilder::new(host, &url)
            .and_then(|b| b.rp_name("casevault").build())
            .map_err(|e| PasskeyError::Unavailable(format!("public URL {public_url}: {e}")))?;
        if let Some(old) = self.rp.get() {
            return if old.get_allowed_origins() == rp.get_allowed_origins() {
                Ok(())
            } else {
                Err(PasskeyError::Unavailable(
                    "the public URL is already set".into(),
                ))
            };
        }
        let _ = self.rp.set(rp);
        Ok(())
    }

    /// The public URL set by [`Passkeys::configure`] (`https://HOST[:PORT]`, no
    /// trailing `/`), once set.
    pub fn public_url(&self) -> Option<String> {
        let origin = self.rp.get()?.get_allowed_origins().first()?.origin();
        Some(origin.ascii_serialization())
    }

    /// The relying party, once configured.
    pub fn rp(&self) -> Result<&Webauthn, PasskeyError> {
        self.rp
            .get()
            .ok_or_else(|| PasskeyError::Unavailable("no public URL is set".into()))
    }

    /// Keeps a ceremony of `owner` (an account id, or a client address's throttle key)
    /// for `CHALLENGE_SECS`; answers its id.
    pub fn hold(&self, ceremony: Ceremony, owner: &str, now: i64) -> Result<String, PasskeyError> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mine = |p: &HashMap<String, Pending>| p.values().filter(|v| v.owner == owner).count();
        if p.len() >= MAX_PENDING || mine(&p) >= MAX_PER_OWNER {
            p.retain(|_, v| v.expires > now);
            if p.len() >= MAX_PENDING || mine(&p) >= MAX_PER_OWNER {
                return Err(PasskeyError::Busy);
            }
        }
        let id = crate::crypto::hex(&crate::crypto::random_bytes::<16>());
        p.insert(
            id.clone(),
            Pending {
                ceremony,
                expires: now + CHALLENGE_SECS,
                owner: owner.to_owned(),
            },
        );
        Ok(id)
    }

    /// Takes a waiting ceremony out (it can never be answered twice), if it has not
    /// expired.
    pub fn take(&self, id: &str, now: i64) -> Result<Ceremony, PasskeyError> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match p.remove(id) {
            Some(v) if v.expires > now => Ok(v.ceremony),
            _ => Err(PasskeyError::Refused),
        }
    }

    /// Ceremonies waiting (tests).
    pub fn waiting(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The options the browser's `PublicKeyCredential.parseCreationOptionsFromJSON` takes:
/// the `publicKey` member of webauthn-rs's answer, asking for a discoverable
/// (resident) credential so that it can later sign in with no username.
pub fn creation_options(ccr: CreationChallengeResponse) -> serde_json::Value {
    let mut v = serde_json::to_value(ccr).unwrap_or_default();
    let mut pk = v
        .get_mut("publicKey")
        .map(serde_json::Value::take)
        .unwrap_or_default();
    if let Some(sel) = pk.get_mut("authenticatorSelection") {
        sel["residentKey"] = "required".into();
        sel["requireResidentKey"] = true.into();
        sel["userVerification"] = "required".into();
    }
    pk
}

/// The options `PublicKeyCredential.parseRequestOptionsFromJSON` takes (a modal
/// request: webauthn-rs marks discoverable requests for conditional mediation, which a
/// "Sign in with a passkey" button does not use).
pub fn request_options(rcr: RequestChallengeResponse) -> serde_json::Value {
    let mut v = serde_json::to_value(rcr).unwrap_or_default();
    v.get_mut("publicKey")
        .map(serde_json::Value::take)
        .unwrap_or_default()
}

/// A stored credential back from its JSON.
pub fn parse_credential(json: &str) -> Result<Passkey, PasskeyError> {
    serde_json::from_str(json).map_err(|_| PasskeyError::Refused)
}

/// A credential as stored.
pub fn store_credential(p: &Passkey) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_address_is_no_relying_party_and_localhost_is() {
        let p = Passkeys::default();
        assert!(matches!(
            p.configure("https://127.0.0.1:8443"),
            Err(PasskeyError::Unavailable(_))
        ));
        p.configure("https://localhost:8443").unwrap();
        assert!(p.rp().is_ok());
        assert!(p.configure("https://other.example:8443").is_err());
    }

    #[test]
    fn a_challenge_is_used_once_expires_and_the_store_is_bounded() {
        let p = Passkeys::default();
        p.configure("https://localhost:8443").unwrap();
        let (_, state) = p.rp().unwrap().start_discoverable_authentication().unwrap();
        let id = p.hold(Ceremony::Login(state), "a:1", 1000).unwrap();
        assert!(p.take(&id, 1001).is_ok());
        assert!(matches!(p.take(&id, 1001), Err(PasskeyError::Refused)));
        let (_, state) = p.rp().unwrap().start_discoverable_authentication().unwrap();
        let id = p.hold(Ceremony::Login(state), "a:1", 1000).unwrap();
        assert!(matches!(
            p.take(&id, 1000 + CHALLENGE_SECS),
            Err(PasskeyError::Refused)
        ));
        // One owner gets MAX_PER_OWNER; the others still get theirs, up to the total.
        for _ in 0..MAX_PER_OWNER {
            let (_, state) = p.rp().unwrap().start_discoverable_authentication().unwrap();
            p.hold(Ceremony::Login(state), "a:flood", 2000).unwrap();
        }
        let (_, state) = p.rp().unwrap().start_discoverable_authentication().unwrap();
        assert!(matches!(
            p.hold(Ceremony::Login(state), "a:flood", 2000),
            Err(PasskeyError::Busy)
        ));
        for n in 0..(MAX_PENDING - MAX_PER_OWNER) {
            let (_, state) = p.rp().unwrap().start_discoverable_authentication().unwrap();
            p.hold(Ceremony::Login(state), &format!("a:{}", n % 700), 2000)
                .unwrap();
        }
        let (_, state) = p.rp().unwrap().start_discoverable_authentication().unwrap();
        assert!(matches!(
            p.hold(Ceremony::Login(state), "a:someone", 2000),
            Err(PasskeyError::Busy)
        ));
        // Once they expire, there is room again.
        let (_, state) = p.rp().unwrap().start_discoverable_authentication().unwrap();
        assert!(
            p.hold(Ceremony::Login(state), "a:flood", 2000 + CHALLENGE_SECS)
                .is_ok()
        );
        assert_eq!(p.waiting(), 1);
    }
}
