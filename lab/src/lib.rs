//! The offline Kubernetes lab of ferrolb: a real control plane (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler, and kwok playing the kubelets) started from
//! binaries built by `lab/scripts/build-control-plane.sh`.
//!
//! [`Cluster`] is what integration tests use: each one has its own ports and data directory
//! and is torn down on drop. The `lab` binary builds the seed tutorial's topology in network
//! namespaces around the same [`Cluster`].

pub mod agents;
pub mod binaries;
pub mod cluster;
pub mod install;
pub mod kube_proxy;
pub mod kubeconfig;
pub mod kubelet;
pub mod kwok;
pub mod lan;
pub mod network;
pub mod objects;
pub mod pki;
pub mod ports;
pub mod process;
pub mod router;
pub mod seed;
pub mod signals;
pub mod wait;

pub use binaries::{Binaries, Binary, MissingBinary};
pub use cluster::{Cluster, ClusterConfig, ClusterError, NodeSpec, Ports};
