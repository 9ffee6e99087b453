//! A TCP proxy for database-fault tests (issue 13): put it between byoc and PostgreSQL, then cut
//! every connection, stall traffic or refuse new connections, and let it heal again.
//!
//! SKELETON: implemented by the `faults` helper. Intended API:
//! `TcpProxy::start(upstream: SocketAddr) -> io::Result<TcpProxy>`, `addr()`, `cut()` (close
//! every open connection), `stall(bool)` (stop forwarding bytes, connections stay open),
//! `refuse(bool)` (close new connections at once), and a helper that rewrites a
//! `postgres://` URL to go through the proxy.
