//! The text a model is run on: the built-in probe corpus (written for infoplane, one sentence
//! per line) or the user's own `.txt`, tokenised by the model's tokenizer into sequences — one
//! per non-empty line, at most `max_sequences` of them, each cut to `max_length` tokens; or, for
//! a long text, the whole text tokenised once without special tokens and cut into consecutive
//! windows of `window` tokens (no BOS / `[CLS]` / `[SEP]` inside windows).

use crate::model::tokenizer::Tokenizer;
use crate::model::ModelError;

/// The built-in probe corpus (www/probe/probe_corpus.txt).
pub const PROBE_CORPUS: &str = include_str!("../www/probe/probe_corpus.txt");

/// How much of the text is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProbeSettings {
    /// Lines used, from the top (`None`: all).
    pub max_sequences: Option<usize>,
    /// Tokens kept per line, special tokens included (longer lines are cut at the end).
    pub max_length: usize,
    /// Cut the whole text into windows of this many tokens instead of one sequence per line
    /// (`max_sequences` then counts windows; a last window shorter than 2 tokens is dropped).
    #[serde(default)]
    pub window: Option<usize>,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        Self {
            max_sequences: None,
            max_length: 128,
            window: None,
        }
    }
}

/// Sequences of token ids and the lines they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub texts: Vec<String>,
    pub sequences: Vec<Vec<u32>>,
    /// Lines cut to `max_length`.
    pub truncated: usize,
}

/// Tokenises `text` (`name` is used in messages), one sequence per non-empty line.
pub fn tokenize(
    name: &str,
    text: &str,
    tokenizer: &Tokenizer,
    settings: ProbeSettings,
) -> Result<Probe, ModelError> {
    if settings.max_length == 0 {
        return Err(ModelError::new(
            "the maximum length must be at least 1 token",
        ));
    }
    if let Some(n) = settings.window {
        return windows(name, text, tokenizer, n, settings.max_sequences);
    }
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .take(settings.max_sequences.unwrap_or(usize::MAX));
    let mut probe = Probe {
        texts: Vec::new(),
        sequences: Vec::new(),
        truncated: 0,
    };
    for (i, line) in lines {
        let mut ids = tokenizer
            .encode(line)
            .map_err(|e| ModelError::new(format!("{name}, line {}: {e}", i + 1)))?;
        if ids.len() > settings.max_length {
            ids.truncate(settings.max_length);
            probe.truncated += 1;
        }
        if ids.is_empty() {
            continue;
        }
        probe.texts.push(line.to_owned());
        probe.sequences.push(ids);
    }
    if probe.sequences.is_empty() {
        return Err(ModelError::new(format!(
            "{name}: no text to run the model on"
        )));
    }
    Ok(probe)
}

fn windows(
    name: &str,
    text: &str,
    tokenizer: &Tokenizer,
    n: usize,
    max_sequences: Option<usize>,
) -> Result<Probe, ModelError> {
    if n < 2 {
        return Err(ModelError::new("a window must hold at least 2 tokens"));
    }
    let ids = tokenizer
        .encode_plain(text)
        .map_err(|e| ModelError::new(format!("{name}: {e}")))?;
    let sequences: Vec<Vec<u32>> = ids
        .chunks(n)
        .filter(|w| w.len() >= 2)
        .take(max_sequences.unwrap_or(usize::MAX))
        .map(<[u32]>::to_vec)
        .collect();
    if sequences.is_empty() {
        return Err(ModelError::new(format!(
            "{name}: no text to run the model on"
        )));
    }
    Ok(Probe {
        texts: sequences
            .iter()
            .map(|w| format!("window of {} tokens", w.len()))
            .collect(),
        sequences,
        truncated: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_corpus_is_a_few_hundred_sentences() {
        let lines = PROBE_CORPUS
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        assert!((250..=400).contains(&lines), "{lines} lines");
    }
}
