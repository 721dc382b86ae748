//! The partition fault, parsed once: `host-N:at:MS:for:MS` cuts host N off
//! Redis MS milliseconds after the workers start, for MS milliseconds;
//! `host-N:at:P%:for:MS` when P% of the units are acknowledged (the
//! [`FaultTime`] every fault kind shares, its `at:` forms).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::faults::FaultTime;

/// One host cut off for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// The host (1-based, as in `host-1`).
    pub host: u32,
    /// When: `at:MS` after the workers start, or `at:P%` of the units
    /// acknowledged (never an `every:` form).
    pub at: FaultTime,
    /// For how long.
    pub length: Duration,
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Partition, String> {
        let usage = || {
            format!(
                "partition {text:?}: write host-N:at:MS:for:MS or host-N:at:P%:for:MS, e.g. host-1:at:1000:for:3000 (host 1 cut off 1 s after the workers start, for 3 s) or host-1:at:50%:for:3000 (when half the units are acknowledged)"
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
        let at = match format!("at:{at}").parse::<FaultTime>() {
            Ok(time @ (FaultTime::At(_) | FaultTime::AtProgress(_))) => time,
            Ok(_) => return Err(usage()),
            Err(e) => return Err(format!("{}: {e}", usage())),
        };
        let length: u64 = length.parse().map_err(|_| usage())?;
        if length == 0 {
            return Err(format!(
                "{}: the partition must last at least 1 ms",
                usage()
            ));
        }
        Ok(Partition {
            host,
            at,
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
            "host-{}:{}:for:{}",
            self.host,
            self.at,
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
                at: FaultTime::At(1000),
                length: Duration::from_secs(3)
            }
        );
        assert_eq!(p.to_string(), "host-1:at:1000:for:3000");
        let half: Partition = "host-2:at:50%:for:1000".parse().unwrap();
        assert_eq!(half.at, "at:50%".parse().unwrap());
        assert_eq!(half.to_string(), "host-2:at:50%:for:1000");
        for bad in [
            "host-0:at:1:for:1",
            "h1:at:1:for:1",
            "host-1:at:x:for:1",
            "host-1:at:1:for:0",
            "host-1:at:1",
            "host-1:at:101%:for:5",
            "host-1:every:5:for:5",
        ] {
            let err = bad.parse::<Partition>().unwrap_err();
            assert!(err.contains("host-N:at:MS:for:MS"), "{bad}: {err}");
        }
    }
}
