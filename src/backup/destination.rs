//! Where backups are written and read back: a directory or an S3-compatible bucket.
//!
//! Nothing that looks like a finished backup exists until [`Upload::commit`]:
//! - filesystem: bytes go to `<id>.dump.partial`, which is fsynced, renamed to `<id>.dump`,
//!   and the directory fsynced;
//! - S3: a multipart upload, which the server only turns into an object on completion; an
//!   upload that is aborted or whose writer dies leaves no object (only parts that the bucket's
//!   abort-incomplete-multipart-upload lifecycle rule removes).
//!
//! The catalogue row turns `complete` only after the commit, so a reader trusts the row, never
//! a directory listing.

use std::{path::PathBuf, sync::Arc};

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _, stream::BoxStream};
use object_store::{
    ObjectStoreExt as _, WriteMultipart,
    aws::{AmazonS3, AmazonS3Builder},
    path::Path as ObjectPath,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::providers::http::Secret;

/// Part size of S3 uploads, and so the most a backup holds in memory per part in flight.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once.
const PARTS_IN_FLIGHT: usize = 2;
/// Read size when streaming a backup back.
const READ_CHUNK: usize = 256 * 1024;

/// A destination failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("failed to {action} {path}")]
    File {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An object store operation failed.
    #[error("failed to {action} {location}")]
    Object {
        action: &'static str,
        location: String,
        #[source]
        source: object_store::Error,
    },
    /// The S3 client could not be configured.
    #[error("failed to configure the S3 client for bucket {bucket}")]
    Configure {
        bucket: String,
        #[source]
        source: object_store::Error,
    },
    /// A location that this destination did not write.
    #[error("{0} is not a location of this destination")]
    Foreign(String),
}

/// S3 settings, credentials included (from the policy's Secret).
#[derive(Clone, Debug)]
pub struct S3Config {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub force_path_style: bool,
}

/// A configured destination.
#[derive(Clone, Debug)]
pub enum Target {
    /// A directory.
    Filesystem { dir: PathBuf },
    /// A bucket and key prefix.
    S3 {
        store: Arc<AmazonS3>,
        bucket: String,
        prefix: String,
    },
}

impl Target {
    /// A directory destination.
    #[must_use]
    pub fn filesystem(dir: impl Into<PathBuf>) -> Self {
        Self::Filesystem { dir: dir.into() }
    }

    /// An S3 destination; makes no request yet.
    pub fn s3(c: &S3Config) -> Result<Self, Error> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&c.bucket)
            .with_region(&c.region)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(c.secret_access_key.expose())
            .with_virtual_hosted_style_request(!c.force_path_style);
        if let Some(endpoint) = &c.endpoint {
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = b.build().map_err(|source| Error::Configure {
            bucket: c.bucket.clone(),
            source,
        })?;
        let prefix = c.prefix.trim_matches('/').to_string();
        Ok(Self::S3 {
            store: Arc::new(store),
            bucket: c.bucket.clone(),
            prefix,
        })
    }

    /// Where backup `id` lives: `file:///dir/<id>.dump` or `s3://bucket/prefix/<id>.dump`.
    #[must_use]
    pub fn location(&self, id: &str) -> String {
        match self {
            Self::Filesystem { dir } => format!("file://{}", dir.join(file_name(id)).display()),
            Self::S3 { bucket, .. } => format!("s3://{bucket}/{}", self.key(id)),
        }
    }

    fn key(&self, id: &str) -> String {
        match self {
            Self::S3 { prefix, .. } if !prefix.is_empty() => format!("{prefix}/{}", file_name(id)),
            _ => file_name(id),
        }
    }

    /// Starts writing backup `id`.
    pub async fn create(&self, id: &str) -> Result<Upload, Error> {
        match self {
            Self::Filesystem { dir } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|source| Error::File {
                        action: "create directory",
                        path: dir.display().to_string(),
                        source,
                    })?;
                let path = dir.join(file_name(id));
                let partial = dir.join(format!("{}.partial", file_name(id)));
                let file =
                    tokio::fs::File::create(&partial)
                        .await
                        .map_err(|source| Error::File {
                            action: "create",
                            path: partial.display().to_string(),
                            source,
                        })?;
                Ok(Upload::File {
                    partial,
                    path,
                    file: tokio::io::BufWriter::with_capacity(READ_CHUNK, file),
                })
            }
            Self::S3 { store, .. } => {
                let location = self.location(id);
                let key = ObjectPath::from(self.key(id));
                let upload = store
                    .put_multipart(&key)
                    .await
                    .map_err(|source| Error::Object {
                        action: "start uploading",
                        location: location.clone(),
                        source,
                    })?;
                Ok(Upload::S3 {
                    location,
                    writer: WriteMultipart::new_with_chunk_size(upload, PART_SIZE),
                })
            }
        }
    }

    /// Streams a backup back, in chunks.
    pub async fn open(
        &self,
        location: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, Error>>, Error> {
        match self {
            Self::Filesystem { .. } => {
                let path = self.path_of(location)?;
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|source| Error::File {
                        action: "open",
                        path: path.display().to_string(),
                        source,
                    })?;
                let shown = path.display().to_string();
                Ok(futures::stream::try_unfold(file, move |mut file| {
                    let shown = shown.clone();
                    async move {
                        let mut buf = vec![0u8; READ_CHUNK];
                        let n = file.read(&mut buf).await.map_err(|source| Error::File {
                            action: "read",
                            path: shown,
                            source,
                        })?;
                        buf.truncate(n);
                        Ok((n > 0).then(|| (Bytes::from(buf), file)))
                    }
                })
                .boxed())
            }
            Self::S3 { store, .. } => {
                let key = self.key_of(location)?;
                let shown = location.to_string();
                let got = store.get(&key).await.map_err(|source| Error::Object {
                    action: "download",
                    location: shown.clone(),
                    source,
                })?;
                Ok(got
                    .into_stream()
                    .map_err(move |source| Error::Object {
                        action: "download",
                        location: shown.clone(),
                        source,
                    })
                    .boxed())
            }
        }
    }

    /// Deletes a backup; one that is already gone counts as deleted.
    pub async fn delete(&self, location: &str) -> Result<(), Error> {
        match self {
            Self::Filesystem { .. } => {
                let path = self.path_of(location)?;
                match tokio::fs::remove_file(&path).await {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::File {
                        action: "delete",
                        path: path.display().to_string(),
                        source: e,
                    }),
                    _ => Ok(()),
                }
            }
            Self::S3 { store, .. } => {
                let key = self.key_of(location)?;
                match store.delete(&key).await {
                    Err(e) if !matches!(e, object_store::Error::NotFound { .. }) => {
                        Err(Error::Object {
                            action: "delete",
                            location: location.to_string(),
                            source: e,
                        })
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    /// Removes `*.partial` files a killed run left in the directory (nothing to do on S3,
    /// where an unfinished upload is no object).
    pub async fn remove_partials(&self) -> Result<usize, Error> {
        let Self::Filesystem { dir } = self else {
            return Ok(0);
        };
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(Error::File {
                    action: "list",
                    path: dir.display().to_string(),
                    source,
                });
            }
        };
        let mut removed = 0;
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".dump.partial")
                && tokio::fs::remove_file(entry.path()).await.is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The file of a backup in a directory (`None` for S3 or a foreign location).
    #[must_use]
    pub fn local_path(&self, location: &str) -> Option<PathBuf> {
        self.path_of(location).ok()
    }

    fn path_of(&self, location: &str) -> Result<PathBuf, Error> {
        let Self::Filesystem { dir } = self else {
            return Err(Error::Foreign(location.to_string()));
        };
        let path = PathBuf::from(
            location
                .strip_prefix("file://")
                .ok_or_else(|| Error::Foreign(location.to_string()))?,
        );
        // Only files directly in our directory: a crafted row cannot point deletes elsewhere.
        if path.parent() != Some(dir.as_path()) {
            return Err(Error::Foreign(location.to_string()));
        }
        Ok(path)
    }

    fn key_of(&self, location: &str) -> Result<ObjectPath, Error> {
        let Self::S3 { bucket, prefix, .. } = self else {
            return Err(Error::Foreign(location.to_string()));
        };
        let key = location
            .strip_prefix(&format!("s3://{bucket}/"))
            .filter(|k| prefix.is_empty() || k.starts_with(&format!("{prefix}/")))
            .ok_or_else(|| Error::Foreign(location.to_string()))?;
        Ok(ObjectPath::from(key))
    }
}

fn file_name(id: &str) -> String {
    format!("{id}.dump")
}

/// A backup being written.
#[derive(Debug)]
pub enum Upload {
    /// To `partial`, renamed to `path` on commit.
    File {
        partial: PathBuf,
        path: PathBuf,
        file: tokio::io::BufWriter<tokio::fs::File>,
    },
    /// A multipart upload.
    S3 {
        location: String,
        writer: WriteMultipart,
    },
}

impl Upload {
    /// Appends `buf`. Waits while too many S3 parts are in flight, so memory stays bounded.
    pub async fn write(&mut self, buf: &[u8]) -> Result<(), Error> {
        match self {
            Self::File { partial, file, .. } => {
                file.write_all(buf).await.map_err(|source| Error::File {
                    action: "write",
                    path: partial.display().to_string(),
                    source,
                })
            }
            Self::S3 { location, writer } => {
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|source| Error::Object {
                        action: "upload a part of",
                        location: location.clone(),
                        source,
                    })?;
                writer.write(buf);
                Ok(())
            }
        }
    }

    /// Makes the backup visible under its final name; returns its location.
    pub async fn commit(self) -> Result<String, Error> {
        match self {
            Self::File {
                partial,
                path,
                mut file,
            } => {
                let shown = partial.display().to_string();
                let io = |action| {
                    let shown = shown.clone();
                    move |source| Error::File {
                        action,
                        path: shown,
                        source,
                    }
                };
                file.flush().await.map_err(io("flush"))?;
                let file = file.into_inner();
                file.sync_all().await.map_err(io("fsync"))?;
                drop(file);
                tokio::fs::rename(&partial, &path)
                    .await
                    .map_err(io("rename"))?;
                // The rename is durable only once the directory entry is.
                if let Some(dir) = path.parent() {
                    let d = tokio::fs::File::open(dir)
                        .await
                        .map_err(io("open directory of"))?;
                    d.sync_all().await.map_err(io("fsync directory of"))?;
                }
                Ok(format!("file://{}", path.display()))
            }
            Self::S3 { location, writer } => {
                writer.finish().await.map_err(|source| Error::Object {
                    action: "complete the upload of",
                    location: location.clone(),
                    source,
                })?;
                Ok(location)
            }
        }
    }

    /// Throws the partial backup away (best effort: failure leaves only a `.partial` file or an
    /// unfinished upload, neither of which looks like a backup).
    pub async fn abort(self) {
        match self {
            Self::File { partial, file, .. } => {
                drop(file);
                let _ = tokio::fs::remove_file(&partial).await;
            }
            Self::S3 { writer, .. } => {
                let _ = writer.abort().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: locations round-trip, and rows pointing outside the destination are refused
    // (a crafted catalogue row cannot make retention delete other files).
    #[test]
    fn locations_stay_inside_the_destination() {
        let t = Target::filesystem("/backups/shop");
        let loc = t.location("20260101T030000Z-abcd");
        assert_eq!(loc, "file:///backups/shop/20260101T030000Z-abcd.dump");
        assert!(t.path_of(&loc).is_ok());
        assert!(t.path_of("file:///etc/passwd").is_err());
        assert!(t.path_of("file:///backups/shop/../x.dump").is_err());
        assert!(t.path_of("s3://b/k").is_err());
    }

    // Protects: a file backup only appears under its final name on commit; abort leaves nothing.
    #[tokio::test]
    async fn file_upload_is_invisible_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let t = Target::filesystem(dir.path());
        let mut up = t.create("a").await.unwrap();
        up.write(b"hello").await.unwrap();
        assert!(!dir.path().join("a.dump").exists());
        let loc = up.commit().await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.dump")).unwrap(), b"hello");
        let mut s = t.open(&loc).await.unwrap();
        assert_eq!(
            s.next().await.unwrap().unwrap(),
            Bytes::from_static(b"hello")
        );

        let mut up = t.create("b").await.unwrap();
        up.write(b"half").await.unwrap();
        up.abort().await;
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["a.dump"]);
        t.delete(&loc).await.unwrap();
        t.delete(&loc).await.unwrap();
    }
}
