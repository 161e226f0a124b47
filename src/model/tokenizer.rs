//! Text to token ids with a model's own `tokenizer.json`, as Hugging Face's fast tokenizers encode
//! a single text: special tokens (BOS, `[CLS]`/`[SEP]`) added by the post-processor, and the padding
//! and truncation some tokenizer.json files carry (MiniLM's pads to 128) switched off.

use super::ModelError;

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl Tokenizer {
    /// Reads `tokenizer.json` (`name` is used in messages).
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, ModelError> {
        // Rayon would only run for batches or padding, both unused; off, so nothing tries to
        // start threads (a page's worker cannot).
        tokenizers::utils::parallelism::set_parallelism(false);
        let mut inner = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| {
            ModelError::new(format!("{name}: not a tokenizer infoplane can read ({e})"))
        })?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| ModelError::new(format!("{name}: {e}")))?;
        Ok(Self { inner })
    }

    /// The ids of `text` with the special tokens the tokenizer adds.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| ModelError::new(format!("cannot tokenize {:?}: {e}", short(text))))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The ids of `text` alone, without special tokens (for cutting a long text into windows).
    pub fn encode_plain(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| ModelError::new(format!("cannot tokenize {:?}: {e}", short(text))))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The ids of the tokenizer's special tokens (BOS, EOS, `[CLS]`, `[SEP]`, padding...), ascending.
    pub fn special_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, t)| t.special)
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The text of each id (for showing and exporting what was analysed).
    pub fn tokens(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&i| {
                self.inner
                    .id_to_token(i)
                    .unwrap_or_else(|| format!("<{i}>"))
            })
            .collect()
    }
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(40).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}
