//! Integration tests against a real kube-apiserver + etcd and a real Postgres, started once for
//! the whole run (see `support`).

mod support;

mod admission;
mod crds;
mod health_scripts;
mod manifests;
