//! What a server that cannot start says: each failure a person can fix at start-up
//! (a port below 1024 without the right, a port in use, a key that belongs to another
//! certificate) is one sentence naming what to do, not only the system's error.
//!
//! Invariant: the sentences name files and addresses, never a key's contents.
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::Path;

/// Why binding `addr` failed, and what to do about it.
pub(super) fn listen_error(addr: SocketAddr, e: &std::io::Error) -> String {
    let port = addr.port();
    match e.kind() {
        ErrorKind::PermissionDenied if port < 1024 => format!(
            "cannot listen on {addr}: ports below 1024 need the right to bind them. Give it \
             to the program (`sudo setcap cap_net_bind_service=+ep /path/to/casevault`, or \
             AmbientCapabilities=CAP_NET_BIND_SERVICE in its systemd unit, see \
             contrib/casevault.service), or listen on a port from 1024 up, e.g. \
             --listen {}:8443",
            addr.ip()
        ),
        ErrorKind::AddrInUse => format!(
            "cannot listen on {addr}: another program already uses port {port}. Stop it, \
             or give casevault another port with --listen"
        ),
        ErrorKind::AddrNotAvailable => format!(
            "cannot listen on {addr}: this machine has no address {}. Give one of its own \
             addresses, or 0.0.0.0 for all of them",
            addr.ip()
        ),
        _ => format!("cannot listen on {addr}: {e}"),
    }
}

/// Why the certificate and key could not be used, and what to do about it.
pub(super) fn tls_error(cert: &Path, key: &Path, e: &rustls::Error) -> String {
    use rustls::{Error, InconsistentKeys};
    match e {
        Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => format!(
            "the TLS key {} does not belong to the certificate {}: give --tls-key the \
             private key made together with this certificate (both files come from the \
             same request or renewal; after a renewal, update both)",
            key.display(),
            cert.display()
        ),
        Error::NoCertificatesPresented => format!(
            "{} holds no certificate: give --tls-cert a PEM file with a \
             -----BEGIN CERTIFICATE----- block (the certificate, then any intermediates)",
            cert.display()
        ),
        _ => format!(
            "the TLS certificate {} or its key {} cannot be used: {e}",
            cert.display(),
            key.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_low_port_without_the_right_says_what_to_do() {
        let addr: SocketAddr = "0.0.0.0:443".parse().unwrap();
        let e = std::io::Error::from(ErrorKind::PermissionDenied);
        let m = listen_error(addr, &e);
        assert!(m.contains("below 1024"), "{m}");
        assert!(m.contains("cap_net_bind_service"), "{m}");
        assert!(m.contains("--listen 0.0.0.0:8443"), "{m}");
        // A high port refused for another reason is not blamed on the port number.
        let m = listen_error("0.0.0.0:8443".parse().unwrap(), &e);
        assert!(!m.contains("below 1024"), "{m}");
    }

    #[test]
    fn a_port_in_use_is_named() {
        let e = std::io::Error::from(ErrorKind::AddrInUse);
        let m = listen_error("127.0.0.1:8443".parse().unwrap(), &e);
        assert!(m.contains("already uses port 8443"), "{m}");
    }

    #[test]
    fn a_key_of_another_certificate_says_which_files() {
        let e = rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch);
        let m = tls_error(Path::new("/etc/c.pem"), Path::new("/etc/k.pem"), &e);
        assert!(
            m.contains("/etc/k.pem does not belong to the certificate /etc/c.pem"),
            "{m}"
        );
    }

    #[test]
    fn a_server_given_a_key_of_another_certificate_refuses_to_start() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (cert_one, key_one) = crate::app::self_signed(one.path()).unwrap();
        let (_, key_two) = crate::app::self_signed(two.path()).unwrap();
        let m = crate::app::tls_acceptor(&cert_one, &key_two)
            .err()
            .expect("a mismatched pair is refused");
        assert!(m.contains("does not belong to the certificate"), "{m}");
        // The matching pair is accepted.
        assert!(crate::app::tls_acceptor(&cert_one, &key_one).is_ok());
    }
}
