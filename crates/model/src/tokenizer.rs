//! The tokenizer: a byte-level BPE built from GGUF metadata (tokens,
//! merges, token types), or a `tokenizer.json`, plus the ChatML template
//! applied in code.
//!
//! For SmolLM2's GGUF (`pre = smollm`) the pipeline is: digits split one by
//! one, then GPT-2 byte-level pre-tokenisation without a prefix space, and
//! a byte-level decoder; control tokens (`<|im_start|>`, …) are special.
//! This reproduces the reference ids, where candle's own GGUF helper puts
//! a space after special tokens (see shared/notes/candle.md).

use crate::ModelError;
use candle_core::quantized::gguf_file;
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper};

/// GGUF token types (llama.cpp's `llama_token_type`): 3 is a control token.
const TOKEN_TYPE_CONTROL: u32 = 3;

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    eos: Option<u32>,
    bos: Option<u32>,
}

/// Text pieces of one token sequence as it grows (see
/// [`Tokenizer::text_stream`]).
pub struct TextStream<'t> {
    inner: tokenizers::DecodeStream<
        't,
        tokenizers::ModelWrapper,
        tokenizers::NormalizerWrapper,
        tokenizers::PreTokenizerWrapper,
        tokenizers::PostProcessorWrapper,
        tokenizers::DecoderWrapper,
    >,
}

impl TextStream<'_> {
    /// The text `id` completes, or `None` while it is part of an
    /// unfinished multi-byte character (or a special token).
    pub fn step(&mut self, id: u32) -> Result<Option<String>, ModelError> {
        self.inner.step(id).map_err(terr)
    }
}

fn terr(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

fn strings(ct: &gguf_file::Content, key: &str) -> Result<Vec<String>, ModelError> {
    let v = ct
        .metadata
        .get(key)
        .ok_or_else(|| terr(format!("the GGUF has no {key}")))?;
    v.to_vec()
        .map_err(terr)?
        .iter()
        .map(|x| x.to_string().cloned().map_err(terr))
        .collect()
}

fn u32_of(ct: &gguf_file::Content, key: &str) -> Option<u32> {
    ct.metadata.get(key).and_then(|v| v.to_u32().ok())
}

impl Tokenizer {
    /// Reads only the metadata of a GGUF file (not its tensors).
    pub fn from_gguf_file(path: &Path) -> Result<Tokenizer, ModelError> {
        let (_, ct) = crate::read_gguf(path)?;
        Tokenizer::from_gguf(&ct)
    }

    pub fn from_gguf(ct: &gguf_file::Content) -> Result<Tokenizer, ModelError> {
        let kind = ct
            .metadata
            .get("tokenizer.ggml.model")
            .and_then(|v| v.to_string().ok().cloned())
            .unwrap_or_default();
        if kind != "gpt2" {
            return Err(terr(format!(
                "tokenizer model '{kind}' is not supported (only byte-level BPE, 'gpt2')"
            )));
        }
        let tokens = strings(ct, "tokenizer.ggml.tokens")?;
        let merges: Vec<(String, String)> = strings(ct, "tokenizer.ggml.merges")?
            .into_iter()
            .map(|m| match m.split_once(' ') {
                Some((a, b)) => Ok((a.to_string(), b.to_string())),
                None => Err(terr(format!("malformed merge '{m}'"))),
            })
            .collect::<Result<_, _>>()?;
        let vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(terr)?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        let pre: Vec<PreTokenizerWrapper> = vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ];
        inner.with_pre_tokenizer(Some(Sequence::new(pre)));
        inner.with_decoder(Some(ByteLevelDecoder::new(false, true, true)));
        let types: Vec<u32> = ct
            .metadata
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.to_vec().ok())
            .map(|v| {
                v.iter()
                    .map(|x| {
                        x.to_i32()
                            .map(|i| i as u32)
                            .or_else(|_| x.to_u32())
                            .unwrap_or(1)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let specials: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, &t)| t == TOKEN_TYPE_CONTROL)
            .map(|(tok, _)| AddedToken::from(tok.clone(), true))
            .collect();
        inner.add_special_tokens(specials).map_err(terr)?;
        Ok(Tokenizer {
            inner,
            eos: u32_of(ct, "tokenizer.ggml.eos_token_id"),
            bos: u32_of(ct, "tokenizer.ggml.bos_token_id"),
        })
    }

    /// A Hugging Face `tokenizer.json`.
    pub fn from_json_file(path: &Path) -> Result<Tokenizer, ModelError> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(terr)?;
        let eos = ["<|im_end|>", "<|endoftext|>", "</s>"]
            .iter()
            .find_map(|t| inner.token_to_id(t));
        Ok(Tokenizer {
            inner,
            eos,
            bos: None,
        })
    }

    /// The tokenizer as a Hugging Face `tokenizer.json` (written next to a
    /// fully fine-tuned model so its directory loads on its own).
    pub fn to_json(&self) -> Result<String, ModelError> {
        self.inner.to_string(false).map_err(terr)
    }

    /// Token ids of `text`; special tokens written in the text (ChatML
    /// markers) are recognised, nothing is added around it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        Ok(self
            .inner
            .encode(text, false)
            .map_err(terr)?
            .get_ids()
            .to_vec())
    }

    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, ModelError> {
        self.inner.decode(ids, skip_special).map_err(terr)
    }

    /// An incremental decoder: token ids in, text pieces out as soon as
    /// they are whole characters (the tokenizers crate's `DecodeStream`,
    /// which keeps the context a decoder needs across pieces).
    pub fn text_stream(&self) -> TextStream<'_> {
        TextStream {
            inner: self.inner.decode_stream(true),
        }
    }

    /// The text of every token id (`None` for special tokens), for
    /// logits processors that constrain by text. Byte-level tokens that
    /// hold part of a multi-byte character decode lossily.
    pub fn token_texts(&self) -> Vec<Option<String>> {
        (0..self.vocab_size() as u32)
            .map(|id| {
                self.inner
                    .decode(&[id], true)
                    .ok()
                    .filter(|t| !t.is_empty())
            })
            .collect()
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// The ChatML prompt: `<|im_start|>role\ncontent<|im_end|>\n` per message,
/// then `<|im_start|>assistant\n` when a reply is to be generated.
pub fn chatml(messages: &[ChatMessage], add_generation_prompt: bool) -> String {
    let mut s = String::new();
    for m in messages {
        s.push_str("<|im_start|>");
        s.push_str(&m.role);
        s.push('\n');
        s.push_str(&m.content);
        s.push_str("<|im_end|>\n");
    }
    if add_generation_prompt {
        s.push_str("<|im_start|>assistant\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_format() {
        let p = chatml(
            &[
                ChatMessage::new("system", "S"),
                ChatMessage::new("user", "Q"),
            ],
            true,
        );
        assert_eq!(p, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n");
    }
}
