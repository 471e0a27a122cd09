//! Partitioning: per-node placement → convex NPU regions.

pub mod regions;
