//! Rows handed over chunk by chunk or in pieces of any length (`LayerRun::chunks` + `feed` or
//! `feed_part`, how the page reads them ahead in another worker) give the numbers and counts of
//! rows read by the run itself (`analyze`, the CLI), bit for bit, for every format that stores rows as plain bytes; formats that do not are
//! left to the run's own readers; short reads and calls out of turn are refused by name.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use common::{f32_bytes, fixture, i64_bytes, npy, write_npz};
use infoplane::analysis::{
    self, Analysis, AnalysisError, AnalysisSettings, LayerRun, LayerShare, RowChunk,
};
use infoplane::formats::layout::LayoutOverrides;
use infoplane::formats::open;
use infoplane::formats::tensor::TensorFile;

/// A dataset's files as bytes in memory, with the raw shape of a raw float32 file.
struct Dataset {
    paths: Vec<PathBuf>,
    raw_shape: Option<Vec<usize>>,
}

impl Dataset {
    fn of(paths: &[PathBuf]) -> Self {
        Self {
            paths: paths.to_vec(),
            raw_shape: None,
        }
    }

    fn bytes(&self) -> Vec<Vec<u8>> {
        self.paths
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }

    fn open(&self) -> (Vec<Box<dyn TensorFile>>, Vec<bool>) {
        let mut files = Vec::new();
        let mut labels_only = Vec::new();
        for (path, bytes) in self.paths.iter().zip(self.bytes()) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let raw = (name.ends_with(".bytes"))
                .then_some(self.raw_shape.as_deref())
                .flatten();
            let len = bytes.len() as u64;
            let o = open::open(&name, Cursor::new(bytes), len, raw).unwrap();
            files.push(o.file);
            labels_only.push(o.labels_only);
        }
        (files, labels_only)
    }

    fn name(&self) -> String {
        self.paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// The rows read by the run itself.
    fn read(&self, settings: &AnalysisSettings, share: LayerShare) -> Analysis {
        let (mut files, labels_only) = self.open();
        analysis::analyze(
            &mut files,
            &labels_only,
            &LayoutOverrides::default(),
            settings,
            true,
            share,
            &mut |_, _| {},
        )
        .unwrap()
    }

    /// The rows handed over chunk by chunk, from the files' bytes; `None` when the run reads
    /// them itself. Also returns how many chunks there were and the layers reported done. With
    /// `pieces` empty each chunk is handed over whole (`feed`); otherwise the bytes of all the
    /// chunks, one after another, in pieces of these lengths in turn (`feed_part`, as the page's
    /// reader worker hands them over), the last piece what is left.
    fn handed_over(
        &self,
        settings: &AnalysisSettings,
        share: LayerShare,
        pieces: &[usize],
    ) -> Option<(Analysis, usize, Vec<usize>)> {
        let (mut files, labels_only) = self.open();
        let bytes = self.bytes();
        let lengths: Vec<u64> = bytes.iter().map(|b| b.len() as u64).collect();
        let mut run = LayerRun::prepare(
            &mut files,
            &labels_only,
            &LayoutOverrides::default(),
            settings,
            true,
            share,
        )
        .unwrap();
        let chunks = run.chunks(&files, &lengths)?.to_vec();
        let mut reported = Vec::new();
        if pieces.is_empty() {
            for c in &chunks {
                let (from, to) = (c.bytes.start as usize, c.bytes.end as usize);
                run.feed(
                    |buf| {
                        buf.copy_from_slice(&bytes[c.file][from..to]);
                        Ok(())
                    },
                    &mut |done, _| reported.push(done),
                )
                .unwrap();
            }
        } else {
            let all = concatenated(&chunks, &bytes);
            let mut at = 0;
            for &n in pieces.iter().cycle() {
                let piece = &all[at..(at + n).min(all.len())];
                feed_piece(&mut run, piece, &mut |done, _| reported.push(done)).unwrap();
                at += piece.len();
                if at == all.len() {
                    break;
                }
            }
        }
        Some((run.finish().unwrap(), chunks.len(), reported))
    }
}

