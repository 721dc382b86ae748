//! The `external` topology: a Redis the user points to with a URL. Nothing
//! is started, killed or stopped; it has no nodes the harness could name.

use super::{DeadNode, NodeView, Topology};
use crate::servers::ServerError;

/// A server the harness does not own.
#[derive(Debug)]
pub struct External {
    url: String,
}

impl External {
    /// The server at `url`.
    pub fn new(url: &str) -> External {
        External {
            url: url.to_owned(),
        }
    }
}

impl Topology for External {
    fn name(&self) -> &'static str {
        "external"
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn managed(&self) -> bool {
        false
    }

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
