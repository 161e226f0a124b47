//! The wasm boundary of the explainer page (explainer.html): [`crate::explainer`]'s numbers for a
//! labelled cloud, reading a labelled data set (the digits view's `digits.npz`) and its 2-D
//! projection. Large arrays cross as typed arrays (one copy) rather than through serde one number
//! at a time, which had been half of a frame's cost at 600 points and 100 reference points.

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::estimator::Calibration;
use crate::explainer::data::LabelledRows;
use crate::explainer::{self, projection, Cloud};
use crate::formats::open;

use super::js_error;

fn set(object: &JsValue, name: &str, value: &JsValue) -> Result<(), JsValue> {
    js_sys::Reflect::set(object, &JsValue::from_str(name), value).map(drop)
}

/// The explainer's settings; `eps` wins over `calibration` (default `exact`, the one that works at
/// d = 2 and 3); `classes` keeps only the points of the smallest that many labels.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ExplainSettings {
    n_bins: usize,
    seed: u64,
    eps: Option<f64>,
    calibration: String,
    shuffles: usize,
    shuffle_seed: u64,
    per_point: bool,
    classes: Option<usize>,
}

impl Default for ExplainSettings {
    fn default() -> Self {
        Self {
            n_bins: 100,
            seed: 0,
            eps: None,
            calibration: "exact".into(),
            shuffles: 0,
            shuffle_seed: 0,
            per_point: true,
            classes: None,
        }
    }
}

/// The explainer's numbers for a cloud of points (see [`crate::explainer::explain`]): `points`
/// holds `labels.length × d` values; `settings` as [`ExplainSettings`] (`n_bins`, `seed`, `eps`,
/// `calibration`, `shuffles`, `shuffle_seed`, `per_point`, `classes`). Returns the
/// [`crate::explainer::Explanation`] as a plain object, `assignments`, `reference_points` and
/// `point_entropies` as Float64Arrays; throws the estimator's one-line message.
#[wasm_bindgen]
pub fn explain(
    points: &[f64],
    d: usize,
    labels: &[u32],
    settings: JsValue,
) -> Result<JsValue, JsValue> {
    let settings: ExplainSettings = serde_wasm_bindgen::from_value(settings)
        .map_err(|e| js_error(format!("bad explainer settings: {e}")))?;
    if settings.shuffles > crate::analysis::MAX_SHUFFLES {
        return Err(js_error(format!(
            "{} shuffled copies asked for; at most {}",
            settings.shuffles,
            crate::analysis::MAX_SHUFFLES
        )));
    }
    let calibration = match settings.eps {
        Some(eps) => Calibration::Fixed(eps),
        None => Calibration::parse(&settings.calibration).map_err(js_error)?,
    };
    let subset;
    let (points, labels) = match settings.classes {
        Some(classes) => {
            subset = LabelledRows {
                rows: points.to_vec(),
                d,
                labels: labels.to_vec(),
            }
            .first_classes(classes);
            (&subset.rows[..], &subset.labels[..])
        }
        None => (points, labels),
    };
    let mut e = explainer::explain(&Cloud {
        points,
        d,
        labels,
        n_bins: settings.n_bins,
        seed: settings.seed,
        calibration,
        shuffles: settings.shuffles,
        shuffle_seed: settings.shuffle_seed,
        per_point: settings.per_point,
    })
    .map_err(js_error)?;
    let large = [
        ("assignments", std::mem::take(&mut e.assignments)),
        ("reference_points", std::mem::take(&mut e.reference_points)),
        ("point_entropies", std::mem::take(&mut e.point_entropies)),
    ];
    let object = serde_wasm_bindgen::to_value(&e).map_err(js_error)?;
    for (name, values) in large {
        set(&object, name, &js_sys::Float64Array::from(&values[..]))?;
    }
    Ok(object)
}

/// Reads a labelled data set (`hidden_states` and `labels`, see
/// [`crate::explainer::data::LabelledRows`]) from the bytes of an `.npz` or other dump, named
/// `name` in messages. Returns `{rows: Float64Array, d, labels: Uint32Array}`.
#[wasm_bindgen]
pub fn read_labelled(bytes: Vec<u8>, name: &str) -> Result<JsValue, JsValue> {
    let len = bytes.len() as u64;
    let mut opened = open::open(name, std::io::Cursor::new(bytes), len, None).map_err(js_error)?;
    let data = LabelledRows::read(opened.file.as_mut()).map_err(js_error)?;
    let object = js_sys::Object::new();
    set(&object, "rows", &js_sys::Float64Array::from(&data.rows[..]))?;
    set(&object, "d", &JsValue::from(data.d as u32))?;
    set(
        &object,
        "labels",
        &js_sys::Uint32Array::from(&data.labels[..]),
    )?;
    Ok(object.into())
}

/// The first two principal components of `rows` (`n × d`); see
/// [`crate::explainer::projection::principal_components`]. Returns
/// `{coordinates: Float64Array (n × 2), components: Float64Array (2 × d), variance_ratio}`.
#[wasm_bindgen]
pub fn project(rows: &[f64], d: usize) -> Result<JsValue, JsValue> {
    if d == 0 || !rows.len().is_multiple_of(d) {
        return Err(js_error(format!(
            "{} values are not rows of {d}",
            rows.len()
        )));
    }
    let p = projection::principal_components(rows, d);
    let object = js_sys::Object::new();
    set(
        &object,
        "coordinates",
        &js_sys::Float64Array::from(&p.coordinates[..]),
    )?;
    set(
        &object,
        "components",
        &js_sys::Float64Array::from(&p.components[..]),
    )?;
    set(
        &object,
        "variance_ratio",
        &js_sys::Float64Array::from(&p.variance_ratio[..]),
    )?;
    Ok(object.into())
}
