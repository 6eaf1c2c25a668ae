//! The one place berth reads and writes YAML, so the deprecated `serde_yaml` can be swapped for
//! a maintained fork by changing this file alone.

use serde::{Serialize, de::DeserializeOwned};

/// A YAML (de)serialisation failure.
#[derive(Debug, thiserror::Error)]
#[error("invalid YAML: {0}")]
pub struct Error(#[from] serde_yaml::Error);

/// Serialises one document (no leading `---`).
pub fn to_string<T: Serialize>(value: &T) -> Result<String, Error> {
    Ok(serde_yaml::to_string(value)?)
}

/// Parses one document.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    Ok(serde_yaml::from_str(text)?)
}

/// Parses every document of a multi-document stream, skipping empty ones.
pub fn documents<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc)?;
        if !value.is_null() {
            out.push(serde_yaml::from_value(value)?);
        }
    }
    Ok(out)
}

use serde::Deserialize as _;
