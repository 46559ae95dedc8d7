//! Helpers the benchmarks share (each includes this module; not every one uses all).
#![allow(dead_code)] // reason: a helper one benchmark uses is dead code in another

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` bytes of cheap, repeatable noise (xorshift): incompressible test documents.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// A vault in `data` with fast scrypt settings and the system clock (the benchmarks
/// time the vault's work, not the office passphrase's key derivation).
pub fn open_vault(data: &std::path::Path) -> casevault::app::App {
    let mut settings = casevault::Settings::defaults();
    settings.kdf.passphrase_log_n = 10;
    settings.kdf.max_log_n = 12;
    casevault::app::App::open(
        casevault::VaultOptions {
            data_dir: data.to_path_buf(),
            settings,
            clock: casevault::Clock::system(),
            auth_key_file: None,
        },
        casevault::policy::Policy::builtin().expect("policy"),
    )
    .expect("open")
}

/// Runs a benchmark's body on a two-thread runtime with the ring TLS provider (what
/// the server uses).
pub fn run<F: std::future::Future<Output = ()>>(body: F) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(body);
}

/// [`run`], answering what the body answers.
pub fn run_value<T, F: std::future::Future<Output = T>>(body: F) -> T {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(body)
}
