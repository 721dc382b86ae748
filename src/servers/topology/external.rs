//! The `external` topology: a Redis the user points to with a URL. Nothing
//! is started, killed or stopped; it has no nodes the harness could name.

use super::{DeadNode, NodeView, Revival, Rules, Settings, Topology, TopologySpec};

/// The rules of `external`.
pub(super) struct ExternalRules;

/// The one instance [`super::rules`] hands out.
pub(super) static RULES: ExternalRules = ExternalRules;

impl Rules for ExternalRules {
    fn name(&self) -> &'static str {
        "external"
    }

    fn parameters(&self) -> &'static [&'static str] {
        &[]
    }

    fn node_names(&self, _f: u32) -> Vec<String> {
        Vec::new()
    }

    fn survives(&self, _f: u32, _down: &[String]) -> bool {
        true
    }

    fn revival(&self, _name: &str) -> Revival {
        Revival::Never
    }

    fn spec(&self, settings: &Settings<'_>) -> TopologySpec {
        TopologySpec::External {
            url: settings.url.to_owned(),
        }
    }

    fn chaos_kill(&self, _rng: &mut rand::rngs::StdRng) -> (String, u32) {
        ("none".to_owned(), 0)
    }
}
use crate::servers::ServerError;

/// A server the harness does not own.
#[derive(Debug)]
pub(crate) struct External {
    url: String,
}

impl External {
    /// The server at `url`.
    pub(crate) fn new(url: &str) -> External {
        External {
            url: url.to_owned(),
        }
    }
}

impl Topology for External {
    fn rules(&self) -> &'static dyn Rules {
        &RULES
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn managed(&self) -> bool {
        false
    }

    #[cfg(test)]

    fn node_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn nodes(&mut self) -> Vec<NodeView> {
        Vec::new()
    }

    fn primary(&mut self) -> Option<String> {
        None
    }

    fn kill(&mut self, name: &str) -> Result<(), ServerError> {
        Err(ServerError::UnexpectedOutput {
            what: format!("node {name} (an external server is never killed)"),
            output: String::new(),
        })
    }

    fn restart(&mut self, name: &str) -> Result<(), ServerError> {
        self.kill(name)
    }

    fn died(&mut self) -> Option<DeadNode> {
        None
    }

    fn pids(&self) -> Vec<u32> {
        Vec::new()
    }
}
