//! A TCP proxy for database-fault tests (issue 13): put it between byoc and PostgreSQL, then cut
//! every connection, stall traffic or refuse new connections, and let it heal again.
//!
//! - [`TcpProxy::cut`]: every open connection is reset (RST on both sides), as when a network
//!   path or a server goes away; new connections are accepted as before.
//! - [`TcpProxy::stall`]: no byte is forwarded either way while stalled; connections stay open
//!   and new ones are accepted (and stall too). What was sent meanwhile flows on when it ends.
//! - [`TcpProxy::refuse`]: new connections are accepted and reset at once, as a server that is
//!   down but whose port still answers (or a load balancer with no backend).
//! - [`through`]: a `postgres://` URL rewritten to reach its server through the proxy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

struct Shared {
    upstream: SocketAddr,
    refusing: AtomicBool,
    stalled: watch::Sender<bool>,
    /// Bumped by every cut; each connection ends when it changes.
    cuts: watch::Sender<u64>,
    open: AtomicUsize,
}

/// A running proxy; stops accepting when dropped (open connections end with their peers).
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        // End the open connections too: a test's proxy must not outlive it.
        self.shared.cuts.send_modify(|n| *n += 1);
    }
}

impl TcpProxy {
    /// Listen on a free loopback port and forward every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<TcpProxy> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            refusing: AtomicBool::new(false),
            stalled: watch::channel(false).0,
            cuts: watch::channel(0).0,
            open: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(TcpProxy {
            addr,
            shared,
            accept,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Reset every open connection.
    pub fn cut(&self) {
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// Stop (`true`) or resume (`false`) forwarding bytes; connections stay open.
    pub fn stall(&self, stalled: bool) {
        self.shared.stalled.send_replace(stalled);
    }

    /// Reset (`true`) or forward again (`false`) every new connection.
    pub fn refuse(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Connections open through the proxy right now.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }
}

/// `url` (`postgres://user@host:port/db?…`) with its host and port replaced by `proxy`.
pub fn through(url: &str, proxy: SocketAddr) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let userinfo = authority.rfind('@').map(|i| &authority[..=i]).unwrap_or("");
    format!("{scheme}://{userinfo}{proxy}{tail}")
}

/// The host and port of a `postgres://` URL (default port 5432), resolved.
pub fn upstream_of(url: &str) -> Option<SocketAddr> {
    let rest = url.split_once("://")?.1;
    let authority = match rest.find(['/', '?']) {
        Some(i) => &rest[..i],
        None => rest,
    };
    let hostport = authority.rsplit('@').next()?;
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:5432")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&hostport)
        .ok()?
        .next()
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if shared.refusing.load(Ordering::SeqCst) {
            reset(client);
            continue;
        }
        tokio::spawn(connection(client, shared.clone()));
    }
}

/// Close with RST rather than FIN. (`set_linger` is deprecated because a non-zero linger blocks
/// the thread on drop; a zero linger does not, it resets at once.)
#[allow(deprecated)]
fn reset(stream: TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn connection(client: TcpStream, shared: Arc<Shared>) {
    let mut cuts = shared.cuts.subscribe();
    cuts.mark_unchanged();
    let Ok(server) = TcpStream::connect(shared.upstream).await else {
        reset(client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    shared.open.fetch_add(1, Ordering::SeqCst);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = pump(&mut cr, &mut sw, shared.stalled.subscribe());
    let down = pump(&mut sr, &mut cw, shared.stalled.subscribe());
    let cut = tokio::select! {
        _ = async { tokio::join!(up, down) } => false,
        _ = cuts.changed() => true,
    };
    shared.open.fetch_sub(1, Ordering::SeqCst);
    if cut {
        if let (Ok(client), Ok(server)) = (cr.reunite(cw), sr.reunite(sw)) {
            reset(client);
            reset(server);
        }
    }
}

/// Copy `from` to `to` until either side closes, holding bytes while stalled.
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    mut stalled: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if stalled.wait_for(|s| !*s).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        // Bytes read just as a stall began are held until it ends.
        if stalled.wait_for(|s| !*s).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten_through_the_proxy() {
        let proxy: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(
            through(
                "postgres://postgres@127.0.0.1:5432/byoc_x?sslmode=disable",
                proxy
            ),
            "postgres://postgres@127.0.0.1:4000/byoc_x?sslmode=disable"
        );
        assert_eq!(
            through("postgresql://u:p@db.example/x", proxy),
            "postgresql://u:p@127.0.0.1:4000/x"
        );
        assert_eq!(
            upstream_of("postgres://postgres@127.0.0.1:5433/db"),
            Some("127.0.0.1:5433".parse().unwrap())
        );
    }

    /// Bytes flow; a stall holds them; a cut ends the connection; refuse resets new ones.
    #[tokio::test]
    async fn forwards_stalls_cuts_and_refuses() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = echo.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = echo.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let proxy = TcpProxy::start(upstream).await.unwrap();
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        let mut buf = [0u8; 5];
        c.write_all(b"hello").await.unwrap();
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");

        proxy.stall(true);
        c.write_all(b"again").await.unwrap();
        let held = tokio::time::timeout(Duration::from_millis(300), c.read_exact(&mut buf)).await;
        assert!(held.is_err(), "nothing flows while stalled");
        proxy.stall(false);
        tokio::time::timeout(Duration::from_secs(5), c.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"again");

        proxy.cut();
        let ended = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .unwrap();
        assert!(matches!(ended, Ok(0) | Err(_)), "a cut ends the connection");

        proxy.refuse(true);
        let mut r = TcpStream::connect(proxy.addr()).await.unwrap();
        let refused = tokio::time::timeout(Duration::from_secs(5), r.read(&mut buf))
            .await
            .unwrap();
        assert!(
            matches!(refused, Ok(0) | Err(_)),
            "a refused connection ends at once"
        );
        proxy.refuse(false);
        let mut ok = TcpStream::connect(proxy.addr()).await.unwrap();
        ok.write_all(b"fresh").await.unwrap();
        ok.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"fresh");
    }
}
