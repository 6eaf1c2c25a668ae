//! Reading the manifests `berth plan` is given: files, directories (as a GitOps repository
//! holds them, walked in name order) or `-` for standard input, each a multi-document YAML
//! stream. `kind: List` documents are unpacked; everything else is kept as JSON for the
//! planners to pick from.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
};

use serde_json::Value;

use super::Error;

/// One object from the manifests, with where it came from.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The file it was read from (`-` for standard input).
    pub source: PathBuf,
    /// Its namespace: `metadata.namespace`, or the default one.
    pub namespace: String,
    pub object: Value,
}

impl Manifest {
    /// `kind` of the object.
    #[must_use]
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    /// `metadata.name` of the object.
    #[must_use]
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// Whether it is a berth kind.
    #[must_use]
    pub fn is_berth(&self) -> bool {
        self.object["apiVersion"]
            .as_str()
            .is_some_and(|a| a.starts_with("berth.dev/"))
    }
}

/// Every object in `inputs`, in order, placed in `namespace` unless it names its own.
pub fn load(inputs: &[PathBuf], namespace: &str) -> Result<Vec<Manifest>, Error> {
    let mut out = Vec::new();
    for input in inputs {
        for path in files(input)? {
            let text = read(&path)?;
            let documents =
                crate::yaml::documents::<Value>(&text).map_err(|source| Error::Parse {
                    path: path.clone(),
                    source,
                })?;
            for doc in documents {
                unpack(doc, &path, namespace, &mut out);
            }
        }
    }
    Ok(out)
}

fn unpack(doc: Value, path: &Path, namespace: &str, out: &mut Vec<Manifest>) {
    if doc["kind"] == "List" {
        for item in doc["items"].as_array().cloned().unwrap_or_default() {
            unpack(item, path, namespace, out);
        }
        return;
    }
    if doc["kind"].as_str().is_none_or(str::is_empty) {
        return;
    }
    let namespace = doc["metadata"]["namespace"]
        .as_str()
        .unwrap_or(namespace)
        .to_string();
    out.push(Manifest {
        source: path.to_path_buf(),
        namespace,
        object: doc,
    });
}

/// The files behind one input: itself, or the YAML/JSON files under a directory.
fn files(input: &Path) -> Result<Vec<PathBuf>, Error> {
    if input == Path::new("-") || !input.is_dir() {
        return Ok(vec![input.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut stack = vec![input.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| Error::Read {
                    path: dir.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
                // kustomization.yaml is build input, not an object to plan.
                && path.file_stem().and_then(|s| s.to_str()) != Some("kustomization")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn read(path: &Path) -> Result<String, Error> {
    let mut text = String::new();
    let result = if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text).map(|_| ()))
    };
    result.map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: a directory is read like a GitOps repository holds it: nested files in name
    // order, Lists unpacked, kustomization.yaml and non-YAML files skipped, namespaces kept
    // or defaulted.
    #[test]
    fn directories_lists_and_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(
            dir.path().join("b/env.yaml"),
            "apiVersion: berth.dev/v1alpha1\nkind: Environment\nmetadata: {name: prod, namespace: shop}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("a.yml"),
            "kind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n---\n---\n{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "resources: [a.yml]\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("README.md"), "# not yaml").unwrap();
        let got = load(&[dir.path().to_path_buf()], "default").unwrap();
        let seen: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|m| (m.kind(), m.name(), m.namespace.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("Secret", "s", "default"),
                ("ConfigMap", "c", "default"),
                ("Environment", "prod", "shop")
            ]
        );
        assert!(got[2].is_berth() && !got[0].is_berth());
    }

    // Protects: a broken file is named in the error.
    #[test]
    fn unparsable_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, "kind: [unclosed\n").unwrap();
        let err = load(std::slice::from_ref(&path), "default").unwrap_err();
        assert!(err.to_string().contains("bad.yaml"), "{err}");
    }
}
