//! The `proxy` shaper: a userspace TCP proxy per host, for kernels without
//! netem. It listens on the bridge's address (reachable from every host's
//! namespace, so a cut of the host's link cuts its traffic too), forwards
//! each connection to Redis, and delays each direction's bytes by the
//! [`Schedule`] (half the RTT each way, jitter, rate, loss as a
//! retransmission delay), order preserved.
//!
//! Each direction of a connection is one thread that reads and one that
//! writes when a chunk is due; a direction with nothing to shape is one
//! thread copying bytes straight through (the cost at RTT 0 is one
//! userspace hop). Dropping the proxy stops accepting, shuts every
//! connection down and joins the accepting thread.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::super::LinkShape;
use super::delay::Schedule;

/// Bytes read at once.
const CHUNK: usize = 64 * 1024;
/// How often the accepting thread looks at the stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(5);
/// Connect timeout towards Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One running delay proxy; dropping it stops it.
#[derive(Debug)]
pub(crate) struct DelayProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl DelayProxy {
    /// Listens on `listen` (port 0: a free one) and forwards every
    /// connection to `upstream`, shaped by `shape`.
    pub(crate) fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        shape: LinkShape,
    ) -> io::Result<DelayProxy> {
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let accept = {
            let (stop, streams) = (Arc::clone(&stop), Arc::clone(&streams));
            std::thread::Builder::new()
                .name(format!("proxy-{addr}"))
                .spawn(move || accept_loop(&listener, upstream, shape, &stop, &streams))?
        };
        Ok(DelayProxy {
            addr,
            stop,
            streams,
            accept: Some(accept),
        })
    }

    /// Where clients connect.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        if let Ok(streams) = self.streams.lock() {
            for stream in streams.iter() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    upstream: SocketAddr,
    shape: LinkShape,
    stop: &AtomicBool,
    streams: &Mutex<Vec<TcpStream>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if let Err(e) = connect(client, upstream, shape, streams) {
                    eprintln!("warning: delay proxy {upstream}: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("warning: delay proxy stopped accepting: {e}");
                return;
            }
        }
    }
}

/// Joins `client` to a new connection to `upstream`, both directions shaped.
fn connect(
    client: TcpStream,
    upstream: SocketAddr,
    shape: LinkShape,
    streams: &Mutex<Vec<TcpStream>>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_nodelay(true)?;
    let server = TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT)?;
    server.set_nodelay(true)?;
    if let Ok(mut list) = streams.lock() {
        // Forget connections that ended (their clones fail peer_addr).
        list.retain(|s| s.peer_addr().is_ok());
        list.push(client.try_clone()?);
        list.push(server.try_clone()?);
    }
    let up = Schedule::new(&shape, true);
    let down = Schedule::new(&shape, false);
    forward(client.try_clone()?, server.try_clone()?, up)?;
    forward(server, client, down)?;
    Ok(())
}

/// Copies `from` to `to` on the schedule; at the end of `from`, shuts `to`'s
/// writing half (an error shuts both sockets).
fn forward(from: TcpStream, to: TcpStream, schedule: Schedule) -> io::Result<()> {
    if schedule.is_immediate() {
        std::thread::Builder::new().spawn(move || {
            let (mut from, mut to) = (from, to);
            let mut buf = vec![0u8; CHUNK];
            let result = copy_direct(&mut from, &mut to, &mut buf);
            finish(&from, &to, result);
        })?;
        return Ok(());
    }
    let (send, receive) = mpsc::channel::<(Instant, Vec<u8>)>();
    let (reader_from, reader_to) = (from.try_clone()?, to.try_clone()?);
    std::thread::Builder::new().spawn(move || {
        let mut schedule = schedule;
        let mut from = reader_from;
        let mut buf = vec![0u8; CHUNK];
        loop {
            match from.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    let due = schedule.due(Instant::now(), n, rand::random::<f64>);
                    if send.send((due, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = reader_to.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    })?;
    std::thread::Builder::new().spawn(move || {
        // Sleeps end within ~1 us of the due time instead of the default
        // 50 us timer slack (two sleeps per round trip).
        // SAFETY: PR_SET_TIMERSLACK only changes this thread's timer slack.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0);
        }
        let mut to = to;
        let result = (|| {
            for (due, bytes) in receive {
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                to.write_all(&bytes)?;
            }
            Ok(())
        })();
        finish(&from, &to, result);
    })?;
    Ok(())
}

fn copy_direct(from: &mut TcpStream, to: &mut TcpStream, buf: &mut [u8]) -> io::Result<()> {
    loop {
        match from.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => to.write_all(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Ends one direction: its sender finished (pass the end on) or failed
/// (close both sockets).
fn finish(from: &TcpStream, to: &TcpStream, result: io::Result<()>) {
    match result {
        Ok(()) => {
            let _ = to.shutdown(Shutdown::Write);
        }
        Err(_) => {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on loopback; returns its address.
    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    let mut reader = stream.try_clone().unwrap();
                    let _ = io::copy(&mut reader, &mut stream);
                });
            }
        });
        addr
    }

    /// Median round trip of `n` 1-byte pings, and whether a 300 kB
    /// stream came back intact and in order.
    fn through(shape: LinkShape, n: usize) -> (Duration, bool) {
        let echo = echo_server();
        let proxy = DelayProxy::start("127.0.0.1:0".parse().unwrap(), echo, shape).unwrap();
        let mut con = TcpStream::connect(proxy.addr()).unwrap();
        con.set_nodelay(true).unwrap();
        con.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut times = Vec::new();
        let mut byte = [0u8; 1];
        for i in 0..n {
            let started = Instant::now();
            con.write_all(&[i as u8]).unwrap();
            con.read_exact(&mut byte).unwrap();
            assert_eq!(byte[0], i as u8);
            times.push(started.elapsed());
        }
        times.sort();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut writer = con.try_clone().unwrap();
        let sent = data.clone();
        let sender = std::thread::spawn(move || writer.write_all(&sent).unwrap());
        let mut back = vec![0u8; data.len()];
        con.read_exact(&mut back).unwrap();
        sender.join().unwrap();
        drop(proxy);
        (times[times.len() / 2], back == data)
    }

    #[test]
    fn the_round_trip_is_the_configured_rtt_and_bytes_stay_in_order() {
        let (rtt, intact) = through(
            LinkShape {
                rtt_ms: 20.0,
                jitter_ms: 4.0,
                ..LinkShape::default()
            },
            15,
        );
        assert!(intact, "bytes changed or reordered through the proxy");
        // Loose bounds: 20 ms +- 2 ms jitter, plus scheduling noise.
        assert!(
            rtt >= Duration::from_millis(17) && rtt < Duration::from_millis(80),
            "median round trip {rtt:?}, configured 20 ms"
        );
        let (rtt, intact) = through(LinkShape::default(), 15);
        assert!(intact);
        assert!(
            rtt < Duration::from_millis(20),
            "unshaped round trip {rtt:?}"
        );
        let (_, intact) = through(
            LinkShape {
                rtt_ms: 1.0,
                rate_mbit: 50.0,
                loss_pct: 1.0,
                ..LinkShape::default()
            },
            3,
        );
        assert!(intact, "rate and loss must not change the bytes");
    }
}
