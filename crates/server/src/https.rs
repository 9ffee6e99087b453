//! HTTPS for the login/instance host and the Interaction API host: the same routers as the
//! plain-HTTP listeners, behind TLS (rustls through tokio-rustls), with a certificate from the
//! local CA for `localhost`, `127.0.0.1` and `::1` — for stock clients that build `https://` URLs
//! themselves.
//!
//! Each accepted connection does its handshake in a task of its own, bounded by
//! [`HANDSHAKE_TIMEOUT`], so a slow or silent client holds up no one. A failed handshake — plain
//! HTTP sent to the port, a client that does not trust the CA — ends that connection only and is
//! logged at debug level. Established streams reach `axum::serve` through a channel
//! ([`TlsListener`]), so HTTP, keep-alive and graceful shutdown work as on the plain listeners.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use byoc_core::Clock;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::public::TlsHosts;

/// How long a client may take to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Established connections waiting for the HTTP server to take them.
const QUEUE: usize = 128;

/// A rustls server configuration with a certificate issued by the local CA for `localhost`, the
/// loopback addresses, `bound` (when it is a loopback address: the CA's name constraints allow
/// no other) and the public hosts of `--public-*` ([`crate::public`]), the CA after the leaf.
/// HTTP/1.1 only (ALPN), as the plain listeners.
pub fn server_config(
    ca: &byoc_pki::LocalCa,
    bound: &[SocketAddr],
    public: &TlsHosts,
    clock: &dyn Clock,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let (dns, ips) = subject_alt_names(bound, public);
    let now = chrono::DateTime::from_timestamp_millis(clock.now_millis()).unwrap_or_default();
    let cert = byoc_pki::issue_server_certificate(ca, &dns, &ips, now)
        .context("can't issue the HTTPS certificate")?;
    let chain = format!("{}{}", cert.certificate_pem, ca.certificate_pem);
    let certs = CertificateDer::pem_slice_iter(chain.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("the HTTPS certificate chain is not PEM")?;
    let key = PrivateKeyDer::from_pem_slice(cert.private_key_pem.as_bytes())
        .context("the HTTPS private key is not PEM")?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("rustls has no protocol version")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("bad HTTPS certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The names a server certificate covers: `localhost`, the loopback addresses, the bound
/// addresses that are loopback ones, and the public hosts (already limited to loopback names).
pub fn subject_alt_names(bound: &[SocketAddr], public: &TlsHosts) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = vec!["localhost".to_string()];
    let mut ips: Vec<IpAddr> = vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    let bound = bound.iter().map(SocketAddr::ip).filter(IpAddr::is_loopback);
    for ip in bound.chain(public.ips.iter().copied()) {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    for name in &public.dns {
        if !dns.contains(name) {
            dns.push(name.clone());
        }
    }
    (dns, ips)
}

/// TLS streams whose handshake succeeded, for `axum::serve`.
pub struct TlsListener {
    established: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accept TCP connections on `listener` until `shutdown`, each handshaking on its own.
    pub fn spawn(
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
        shutdown: CancellationToken,
        what: &'static str,
    ) -> anyhow::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (tx, established) = mpsc::channel(QUEUE);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little rather than spin.
                        tracing::debug!(error = %e, host = what, "accepting an HTTPS connection failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, host = what, "TLS handshake failed");
                        }
                        Err(_) => {
                            tracing::debug!(%peer, host = what, "TLS handshake timed out");
                        }
                    }
                });
            }
        });
        Ok(TlsListener { established, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.established.recv().await {
            Some(conn) => conn,
            // The acceptor stopped (shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
