use std::env;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::ServerError;

/// Directories searched after `PATH`, where distributions and `make install` put Redis.
const FALLBACK_DIRS: [&str; 3] = ["/usr/bin", "/usr/sbin", "/usr/local/bin"];

/// Finds `redis-server` on `PATH`, then in /usr/bin, /usr/sbin and /usr/local/bin.
pub fn find_redis_server() -> Result<PathBuf, ServerError> {
    find_binary("redis-server")
}

/// Finds `redis-sentinel` like [`find_redis_server`].
pub fn find_redis_sentinel() -> Result<PathBuf, ServerError> {
    find_binary("redis-sentinel")
}

/// Returns the version `binary --version` reports, e.g. "7.0.15".
pub fn redis_server_version(binary: &Path) -> Result<String, ServerError> {
    let output = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => not_installed(binary),
            _ => ServerError::Io {
                what: format!("running {} --version", binary.display()),
                source,
            },
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .split_whitespace()
        .find_map(|word| word.strip_prefix("v="))
        .map(str::to_owned)
        .ok_or_else(|| ServerError::UnexpectedOutput {
            what: format!(
                "a version (v=...) in the output of {} --version",
                binary.display()
            ),
            output: stdout.into_owned(),
        })
}

/// Returns `binary` if it is an executable file, else [`ServerError::NotInstalled`].
pub(crate) fn executable(binary: PathBuf) -> Result<PathBuf, ServerError> {
    if is_executable(&binary) {
        Ok(binary)
    } else {
        Err(not_installed(&binary))
    }
}

fn find_binary(name: &str) -> Result<PathBuf, ServerError> {
    let path_dirs = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(FALLBACK_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| ServerError::NotInstalled {
            binary: name.to_owned(),
        })
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn not_installed(binary: &Path) -> ServerError {
    ServerError::NotInstalled {
        binary: binary.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_redis_server_and_reads_its_version() {
        let binary = find_redis_server().unwrap();
        let version = redis_server_version(&binary).unwrap();
        let parts: Vec<&str> = version.split('.').collect();
        assert_eq!(parts.len(), 3, "unexpected version {version:?}");
        assert!(
            parts.iter().all(|p| p.parse::<u32>().is_ok()),
            "unexpected version {version:?}"
        );
    }

    #[test]
    fn missing_binary_is_not_installed() {
        let missing = Path::new("/nonexistent/redis-server");
        assert!(matches!(
            redis_server_version(missing),
            Err(ServerError::NotInstalled { binary }) if binary == "/nonexistent/redis-server"
        ));
        assert!(matches!(
            executable(missing.to_path_buf()),
            Err(ServerError::NotInstalled { .. })
        ));
    }

    #[test]
    fn not_installed_message_says_what_to_do() {
        let message = ServerError::NotInstalled {
            binary: "redis-server".into(),
        }
        .to_string();
        assert_eq!(
            message,
            "redis-server not found on PATH: install it (Debian/Ubuntu: sudo apt-get install -y \
             redis-server) or pass --redis-url to use an existing server"
        );
    }
}