/// The report and every kept count, as bytes: equal bytes are equal numbers, bit for bit.
fn bits(a: &Analysis) -> (String, Vec<u8>) {
    (report(a), infoplane::state::to_bytes(a).unwrap())
}

fn report(a: &Analysis) -> String {
    serde_json::to_string(&infoplane::report::Report::from_analysis(a)).unwrap()
}

fn settings(args: &[(&str, usize)]) -> AnalysisSettings {
    let mut s = AnalysisSettings::default();
    for &(what, n) in args {
        match what {
            "centre" => s.centre = n > 0,
            "shuffles" => s.labels.shuffles = n,
            "seeds" => s.seeds = n,
            "layer" => s.layers = Some(vec![n]),
            "orders" => s.orders = (1..=n).collect(),
            _ => unreachable!(),
        }
    }
    s
}

/// A dump of `layers` layers of `tokens` rows of d = 8 values of `descr` (`<f4`, `<f2`, `<f8`),
/// 20 sequences, written to a temporary `.npz`: at d = 8 a layer is more than one chunk (at most
/// 2 048 rows each).
fn long_dump(dir: &Path, descr: &str, layers: usize, tokens: usize) -> PathBuf {
    let d = 8;
    let values: Vec<f32> = (0..layers * tokens * d)
        .map(|i| ((i as f32) * 0.7548).sin() + 0.1 * ((i / d) % 13) as f32)
        .collect();
    let data: Vec<u8> = match descr {
        "<f4" => f32_bytes(&values),
        "<f2" => values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect(),
        _ => values
            .iter()
            .flat_map(|&v| f64::from(v).to_le_bytes())
            .collect(),
    };
    let ids: Vec<i64> = (0..tokens as i64).map(|i| (i * 7 + i / 5) % 61).collect();
    let mut lens = vec![(tokens / 20) as i64; 20];
    lens[19] += (tokens % 20) as i64;
    let path = dir.join(format!("long_{}.npz", &descr[1..]));
    write_npz(
        &path,
        &[
            (
                "hidden_states",
                npy(descr, &format!("({layers}, {tokens}, {d})"), &data),
            ),
            (
                "input_ids",
                npy("<i8", &format!("({tokens},)"), &i64_bytes(&ids)),
            ),
            ("seq_lens", npy("<i8", "(20,)", &i64_bytes(&lens))),
        ],
    );
    path
}

