//! A repository over `http://` or `https://`, read with `ureq` (blocking, rustls): small files
//! (`InRelease`, `Release`, indexes) fetched whole under a cap, packages streamed, and the
//! faults of a network met as apt meets them: a failed request is tried again after a pause
//! that doubles, a 404 is not, and a package whose connection breaks is resumed with
//! `Range: bytes=N-` where it stopped. Nothing here decides what to trust: every byte still
//! goes through the same checks as a `file://` repository's (signature, `Release` sums,
//! [`Verifying`](crate::verify::Verifying)), so a resumed package is hashed whole.
//!
//! No transparent decompression is asked for (no `Accept-Encoding`): the bytes hashed are the
//! bytes the server holds. Redirects are followed as apt follows them, at most
//! [`MAX_REDIRECTS`]; a proxy is taken from the environment (`http_proxy`, `NO_PROXY`) as apt
//! takes it.

use crate::local::ArchiveError;
use std::io::{self, Read};
use std::time::Duration;
use ureq::http::Response;
use ureq::{Agent, Body, BodyReader};

/// Redirects followed for one request: apt's own default is 10; a repository needs one or two
/// (a mirror redirector).
pub const MAX_REDIRECTS: u32 = 5;

/// The longest pause between two tries, whatever the backoff doubled to.
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// How the network is used: the per-operation timeout (connecting, and each read or write),
/// how many times a failed request is tried again, and the first pause before that.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NetSettings {
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) backoff: Duration,
}

/// Why one try failed, and whether to try again.
#[derive(Debug)]
enum Failure {
    /// 404 or 410: the file is not there; trying again will not make it be.
    NotFound(String),
    /// 5xx, a timeout, a broken connection: worth another try.
    Retry(String),
    /// Anything else (403, a TLS failure, too many redirects, a cap exceeded): final.
    Fatal(String),
}

/// One repository's base URL and the agent that reads it. Cheap to clone (the agent is shared);
/// `Sync`, so packages can be read from several threads.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    agent: Agent,
    /// As the source gives it (credentials included: ureq sends them as Basic auth).
    base: String,
    /// For messages: without `user:password@`.
    shown: String,
    net: NetSettings,
}

impl Http {
    pub(crate) fn new(base: &str, net: NetSettings) -> Http {
        let agent: Agent = Agent::config_builder()
            // Statuses are judged here: a 404 and a 503 are not the same failure.
            .http_status_as_error(false)
            .max_redirects(MAX_REDIRECTS)
            .timeout_connect(Some(net.timeout))
            .timeout_recv_response(Some(net.timeout))
            // Per read, not for the whole body: a large package on a slow line is fine as long
            // as bytes keep coming.
            .timeout_per_read(Some(net.timeout))
            .timeout_per_write(Some(net.timeout))
            .user_agent(concat!("debgate/", env!("CARGO_PKG_VERSION")))
            // The system's trust store, as apt's https uses it (ca-certificates), not a bundled
            // copy of Mozilla's: a mirror behind a site CA is trusted where apt trusts it.
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .build()
            .into();
        Http {
            agent,
            base: base.trim_end_matches('/').to_string(),
            shown: without_credentials(base.trim_end_matches('/')),
            net,
        }
    }

    /// The base URL for messages, without credentials.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The URL of `parts` (path segments already judged safe) under the base, each segment
    /// percent-encoded.
    fn url(&self, parts: &[&str]) -> String {
        let mut url = self.base.clone();
        for p in parts {
            url.push('/');
            url.push_str(&encode_segment(p));
        }
        url
    }

    fn shown_url(&self, parts: &[&str]) -> String {
        let mut url = self.shown.clone();
        for p in parts {
            url.push('/');
            url.push_str(&encode_segment(p));
        }
        url
    }

    /// The pause before try `n + 1` (after `n` failures): the backoff doubled `n` times,
    /// at most [`MAX_PAUSE`].
    fn pause(&self, failures: u32) {
        let factor = 1u32 << failures.min(16);
        std::thread::sleep(self.net.backoff.saturating_mul(factor).min(MAX_PAUSE));
    }

