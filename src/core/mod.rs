//! The runtime-independent core: nothing here knows about JavaScript.

pub mod clickhouse;
pub mod config;
pub mod delivery;
pub mod enablement;
pub mod encoder;
pub mod float;
pub mod gzip;
pub mod ids;
pub mod json;
pub mod model;
pub mod otlp;
pub mod pipeline;
pub mod queue;
pub mod retry;
pub mod severity;
pub mod stats;