#[test]
fn chunks_handed_over_give_the_numbers_and_counts_of_rows_read_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("infoplane-chunked-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = |rel: &str| fixture(rel);
    let per_layer: Vec<PathBuf> = ["layer_0", "layer_1", "layer_2", "input_ids", "seq_lens"]
        .iter()
        .map(|n| f(&format!("formats/per_layer/{n}.npy")))
        .collect();
    let mut raw = Dataset::of(&[f("formats/layer0.bytes"), f("formats/layer0_metadata.tsv")]);
    raw.raw_shape = Some(vec![114, 16]);
    let datasets = [
        Dataset::of(&[f("formats/dump.npz")]),
        Dataset::of(&[f("formats/dump_f16.npz")]),
        Dataset::of(&[f("formats/dump.safetensors")]),
        Dataset::of(&[f("formats/dump_layers.safetensors")]),
        Dataset::of(&[f("formats/rows.npz")]),
        Dataset::of(&[f("formats/dump_text_labels.npz")]),
        Dataset::of(&per_layer),
        raw,
        Dataset::of(&[f("golden/d768_bins100_seed0.npz")]),
        Dataset::of(&[long_dump(&dir, "<f4", 3, 5000)]),
        Dataset::of(&[long_dump(&dir, "<f2", 2, 4500)]),
        Dataset::of(&[long_dump(&dir, "<f8", 2, 3000)]),
    ];
    let variants = [
        settings(&[]),
        settings(&[("centre", 1), ("shuffles", 2), ("seeds", 2)]),
        settings(&[("layer", 1), ("orders", 2), ("shuffles", 0)]),
    ];
    let mut several_chunks = 0;
    for data in &datasets {
        for (v, s) in variants.iter().enumerate() {
            for share in [LayerShare::WHOLE, LayerShare { part: 1, parts: 2 }] {
                let what = format!("{}, settings {v}, share {share:?}", data.name());
                // A layer that the data does not have is refused alike either way.
                let (mut files, labels_only) = data.open();
                if analysis::chosen_layer_count(&mut files, &labels_only, &Default::default(), s)
                    .is_err()
                {
                    continue;
                }
                let read = data.read(s, share);
                // Whole chunks; pieces much shorter than a row, of odd lengths across the
                // chunks' ends; pieces longer than a chunk.
                for pieces in [&[][..], &[1, 7, 4093, 333][..], &[3 << 20, 1 << 20][..]] {
                    let what = format!("{what}, pieces {pieces:?}");
                    let (handed, chunks, reported) =
                        data.handed_over(s, share, pieces).unwrap_or_else(|| {
                            panic!("{what}: no chunks, though stored as plain bytes")
                        });
                    assert!(bits(&handed) == bits(&read), "{what}: numbers differ");
                    let layers = read.layers.len();
                    assert_eq!(reported, (1..=layers).collect::<Vec<_>>(), "{what}");
                    several_chunks += usize::from(pieces.is_empty() && chunks > 2 * layers.max(1));
                }
            }
        }
    }
    assert!(
        several_chunks > 6,
        "layers of several chunks were not tried"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn rows_not_stored_as_plain_bytes_are_read_by_the_run_itself() {
    for files in [
        vec![fixture("formats/dump_compressed.npz")],
        vec![fixture("golden/d64_bins100_seed42.npz")],
        vec![fixture("formats/dump_fortran_bigendian.npz")],
        vec![fixture("formats/dump.pt")],
        vec![
            fixture("formats/layer0_vectors.tsv"),
            fixture("formats/layer0_metadata.tsv"),
        ],
    ] {
        let data = Dataset::of(&files);
        let s = settings(&[]);
        assert!(
            data.handed_over(&s, LayerShare::WHOLE, &[]).is_none(),
            "{}: chunks of bytes that are not the rows",
            data.name()
        );
        // After being asked for chunks in vain, the run reads them itself.
        let (mut files, labels_only) = data.open();
        let mut run = LayerRun::prepare(
            &mut files,
            &labels_only,
            &LayoutOverrides::default(),
            &s,
            true,
            LayerShare::WHOLE,
        )
        .unwrap();
        assert!(run.chunks(&files, &[u64::MAX; 2]).is_none());
        run.read_rows(&mut files, &mut |_, _| {}).unwrap();
        assert!(bits(&run.finish().unwrap()) == bits(&data.read(&s, LayerShare::WHOLE)));
    }
}

/// Fails unless `result` is a refusal whose message says all of `words`.
fn assert_refused<T>(result: Result<T, AnalysisError>, words: &[&str]) {
    match result {
        Ok(_) => panic!("accepted, where a refusal saying {words:?} was expected"),
        Err(e) => {
            let e = e.to_string();
            assert!(words.iter().all(|w| e.contains(w)), "{e}");
        }
    }
}

/// Hands `piece`, the next bytes of the chunks, to `run` (`feed_part`).
fn feed_piece(
    run: &mut LayerRun,
    piece: &[u8],
    on_layer: &mut dyn FnMut(usize, usize),
) -> Result<(), AnalysisError> {
    run.feed_part(
        piece.len(),
        |from, b| b.copy_from_slice(&piece[from..from + b.len()]),
        on_layer,
    )
}

/// The bytes of `chunks`, one after another, from the files' `bytes`.
fn concatenated(chunks: &[RowChunk], bytes: &[Vec<u8>]) -> Vec<u8> {
    chunks
        .iter()
        .flat_map(|c| &bytes[c.file][c.bytes.start as usize..c.bytes.end as usize])
        .copied()
        .collect()
}

/// Hands `chunks` of one file's `bytes` to `run` a chunk at a time.
fn feed_whole(run: &mut LayerRun, chunks: &[RowChunk], bytes: &[u8]) {
    for c in chunks {
        let r = c.bytes.start as usize..c.bytes.end as usize;
        let fill = |b: &mut [u8]| {
            b.copy_from_slice(&bytes[r]);
            Ok(())
        };
        run.feed(fill, &mut |_, _| {}).unwrap();
    }
}

#[test]
fn short_reads_files_too_short_and_calls_out_of_turn_are_refused() {
    let data = Dataset::of(&[fixture("formats/dump.npz")]);
    let s = settings(&[]);
    let len = data.bytes()[0].len() as u64;
    let prepare = |files: &mut Vec<Box<dyn TensorFile>>, labels_only: &[bool]| {
        LayerRun::prepare(
            files,
            labels_only,
            &LayoutOverrides::default(),
            &s,
            false,
            LayerShare::WHOLE,
        )
        .unwrap()
    };
    let (mut files, labels_only) = data.open();

    // The file the page holds is shorter than its header says: the run reads it itself (and
    // names what is missing), instead of fetching bytes that are not there.
    let mut run = prepare(&mut files, &labels_only);
    assert!(run.chunks(&files, &[len / 2]).is_none());

    // A read that fails is named after the file and the tensor.
    let mut run = prepare(&mut files, &labels_only);
    run.chunks(&files, &[len]).unwrap();
    assert_refused(
        run.feed(|_| Err("read 3 of 8 bytes".into()), &mut |_, _| {}),
        &["dump.npz", "hidden_states", "read 3 of 8 bytes"],
    );

    // Finishing early, feeding past the end, and reading after handing over are refused.
    let mut run = prepare(&mut files, &labels_only);
    let chunks = run.chunks(&files, &[len]).unwrap().to_vec();
    let bytes = data.bytes().remove(0);
    let mut early = prepare(&mut files, &labels_only);
    early.chunks(&files, &[len]).unwrap();
    assert_refused(early.finish(), &["dump.npz", "still to come"]);
    feed_whole(&mut run, &chunks, &bytes);
    assert_refused(
        run.feed(|_| Ok(()), &mut |_, _| {}),
        &["every chunk was handed over already"],
    );
    assert_refused(
        run.read_rows(&mut files, &mut |_, _| {}),
        &["being handed over"],
    );
    run.finish().unwrap();

    // A chunk whose read failed may be handed over again.
    let mut retried = prepare(&mut files, &labels_only);
    retried.chunks(&files, &[len]).unwrap();
    assert_refused(
        retried.feed(|_| Err("read 3 of 8 bytes".into()), &mut |_, _| {}),
        &["read 3 of 8 bytes"],
    );
    feed_whole(&mut retried, &chunks, &bytes);
    assert!(report(&retried.finish().unwrap()) == report(&data.read(&s, LayerShare::WHOLE)));

    // Chunks asked for, none handed over (the page's reader did not start): the run reads them.
    let mut unread = prepare(&mut files, &labels_only);
    unread.chunks(&files, &[len]).unwrap();
    unread.read_rows(&mut files, &mut |_, _| {}).unwrap();
    assert!(report(&unread.finish().unwrap()) == report(&data.read(&s, LayerShare::WHOLE)));

    // In pieces: a whole chunk while one is half handed over, reading the rows after a piece,
    // finishing with a chunk half handed over, and bytes past the last chunk are refused.
    let mut parts = prepare(&mut files, &labels_only);
    parts.chunks(&files, &[len]).unwrap();
    let first = &bytes[chunks[0].bytes.start as usize..][..5];
    feed_piece(&mut parts, first, &mut |_, _| {}).unwrap();
    assert_refused(
        parts.feed(|_| Ok(()), &mut |_, _| {}),
        &["being handed over in parts"],
    );
    assert_refused(
        parts.read_rows(&mut files, &mut |_, _| {}),
        &["being handed over"],
    );
    assert_refused(parts.finish(), &["still to come"]);
    let mut past = prepare(&mut files, &labels_only);
    past.chunks(&files, &[len]).unwrap();
    let mut all = concatenated(&chunks, std::slice::from_ref(&bytes));
    all.push(0);
    assert_refused(
        feed_piece(&mut past, &all, &mut |_, _| {}),
        &["every chunk was handed over already"],
    );

    let mut unasked = prepare(&mut files, &labels_only);
    assert_refused(
        unasked.feed(|_| Ok(()), &mut |_, _| {}),
        &["no chunks were asked for"],
    );
}
