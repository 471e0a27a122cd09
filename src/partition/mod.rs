//! Partitioning: per-node placement → convex NPU regions.

pub mod cost;
pub mod regions;
