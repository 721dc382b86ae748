//! How one run parameter's value is written: read from TOML, parsed from
//! text (command lines, `[[inexact]]` matches) and written as text (CSV
//! cells, run descriptions). Lists of per-worker settings are written as
//! `;`-separated text (`"0:0.5;1:0.25"`) or as a TOML array of such items.

use std::fmt::Display;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A type a run parameter can have.
pub(crate) trait ParamValue: Sized + Clone + PartialEq {
    /// Parses the text form (`true`, `500`, `0:mid-commit;1:after-read:2`).
    fn parse_text(text: &str) -> Result<Self, String>;
    /// The text form, as written in CSV cells and run descriptions.
    fn text(&self) -> String;
    /// Reads the value from TOML (or any serde format).
    fn from_toml<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
    /// The command-line arguments that set this value with `flag`
    /// (`--flag VALUE`; a flag alone for `true`; the flag once per item of a list).
    fn command_line(&self, flag: &str) -> Vec<String> {
        vec![flag.to_owned(), self.text()]
    }
}

/// Plain values: read as themselves, written with `Display`.
macro_rules! plain_value {
    ($($ty:ty),*) => {$(
        impl ParamValue for $ty {
            fn parse_text(text: &str) -> Result<Self, String> {
                text.trim().parse::<$ty>().map_err(|e| format!("bad value {text:?}: {e}"))
            }
            fn text(&self) -> String {
                self.to_string()
            }
            fn from_toml<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$ty>::deserialize(deserializer)
            }
        }
    )*};
}
plain_value!(u32, u64, f64, String);

impl ParamValue for bool {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<bool>()
            .map_err(|e| format!("bad value {text:?}: {e}"))
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn from_toml<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bool::deserialize(deserializer)
    }
    fn command_line(&self, flag: &str) -> Vec<String> {
        if *self {
            vec![flag.to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// A yes/no run parameter that defaults to yes, so its command line says
/// the value (`--restart-nodes false`) instead of being a bare flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct YesNo(pub bool);

impl FromStr for YesNo {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "true" | "yes" | "on" => Ok(YesNo(true)),
            "false" | "no" | "off" => Ok(YesNo(false)),
            other => Err(format!("bad value {other:?}: write true or false")),
        }
    }
}

impl Display for YesNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ParamValue for YesNo {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.parse()
    }
    fn text(&self) -> String {
        self.to_string()
    }
    fn from_toml<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bool::deserialize(deserializer).map(YesNo)
    }
}

/// Values written as text in TOML too (`redis_kill = "every:1000"`).
macro_rules! text_value {
    ($($ty:ty),*) => {$(
        impl ParamValue for $ty {
            fn parse_text(text: &str) -> Result<Self, String> {
                text.parse::<$ty>()
            }
            fn text(&self) -> String {
                self.to_string()
            }
            fn from_toml<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse::<$ty>().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
text_value!(
    crate::faults::RedisKill,
    crate::faults::WorkerKill,
    crate::servers::TopologyKind,
    crate::queue::MergeTarget,
    crate::queue::QueueBackend,
    crate::hosts::ShaperKind
);

/// A list of items written `;`-separated (`0:0.5;1:0.25`); "" is empty.
impl<T> ParamValue for Vec<T>
where
    T: FromStr<Err = String> + Display + Clone + PartialEq,
{
    fn parse_text(text: &str) -> Result<Self, String> {
        text.split(';')
            .filter(|item| !item.trim().is_empty())
            .map(|item| item.trim().parse::<T>())
            .collect()
    }

    fn text(&self) -> String {
        self.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(";")
    }

    fn from_toml<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Items(Vec<String>),
        }
        let raw = Raw::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "expected a string such as \"0:0.5;1:0.25\" or a list of such items",
            )
        })?;
        let text = match raw {
            Raw::Text(text) => text,
            Raw::Items(items) => items.join(";"),
        };
        Self::parse_text(&text).map_err(serde::de::Error::custom)
    }

    fn command_line(&self, flag: &str) -> Vec<String> {
        self.iter()
            .flat_map(|item| [flag.to_owned(), item.to_string()])
            .collect()
    }
}

/// A parameter value read from TOML through [`ParamValue::from_toml`]
/// (the tables of `[fixed]` and `[matrix]` hold these).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Toml<T>(pub T);

impl<'de, T: ParamValue> Deserialize<'de> for Toml<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::from_toml(deserializer).map(Toml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{RedisKill, SlowWorker, WorkerCrash};

    #[test]
    fn lists_read_text_or_arrays_and_write_text() {
        let crashes = Vec::<WorkerCrash>::parse_text("0:mid-commit; 1:after-read:3;").unwrap();
        assert_eq!(crashes.text(), "0:mid-commit:1;1:after-read:3");
        assert_eq!(Vec::<WorkerCrash>::parse_text("").unwrap(), vec![]);
        assert!(Vec::<WorkerCrash>::parse_text("0:lunch").is_err());
        #[derive(Deserialize)]
        struct T {
            slow: Toml<Vec<SlowWorker>>,
            also: Toml<Vec<SlowWorker>>,
            kill: Toml<RedisKill>,
        }
        let t: T =
            toml::from_str("slow = \"0:0.5;1:0.25\"\nalso = [\"0:0.5\"]\nkill = \"every:500\"")
                .unwrap();
        assert_eq!(t.slow.0.text(), "0:0.5;1:0.25");
        assert_eq!(t.also.0.len(), 1);
        assert_eq!(t.kill.0, "every:500".parse::<RedisKill>().unwrap());
        assert!(toml::from_str::<T>("slow = \"0:2\"\nalso = []\nkill = \"none\"").is_err());
        assert_eq!(bool::parse_text("true"), Ok(true));
        assert_eq!(1.5f64.text(), "1.5");
    }
}
