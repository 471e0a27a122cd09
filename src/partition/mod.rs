//! Partitioning: per-node placement → convex NPU regions → demotion of the regions that do not
//! pay for their call (`cost`) → parts → emission.

pub mod cost;
pub mod emit;
pub mod functions;
pub mod parts;
pub mod plan;
pub mod regions;
pub mod split;
