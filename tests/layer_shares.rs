//! Shares of the layers analysed apart (threads in the CLI, Web Workers in the page) combine into
//! exactly the one-run result: the same report bytes for any number of threads, centred or not,
//! with kept counts or not; and joining shares that do not belong together is refused.

mod common;

use std::fs::File;
use std::io::BufReader;

use common::{fixture, infoplane, stderr};
use infoplane::analysis::{self, Analysis, AnalysisNumbers, AnalysisSettings, LayerShare};
use infoplane::formats::layout::LayoutOverrides;
use infoplane::formats::open;
use infoplane::formats::tensor::TensorFile;

const GOLDEN: &str = "golden/d64_bins100_seed42.npz";

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = infoplane(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out.stdout
}

#[test]
fn any_number_of_threads_gives_the_one_thread_report_byte_for_byte() {
    let npz = fixture(GOLDEN);
    let npz = npz.to_str().unwrap();
    for extra in [
        &[][..],
        &["--centre", "--shuffles", "2"][..],
        &["--layers", "0,2"][..],
    ] {
        let run = |threads: &str| {
            stdout_of(
                &[
                    &["analyze", npz, "--format", "json", "--threads", threads],
                    extra,
                ]
                .concat(),
            )
        };
        let one = run("1");
        // 3 layers: 2 threads split them 2 + 1; 7 start only 3 (one per layer).
        for threads in ["2", "3", "7"] {
            assert!(
                run(threads) == one,
                "{extra:?}: {threads} threads differ from one"
            );
        }
    }
}

#[test]
fn kept_counts_of_shares_are_the_one_thread_state() {
    let npz = fixture(GOLDEN);
    let dir = std::env::temp_dir().join(format!("infoplane-shares-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = |threads: &str| {
        let path = dir.join(format!("t{threads}.state"));
        let p = path.to_str().unwrap();
        stdout_of(&[
            "analyze",
            npz.to_str().unwrap(),
            "--threads",
            threads,
            "--save-state",
            p,
        ]);
        std::fs::read(&path).unwrap()
    };
    let one = state("1");
    assert!(
        state("2") == one,
        "the 2-thread state differs from the 1-thread state"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn zero_threads_is_refused() {
    let out = infoplane(&[
        "analyze",
        fixture(GOLDEN).to_str().unwrap(),
        "--threads",
        "0",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--threads"), "{}", stderr(&out));
}

fn share(path: &str, settings: &AnalysisSettings, part: usize, parts: usize) -> Analysis {
    let path = fixture(path);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let len = std::fs::metadata(&path).unwrap().len();
    let opened = open::open(&name, BufReader::new(File::open(&path).unwrap()), len, None).unwrap();
    let mut files: Vec<Box<dyn TensorFile>> = vec![opened.file];
    analysis::analyze(
        &mut files,
        &[opened.labels_only],
        &LayoutOverrides::default(),
        settings,
        false,
        LayerShare { part, parts },
        &mut |_, _| {},
    )
    .unwrap()
}

#[test]
fn numbers_travel_without_counts_and_combine_in_share_order() {
    let settings = AnalysisSettings::default();
    let whole = share(GOLDEN, &settings, 0, 1);
    // Through the form the page's workers post (JSON here), then joined.
    let parts: Vec<Analysis> = (0..2)
        .map(|p| {
            let json =
                serde_json::to_string(&AnalysisNumbers::from(&share(GOLDEN, &settings, p, 2)))
                    .unwrap();
            serde_json::from_str::<AnalysisNumbers>(&json)
                .unwrap()
                .into()
        })
        .collect();
    assert_eq!(parts[0].settings.layers, Some(vec![0, 1]));
    assert_eq!(parts[1].settings.layers, Some(vec![2]));
    let combined = Analysis::combine_layers(parts).unwrap();
    assert_eq!(combined.settings, whole.settings);
    assert_eq!(combined.input, whole.input);
    let layers = |a: &Analysis| {
        a.layers
            .iter()
            .map(|l| (l.layer, l.summary.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(layers(&combined), layers(&whole));
}

#[test]
fn shares_that_do_not_belong_together_are_refused() {
    let settings = AnalysisSettings::default();
    let first = share(GOLDEN, &settings, 0, 2);
    let twice = Analysis::combine_layers(vec![first.clone(), first.clone()]).unwrap_err();
    assert!(
        twice.to_string().contains("layer 0 is in two of them"),
        "{twice}"
    );

    let other_bins = AnalysisSettings {
        estimator: infoplane::estimator::EstimatorConfig {
            n_bins: 20,
            ..settings.estimator
        },
        ..settings.clone()
    };
    let e = Analysis::combine_layers(vec![first.clone(), share(GOLDEN, &other_bins, 1, 2)])
        .unwrap_err();
    assert!(e.to_string().contains("their settings differ"), "{e}");

    let e = Analysis::combine_layers(vec![
        first,
        share("golden/d3_bins10_seed0.npz", &settings, 1, 2),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("differ"), "{e}");

    assert!(Analysis::combine_layers(Vec::new()).is_err());
}
