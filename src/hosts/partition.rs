//! The partition fault, parsed once: `host-N:at:MS:for:MS` cuts host N off
//! Redis MS milliseconds after the workers start, for MS milliseconds.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One host cut off for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// The host (1-based, as in `host-1`).
    pub host: u32,
    /// When, after the workers start.
    pub at: Duration,
    /// For how long.
    pub length: Duration,
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Partition, String> {
        let usage = || {
            format!(
                "partition {text:?}: write host-N:at:MS:for:MS, e.g. host-1:at:1000:for:3000 (host 1 cut off 1 s after the workers start, for 3 s)"
            )
        };
        let parts: Vec<&str> = text.trim().split(':').collect();
        let [host, "at", at, "for", length] = parts[..] else {
            return Err(usage());
        };
        let host: u32 = host
            .strip_prefix("host-")
            .and_then(|n| n.parse().ok())
            .filter(|&n| n >= 1)
            .ok_or_else(usage)?;
        let at: u64 = at.parse().map_err(|_| usage())?;
        let length: u64 = length.parse().map_err(|_| usage())?;
        if length == 0 {
            return Err(format!(
                "{}: the partition must last at least 1 ms",
                usage()
            ));
        }
        Ok(Partition {
            host,
            at: Duration::from_millis(at),
            length: Duration::from_millis(length),
        })
    }
}

impl serde::Serialize for Partition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "host-{}:at:{}:for:{}",
            self.host,
            self.at.as_millis(),
            self.length.as_millis()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_once_and_print_back() {
        let p: Partition = "host-1:at:1000:for:3000".parse().unwrap();
        assert_eq!(
            p,
            Partition {
                host: 1,
                at: Duration::from_secs(1),
                length: Duration::from_secs(3)
            }
        );
        assert_eq!(p.to_string(), "host-1:at:1000:for:3000");
        for bad in [
            "host-0:at:1:for:1",
            "h1:at:1:for:1",
            "host-1:at:x:for:1",
            "host-1:at:1:for:0",
            "host-1:at:1",
        ] {
            let err = bad.parse::<Partition>().unwrap_err();
            assert!(err.contains("host-N:at:MS:for:MS"), "{bad}: {err}");
        }
    }
}
