//! Where a unit's file lives on the host that counts it. The client queues
//! paths as it sees them (possibly relative to its working directory) and
//! records its working directory and the input root (the deepest folder
//! holding every input). A worker on another host that mounts that root
//! elsewhere passes `--input-root DIR`; one that sees the same files at the
//! same place passes nothing.

use std::path::{Path, PathBuf};

use super::Unit;

/// Rewrites unit paths from the client's view to this host's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputMap {
    /// The client's working directory (relative unit paths start there).
    pub client_dir: PathBuf,
    /// The input root on the client.
    pub from_root: PathBuf,
    /// The same folder on this host (`None`: the same path as on the client).
    pub to_root: Option<PathBuf>,
}

impl InputMap {
    /// The path of `path` (as queued) on this host.
    pub(crate) fn path(&self, path: &Path) -> PathBuf {
        let absolute = self.client_dir.join(path);
        match &self.to_root {
            Some(to) => match absolute.strip_prefix(&self.from_root) {
                Ok(rest) if rest.as_os_str().is_empty() => to.clone(),
                Ok(rest) => to.join(rest),
                Err(_) => absolute,
            },
            None => absolute,
        }
    }

    /// `unit` with its path mapped to this host.
    pub(crate) fn unit(&self, unit: &Unit) -> Unit {
        Unit {
            path: self.path(&unit.path),
            ..unit.clone()
        }
    }
}

/// The deepest folder that holds every one of `paths` (made absolute
/// against `client_dir`); `client_dir` itself when there are none.
pub fn input_root<'a>(client_dir: &Path, paths: impl IntoIterator<Item = &'a Path>) -> PathBuf {
    let mut root: Option<PathBuf> = None;
    for path in paths {
        let absolute = client_dir.join(path);
        let folder = absolute
            .parent()
            .map_or(absolute.clone(), Path::to_path_buf);
        root = Some(match root {
            None => folder,
            Some(current) => common_prefix(&current, &folder),
        });
    }
    root.unwrap_or_else(|| client_dir.to_path_buf())
}

fn common_prefix(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_deepest_common_folder() {
        let dir = Path::new("/home/u");
        let root = input_root(
            dir,
            [
                Path::new("books/a/x.txt"),
                Path::new("/home/u/books/b/y.txt"),
            ],
        );
        assert_eq!(root, PathBuf::from("/home/u/books"));
        assert_eq!(input_root(dir, []), PathBuf::from("/home/u"));
    }

    #[test]
    fn paths_under_the_root_move_to_the_local_root_and_others_stay() {
        let map = InputMap {
            client_dir: "/home/u".into(),
            from_root: "/home/u/books".into(),
            to_root: Some("/mnt/books".into()),
        };
        assert_eq!(
            map.path(Path::new("books/a/x.txt")),
            PathBuf::from("/mnt/books/a/x.txt")
        );
        assert_eq!(
            map.path(Path::new("/etc/hosts")),
            PathBuf::from("/etc/hosts")
        );
        let same = InputMap {
            to_root: None,
            ..map
        };
        assert_eq!(
            same.path(Path::new("books/x.txt")),
            PathBuf::from("/home/u/books/x.txt")
        );
    }
}
