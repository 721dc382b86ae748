use std::net::TcpListener;

use super::ServerError;

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// Another process may grab it before the caller binds it; [`super::RedisServer::start`]
/// detects that race and retries with a new port.
pub fn free_loopback_port() -> Result<u16, ServerError> {
    free_port("127.0.0.1")
}

/// Returns a TCP port on `bind` that was free a moment ago.
pub(super) fn free_port(bind: &str) -> Result<u16, ServerError> {
    TcpListener::bind((bind, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| ServerError::Io {
            what: format!("picking a free TCP port on {bind}"),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_loopback_port_is_bindable() {
        let port = free_loopback_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