    /// One GET, from byte `from` on when it is not 0.
    fn get(&self, url: &str, from: u64) -> Result<Response<Body>, Failure> {
        let mut request = self.agent.get(url);
        if from > 0 {
            request = request.header("Range", format!("bytes={from}-"));
        }
        request.call().map_err(|e| {
            let what = e.to_string();
            match e {
                ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Protocol(_)
                | ureq::Error::BodyStalled => Failure::Retry(what),
                _ => Failure::Fatal(what),
            }
        })
    }

    /// Try `attempt` up to `1 + retries` times, pausing between tries; `Err` is the last
    /// failure, with the number of tries made.
    fn retrying<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, (Failure, u32)> {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt() {
                Ok(t) => return Ok(t),
                Err(Failure::Retry(_)) if tries <= self.net.retries => self.pause(tries - 1),
                Err(f) => return Err((f, tries)),
            }
        }
    }

    /// The whole file at `parts`, or `None` when the server says it is not there (404, 410).
    /// More than `cap` bytes is an error.
    pub(crate) fn fetch_small(
        &self,
        parts: &[&str],
        cap: u64,
    ) -> Result<Option<Vec<u8>>, ArchiveError> {
        let url = self.url(parts);
        let result = self.retrying(|| {
            let response = self.get(&url, 0)?;
            if response.status().as_u16() != 200 {
                return Err(judge(&response));
            }
            let mut bytes = Vec::new();
            response
                .into_body()
                .into_reader()
                .take(cap.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::Retry(format!("reading it: {e}")))?;
            if bytes.len() as u64 > cap {
                return Err(Failure::Fatal(format!("larger than {cap} bytes")));
            }
            Ok(bytes)
        });
        match result {
            Ok(bytes) => Ok(Some(bytes)),
            Err((Failure::NotFound(_), _)) => Ok(None),
            Err((f, tries)) => Err(self.error(parts, f, tries)),
        }
    }

    /// The package at `parts`, `size` bytes by its index, as a stream that resumes by itself
    /// when the connection breaks. A 404 is an error here: the index lists the file.
    pub(crate) fn open_stream(&self, parts: &[&str], size: u64) -> Result<Resuming, ArchiveError> {
        let url = self.url(parts);
        let result = self.retrying(|| {
            let response = self.get(&url, 0)?;
            if response.status().as_u16() != 200 {
                return Err(judge(&response));
            }
            Ok(response.into_body().into_reader())
        });
        match result {
            Ok(body) => Ok(Resuming {
                http: self.clone(),
                url,
                shown: self.shown_url(parts),
                size,
                got: 0,
                resumes: 0,
                body: Some(body),
                failed: None,
            }),
            Err((f, tries)) => Err(self.error(parts, f, tries)),
        }
    }

    fn error(&self, parts: &[&str], failure: Failure, tries: u32) -> ArchiveError {
        let what = match failure {
            Failure::NotFound(what) | Failure::Fatal(what) => what,
            Failure::Retry(what) if tries > 1 => format!("{what} (gave up after {tries} tries)"),
            Failure::Retry(what) => what,
        };
        ArchiveError::Network {
            url: self.shown_url(parts),
            what,
        }
    }
}

/// What a response that is not the one asked for means.
fn judge(response: &Response<Body>) -> Failure {
    let status = response.status();
    let what = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("(unknown status)")
    );
    match status.as_u16() {
        404 | 410 => Failure::NotFound(what),
        // Too many requests, a timeout on the server's side, or its own trouble: passing.
        408 | 429 | 500..=599 => Failure::Retry(what),
        _ => Failure::Fatal(what),
    }
}

/// A package's body that picks up where it broke off: on a read error, a timeout, or an end
/// before the index's size, it asks again with `Range: bytes=N-` (after the same pauses as a
/// request), takes a 206 that starts at `N`, or a 200 with its first `N` bytes skipped, and
/// gives up after the retries, saying how far it got. The bytes it hands on are counted and
/// hashed by [`Verifying`](crate::verify::Verifying) above it, so a resumed package is checked
/// whole.
pub struct Resuming {
    http: Http,
    url: String,
    shown: String,
    size: u64,
    got: u64,
    resumes: u32,
    body: Option<BodyReader<'static>>,
    /// Why it gave up, said again to every later read (say [`Verifying::finish`]'s), so that
    /// the reason is not replaced by a size mismatch.
    ///
    /// [`Verifying::finish`]: crate::verify::Verifying::finish
    failed: Option<String>,
}

