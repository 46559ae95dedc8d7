//! Watching the blob store while serving: the sweep of an object store every half
//! grace period, and its outages and lost replicas written to the log.
use crate::vault::Vault;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// For an object store: asks every few seconds whether it answers, and logs when that
/// changes (an outage and the recovery are the operator's to see, in the log; clients
/// only get 503 while it lasts); sweeps orphans every half grace period.
pub(super) async fn store_watch(vault: Arc<Vault>, mut shutdown: watch::Receiver<bool>) {
    let Some(grace) = vault.blob_sweep_grace() else {
        return;
    };
    let sweep_every = (grace / 2).clamp(Duration::from_secs(2), Duration::from_secs(600));
    let mut probe = tokio::time::interval(Duration::from_secs(5));
    let mut sweep = tokio::time::interval(sweep_every);
    sweep.tick().await;
    let mut up = true;
    let mut cluster = ClusterWatch::new(&vault.settings().blobs.seaweedfs_master);
    loop {
        tokio::select! {
            _ = probe.tick() => {
                if let Some(c) = cluster.as_mut() {
                    c.check(&vault.blob_store_name()).await;
                }
                let v = vault.clone();
                let now_up = tokio::task::spawn_blocking(move || v.blob_probe())
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                match (&now_up, up) {
                    (Err(e), true) => tracing::error!(store = %vault.blob_store_name(), error = %e, "blob store unreachable: uploads and downloads answer 503 until it is back"),
                    (Ok(()), false) => tracing::info!(store = %vault.blob_store_name(), "blob store reachable again"),
                    _ => {}
                }
                up = now_up.is_ok();
            }
            _ = sweep.tick() => {
                let v = vault.clone();
                match tokio::task::spawn_blocking(move || v.sweep_orphan_blobs()).await {
                    Ok(Ok(_)) | Err(_) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "blob sweep incomplete; tried again later"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// The volume servers a SeaweedFS master lists, counted every probe: fewer than the
/// most seen is a degraded store (reads come from the other replica, writes go to
/// volumes without the lost server), logged once when it starts and once when it ends.
struct ClusterWatch {
    url: String,
    client: reqwest::Client,
    most: usize,
    degraded: bool,
}

impl ClusterWatch {
    fn new(master: &str) -> Option<ClusterWatch> {
        if master.is_empty() {
            return None;
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .ok()?;
        Some(ClusterWatch {
            url: format!("{}/dir/status", master.trim_end_matches('/')),
            client,
            most: 0,
            degraded: false,
        })
    }

    async fn count(&self) -> Option<usize> {
        let body = self
            .client
            .get(&self.url)
            .send()
            .await
            .ok()?
            .bytes()
            .await
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
        let dcs = v["Topology"]["DataCenters"].as_array()?;
        Some(
            dcs.iter()
                .filter_map(|dc| dc["Racks"].as_array())
                .flatten()
                .filter_map(|r| r["DataNodes"].as_array())
                .map(Vec::len)
                .sum(),
        )
    }

    async fn check(&mut self, store: &str) {
        let Some(n) = self.count().await else {
            if !self.degraded {
                tracing::warn!(store, master = %self.url, "blob store degraded: its cluster master does not answer");
                self.degraded = true;
            }
            return;
        };
        self.most = self.most.max(n);
        match (n < self.most, self.degraded) {
            (true, false) => tracing::warn!(
                store,
                servers = n,
                of = self.most,
                "blob store degraded: a storage server is gone; documents are served from their other copy, but a second loss may lose some"
            ),
            (false, true) => tracing::info!(store, servers = n, "blob store whole again"),
            _ => {}
        }
        self.degraded = n < self.most;
    }
}
