//! The soft-entropy estimator: reference points drawn exactly as numpy draws them, the temperature
//! calibration, the streaming accumulator of soft counts, and the entropies and mutual informations
//! read off those counts. Pure computation: no I/O, no platform code.

pub mod accumulator;
pub mod calibration;
pub mod exp;
pub mod ln;
pub mod metrics;
pub mod rng;
pub mod scores;

pub use accumulator::{
    EstimatorConfig, EstimatorError, LabelKey, SetEntropies, SoftEntropyAccumulator, Tally,
    DROPPED, UNIQUE,
};
pub use calibration::Calibration;
