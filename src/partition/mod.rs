//! Partitioning: per-node placement → convex NPU regions.

pub mod cost;
pub mod emit;
pub mod plan;
pub mod regions;
