//! infoplane: the soft-entropy estimator of "Learning is Forgetting" (Conklin et al., ICLR 2026),
//! matching the reference package `soft-entropy` 0.1.5 (numpy backend), for the browser (wasm)
//! and the `infoplane` CLI. See ARCHITECTURE.md for how the modules fit together.

pub mod analysis;
pub mod estimator;
pub mod explainer;
pub mod formats;
pub mod labels;
pub mod model;
pub mod ordered;
pub mod plot;
pub mod probe;
pub mod report;
pub mod state;
#[cfg(target_arch = "wasm32")]
pub mod web;
