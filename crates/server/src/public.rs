//! `--public-*`: the addresses clients reach an instance through when it sits behind a load
//! balancer (docs/scale-out.md). [`Advertise::validate`] refuses what is not a URL with a scheme
//! and a host (or `HOST:PORT` for Pub/Sub) with an error naming the flag;
//! [`Advertise::tls_hosts`] lists the public host names the TLS certificates must also cover.

use std::net::IpAddr;

use crate::Advertise;

/// The flags, for messages.
const LOGIN: &str = "--public-login-url";
const SCRT: &str = "--public-scrt-url";
const PUBSUB: &str = "--public-pubsub-endpoint";
const LOGIN_HTTPS: &str = "--public-login-https-url";
const SCRT_HTTPS: &str = "--public-scrt-https-url";

/// A checked public URL: `scheme://host[:port]`, without a trailing slash (the URLs byoc names
/// append paths to it, as Salesforce's `instance_url` has no trailing slash).
fn base_url(flag: &str, value: &str, schemes: &[&str]) -> anyhow::Result<String> {
    let trimmed = value.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|e| {
        anyhow::anyhow!("{flag} {value:?} is not a URL ({e}); expected e.g. http://lb.example:6101")
    })?;
    if !schemes.contains(&url.scheme()) {
        anyhow::bail!(
            "{flag} {value:?}: the scheme must be {}",
            schemes.join(" or ")
        );
    }
    if url.host_str().unwrap_or("").is_empty() {
        anyhow::bail!("{flag} {value:?} names no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        anyhow::bail!("{flag} {value:?}: a public URL carries no user name or password");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        anyhow::bail!(
            "{flag} {value:?}: only scheme, host and port (byoc serves at the root, and appends its own paths)"
        );
    }
    Ok(trimmed.to_string())
}

/// A checked `HOST:PORT` (a bracketed IPv6 address for an IPv6 host), as `SF_PUB_SUB_ENDPOINT`.
fn endpoint(value: &str) -> anyhow::Result<String> {
    let trimmed = value.trim();
    let example = "expected HOST:PORT, e.g. lb.example:7443";
    if trimmed.contains("://") {
        anyhow::bail!("{PUBSUB} {value:?} has a scheme; {example}");
    }
    let url = url::Url::parse(&format!("https://{trimmed}"))
        .map_err(|e| anyhow::anyhow!("{PUBSUB} {value:?} is not HOST:PORT ({e}); {example}"))?;
    let host = url.host_str().unwrap_or("");
    let port_given = trimmed
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if host.is_empty() || !port_given || url.path() != "/" || trimmed.ends_with('/') {
        anyhow::bail!("{PUBSUB} {value:?} is not HOST:PORT; {example}");
    }
    // `url` drops a port equal to the scheme's default (443): keep what was written.
    if url.port().unwrap_or(443) == 0 {
        anyhow::bail!("{PUBSUB} {value:?}: port 0 is not a port clients can reach");
    }
    Ok(trimmed.to_string())
}

impl Advertise {
    /// The same settings checked and normalized (trailing slashes dropped), or an error naming
    /// the flag and what was expected.
    pub fn validate(&self) -> anyhow::Result<Advertise> {
        let any = ["http", "https"];
        let https = ["https"];
        Ok(Advertise {
            login_url: self
                .login_url
                .as_deref()
                .map(|v| base_url(LOGIN, v, &any))
                .transpose()?,
            scrt_url: self
                .scrt_url
                .as_deref()
                .map(|v| base_url(SCRT, v, &any))
                .transpose()?,
            pubsub_endpoint: self.pubsub_endpoint.as_deref().map(endpoint).transpose()?,
            login_https_url: self
                .login_https_url
                .as_deref()
                .map(|v| base_url(LOGIN_HTTPS, v, &https))
                .transpose()?,
            scrt_https_url: self
                .scrt_https_url
                .as_deref()
                .map(|v| base_url(SCRT_HTTPS, v, &https))
                .transpose()?,
        })
    }

