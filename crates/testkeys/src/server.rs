//! A small HTTP/1.1 server on 127.0.0.1 for tests: it serves a directory (a repository built
//! in the test) and misbehaves on request, path by path, so that a client's handling of each
//! network fault can be tested without a network. Std only; one thread per connection; every
//! response closes its connection, so each request is a fresh one.
//!
//! ```no_run
//! use debgate_testkeys::server::{Fault, Server};
//! let dir = std::path::Path::new("/tmp/repo");
//! let server = Server::serve(dir);
//! server.fault("/pool/main/a.deb", Fault::TruncateOnce);
//! let url = server.url(); // http://127.0.0.1:PORT, serving dir at /
//! ```
//!
//! It stops by itself when dropped: the accepting thread ends, and a stalled connection gives
//! up within [`STALL_LIMIT`] at the latest.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a [`Fault::Stall`] connection is held open, so that a test that forgot its
/// timeout still ends.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// The most of a request's head the server reads.
const MAX_HEAD: usize = 16 * 1024;

/// How a path misbehaves. Several may be set on one path (say [`Fault::TruncateOnce`] and
/// [`Fault::NoRange`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 404 Not Found, as if the file were not there.
    NotFound,
    /// 500 Internal Server Error, every time.
    ServerError,
    /// 500 the first time, then the file.
    ServerErrorOnce,
    /// The headers (with the whole length as `Content-Length`), half the body, then the
    /// connection closed; every time.
    Truncate,
    /// [`Fault::Truncate`] the first time, then the file.
    TruncateOnce,
    /// The body with its middle byte changed (same length).
    WrongBytes,
    /// The body with bytes added at the end (`Content-Length` says so too).
    ExtraBytes,
    /// The request read, then no answer at all until the server is dropped.
    Stall,
    /// `Range` ignored on this path: the whole file, as 200.
    NoRange,
    /// 302 to this path on the same server.
    Redirect(String),
}

/// One request the server answered (or stalled on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The path as requested, percent-escapes decoded.
    pub path: String,
    /// `N` of a `Range: bytes=N-` header.
    pub range_from: Option<u64>,
}

struct State {
    root: PathBuf,
    faults: Mutex<HashMap<String, Vec<Fault>>>,
    /// How many times each path was asked for: what the `...Once` faults count.
    seen: Mutex<HashMap<String, u32>>,
    log: Mutex<Vec<Request>>,
    ranges: AtomicBool,
    stop: AtomicBool,
}

/// The server. Dropping it stops it.
pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
    accepting: Option<JoinHandle<()>>,
}

/// A lock, even if a connection thread panicked while holding it: the data is test
/// bookkeeping.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Server {
    /// Serve `root` at `/` on a free port of 127.0.0.1, with `Range` requests honoured.
    pub fn serve(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State {
            root: root.to_path_buf(),
            faults: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            ranges: AtomicBool::new(true),
            stop: AtomicBool::new(false),
        });
        let accept_state = Arc::clone(&state);
        let accepting = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&accept_state);
                std::thread::spawn(move || {
                    // A failed write means the client went away: nothing to do about it.
                    let _ = answer(&state, stream);
                });
            }
        });
        Server {
            addr,
            state,
            accepting: Some(accepting),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Make `path` (as requested, starting with `/`) misbehave so, besides its other faults.
    pub fn fault(&self, path: &str, fault: Fault) {
        lock(&self.state.faults)
            .entry(path.to_string())
            .or_default()
            .push(fault);
    }

    /// Every path behaves again, and the `...Once` faults count from zero.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
        lock(&self.state.seen).clear();
    }

    /// Whether `Range: bytes=N-` is honoured (206) or ignored (200, the whole file) on every
    /// path. On by default.
    pub fn ranges(&self, on: bool) {
        self.state.ranges.store(on, Ordering::SeqCst);
    }

    /// The requests answered so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state.log).clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accepting.take() {
            let _ = t.join();
        }
    }
}

/// The request's path (decoded) and `Range` start, or `None` for a request this server does
/// not understand.
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?, first.next()?);
    if method != "GET" {
        return None;
    }
    let range_from = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("range") {
            return None;
        }
        value
            .trim()
            .strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse()
            .ok()
    });
    Some(Request {
        path: percent_decode(target.split(['?', '#']).next()?)?,
        range_from,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file `path` names under the root, if it is a regular file there.
fn file(state: &State, path: &str) -> Option<Vec<u8>> {
    let rel = path.strip_prefix('/')?;
    if rel.split('/').any(|s| s == "..") {
        return None;
    }
    let full = state.root.join(rel);
    if !full.is_file() {
        return None;
    }
    std::fs::read(full).ok()
}

fn answer(state: &State, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let Some(request) = read_request(&mut stream) else {
        return simple(&mut stream, "400 Bad Request");
    };
    lock(&state.log).push(request.clone());
    let seen = {
        let mut seen = lock(&state.seen);
        let n = seen.entry(request.path.clone()).or_default();
        *n += 1;
        *n
    };
    let faults = lock(&state.faults)
        .get(&request.path)
        .cloned()
        .unwrap_or_default();
    let has = |f: &Fault| faults.contains(f);
    if has(&Fault::Stall) {
        let start = Instant::now();
        while !state.stop.load(Ordering::SeqCst) && start.elapsed() < STALL_LIMIT {
            std::thread::sleep(Duration::from_millis(10));
        }
        return Ok(());
    }
    if has(&Fault::NotFound) {
        return simple(&mut stream, "404 Not Found");
    }
    if has(&Fault::ServerError) || (has(&Fault::ServerErrorOnce) && seen == 1) {
        return simple(&mut stream, "500 Internal Server Error");
    }
    if let Some(to) = faults.iter().find_map(|f| match f {
        Fault::Redirect(to) => Some(to),
        _ => None,
    }) {
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes())?;
        return stream.flush();
    }
    let Some(mut body) = file(state, &request.path) else {
        return simple(&mut stream, "404 Not Found");
    };
    if has(&Fault::WrongBytes) && !body.is_empty() {
        let mid = body.len() / 2;
        body[mid] ^= 0x55;
    }
    if has(&Fault::ExtraBytes) {
        body.extend_from_slice(b"and more");
    }
    let total = body.len() as u64;
    let ranged = state.ranges.load(Ordering::SeqCst) && !has(&Fault::NoRange);
    let (status, extra, body) = match request.range_from {
        Some(from) if ranged && from >= total => {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{total}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes())?;
            return stream.flush();
        }
        Some(from) if ranged => (
            "206 Partial Content",
            format!("Content-Range: bytes {from}-{}/{total}\r\n", total - 1),
            &body[from as usize..],
        ),
        _ => ("200 OK", String::new(), &body[..]),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if has(&Fault::Truncate) || (has(&Fault::TruncateOnce) && seen == 1) {
        stream.write_all(&body[..body.len() / 2])?;
        stream.flush()?;
        return stream.shutdown(Shutdown::Both);
    }
    stream.write_all(body)?;
    stream.flush()
}

fn simple(stream: &mut TcpStream, status: &str) -> std::io::Result<()> {
    let head = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.flush()
}