impl Resuming {
    /// After `why`, a new body from byte `got` on; `None` when the server has nothing past it
    /// (416: the file is really that short, which the size check then says).
    fn resume(&mut self, mut why: String) -> io::Result<Option<BodyReader<'static>>> {
        loop {
            if self.resumes >= self.http.net.retries {
                return Err(io::Error::other(format!(
                    "{}: {why}; gave up after {} retries with {} of {} bytes received",
                    self.shown, self.resumes, self.got, self.size
                )));
            }
            self.http.pause(self.resumes);
            self.resumes += 1;
            match self.reconnect() {
                Ok(body) => return Ok(body),
                Err(Failure::Retry(w)) => why = w,
                Err(Failure::NotFound(w) | Failure::Fatal(w)) => {
                    return Err(io::Error::other(format!(
                        "{}: {w}, resuming after {} of {} bytes",
                        self.shown, self.got, self.size
                    )))
                }
            }
        }
    }

    fn reconnect(&self) -> Result<Option<BodyReader<'static>>, Failure> {
        let response = self.http.get(&self.url, self.got)?;
        match response.status().as_u16() {
            206 => {
                // A server that resumes elsewhere than asked would splice in the wrong bytes;
                // the hash would catch it, but the message would mislead.
                let range = response
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let start = range
                    .strip_prefix("bytes ")
                    .and_then(|r| r.split('-').next())
                    .and_then(|n| n.trim().parse::<u64>().ok());
                if start != Some(self.got) {
                    return Err(Failure::Fatal(format!(
                        "asked for bytes from {}, the server sent Content-Range {:?}",
                        self.got,
                        debgate_facts::text::one_line(range)
                    )));
                }
                Ok(Some(response.into_body().into_reader()))
            }
            200 => {
                // Range not honoured: the whole file again; what was already read is skipped.
                let mut body = response.into_body().into_reader();
                let skipped = io::copy(&mut (&mut body).take(self.got), &mut io::sink())
                    .map_err(|e| Failure::Retry(format!("reading it: {e}")))?;
                if skipped < self.got {
                    return Err(Failure::Retry(format!(
                        "the body ended after {skipped} bytes"
                    )));
                }
                Ok(Some(body))
            }
            416 => Ok(None),
            _ => Err(judge(&response)),
        }
    }
}

impl Read for Resuming {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(why) = &self.failed {
            return Err(io::Error::other(why.clone()));
        }
        loop {
            let Some(body) = self.body.as_mut() else {
                return Ok(0);
            };
            let why = match body.read(buf) {
                Ok(0) if self.got >= self.size => return Ok(0),
                Ok(0) => "the connection ended early".to_string(),
                Ok(n) => {
                    self.got += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => e.to_string(),
            };
            self.body = None;
            match self.resume(why) {
                Ok(Some(body)) => self.body = Some(body),
                Ok(None) => return Ok(0),
                Err(e) => {
                    self.failed = Some(e.to_string());
                    return Err(e);
                }
            }
        }
    }
}

/// `url` without the `user:password@` of its authority, for messages.
pub(crate) fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://{}{path}", &authority[at + 1..]),
        None => url.to_string(),
    }
}

/// One path segment as a URL path segment: unreserved characters and the sub-delimiters that
/// Debian file names use (`+`, `~`, `:` ...) kept, everything else (`%`, `?`, `#`, spaces,
/// control and non-ASCII bytes) percent-encoded, so that no name can change which URL is asked.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'+'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_a_message() {
        assert_eq!(
            without_credentials("https://me:secret@h.example/debian"),
            "https://h.example/debian"
        );
        assert_eq!(
            without_credentials("http://a@b@h/x@y"),
            "http://h/x@y",
            "the last @ of the authority ends the credentials"
        );
        assert_eq!(without_credentials("http://h/x"), "http://h/x");
    }

    #[test]
    fn a_segment_cannot_change_the_url() {
        assert_eq!(
            encode_segment("g++_1:2~b1_amd64.deb"),
            "g++_1:2~b1_amd64.deb"
        );
        assert_eq!(encode_segment("a?b#c d%"), "a%3Fb%23c%20d%25");
        assert_eq!(encode_segment("é\n"), "%C3%A9%0A");
    }
}
