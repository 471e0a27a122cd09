//! Partitioning: per-node placement → convex NPU regions → parts → emission.

pub mod cost;
pub mod emit;
pub mod functions;
pub mod parts;
pub mod plan;
pub mod regions;
pub mod split;
