//! The Pub/Sub API host: gRPC over TLS with a certificate from byoc's local CA. The
//! `eventbus.v1.PubSub` service arrives with the outbound issue; until then every method answers
//! `UNIMPLEMENTED`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context;
use byoc_core::Clock;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Identity, Server, ServerTlsConfig};

/// A server certificate for this start, for `localhost`, the loopback addresses and the bound
/// address, signed by the local CA.
pub fn tls_identity(ca: &byoc_pki::LocalCa, bound: SocketAddr, clock: &dyn Clock) -> anyhow::Result<Identity> {
    let mut ips: Vec<IpAddr> = vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
    if !bound.ip().is_unspecified() && !ips.contains(&bound.ip()) {
        ips.push(bound.ip());
    }
    let now = chrono::DateTime::from_timestamp_millis(clock.now_millis()).unwrap_or_default();
    let cert = byoc_pki::issue_server_certificate(ca, &["localhost".to_string()], &ips, now)
        .context("can't issue the Pub/Sub TLS certificate")?;
    // Clients verify the chain up to the CA, so the CA goes after the leaf.
    let chain = format!("{}{}", cert.certificate_pem, ca.certificate_pem);
    Ok(Identity::from_pem(chain, cert.private_key_pem))
}

pub async fn serve(listener: TcpListener, identity: Identity, shutdown: CancellationToken) -> anyhow::Result<()> {
    Server::builder()
        .tls_config(ServerTlsConfig::new().identity(identity))
        .context("bad Pub/Sub TLS configuration")?
        .add_routes(tonic::service::Routes::default())
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move { shutdown.cancelled().await })
        .await
        .context("the Pub/Sub host failed")
}