    /// The public host names that the TLS listeners' certificates must cover besides
    /// `localhost` and the loopback addresses: those of the Pub/Sub endpoint and the HTTPS URLs
    /// (clients reach them through a TLS-passthrough balancer). The local CA may only vouch for
    /// loopback names (its name constraints), so a host outside them is left out and returned in
    /// the second list, for a warning: such a balancer must terminate TLS with a certificate of
    /// its own.
    pub fn tls_hosts(&self) -> (TlsHosts, Vec<String>) {
        let mut hosts = TlsHosts::default();
        let mut outside = Vec::new();
        let names = [
            self.pubsub_endpoint
                .as_deref()
                .and_then(|e| url::Url::parse(&format!("https://{e}")).ok()),
            self.login_https_url
                .as_deref()
                .and_then(|u| url::Url::parse(u).ok()),
            self.scrt_https_url
                .as_deref()
                .and_then(|u| url::Url::parse(u).ok()),
        ];
        for url in names.into_iter().flatten() {
            match url.host() {
                Some(url::Host::Ipv4(ip)) if ip.is_loopback() => hosts.add_ip(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) if ip.is_loopback() => hosts.add_ip(IpAddr::V6(ip)),
                Some(url::Host::Domain(name)) if is_loopback_name(name) => {
                    let name = name.to_ascii_lowercase();
                    if !hosts.dns.contains(&name) {
                        hosts.dns.push(name);
                    }
                }
                Some(other) => {
                    let other = other.to_string();
                    if !outside.contains(&other) {
                        outside.push(other);
                    }
                }
                None => {}
            }
        }
        (hosts, outside)
    }
}

/// `localhost` and names under it (RFC 6761), which the local CA's name constraints permit.
fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Extra subjectAltNames for the TLS certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsHosts {
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
}

impl TlsHosts {
    fn add_ip(&mut self, ip: IpAddr) {
        if !self.ips.contains(&ip) {
            self.ips.push(ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(v: &str) -> anyhow::Result<Advertise> {
        Advertise {
            login_url: Some(v.into()),
            ..Advertise::default()
        }
        .validate()
    }

    fn pubsub(v: &str) -> anyhow::Result<Advertise> {
        Advertise {
            pubsub_endpoint: Some(v.into()),
            ..Advertise::default()
        }
        .validate()
    }

    #[test]
    fn urls_need_a_scheme_and_a_host_and_nothing_else() {
        assert_eq!(
            login("http://lb.example:6101/")
                .unwrap()
                .login_url
                .as_deref(),
            Some("http://lb.example:6101")
        );
        assert!(login("https://127.0.0.1").is_ok());
        for bad in [
            "lb.example:6101",
            "ftp://lb.example",
            "http://",
            "http://lb.example/byoc",
            "http://lb.example/?x=1",
            "http://user:pw@lb.example",
            "",
        ] {
            let err = login(bad).unwrap_err().to_string();
            assert!(err.contains("--public-login-url"), "{bad}: {err}");
        }
        let https_only = Advertise {
            scrt_https_url: Some("http://lb.example:8086".into()),
            ..Advertise::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            https_only.contains("--public-scrt-https-url") && https_only.contains("https"),
            "{https_only}"
        );
    }

    #[test]
    fn the_pubsub_endpoint_is_host_and_port() {
        assert_eq!(
            pubsub("lb.example:7443")
                .unwrap()
                .pubsub_endpoint
                .as_deref(),
            Some("lb.example:7443")
        );
        assert!(pubsub("[::1]:443").is_ok());
        assert!(pubsub("127.0.0.1:443").is_ok());
        for bad in [
            "lb.example",
            "https://lb.example:7443",
            "lb.example:",
            "lb.example:x",
            "lb.example:70000",
            "lb.example:7443/path",
            ":7443",
            "lb.example:0",
        ] {
            let err = pubsub(bad).unwrap_err().to_string();
            assert!(err.contains("--public-pubsub-endpoint"), "{bad}: {err}");
        }
    }

    #[test]
    fn tls_hosts_keep_loopback_names_only() {
        let advertise = Advertise {
            pubsub_endpoint: Some("byoc.localhost:7443".into()),
            login_https_url: Some("https://127.0.0.2:6102".into()),
            scrt_https_url: Some("https://lb.example:8086".into()),
            login_url: Some("http://elsewhere.example".into()),
            ..Advertise::default()
        };
        let (hosts, outside) = advertise.tls_hosts();
        assert_eq!(hosts.dns, vec!["byoc.localhost".to_string()]);
        assert_eq!(hosts.ips, vec!["127.0.0.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(outside, vec!["lb.example".to_string()]);
    }
}
