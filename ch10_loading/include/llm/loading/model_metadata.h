// GGUF metadata that makes a file a complete model, from whatever the source held.
//
// A GGUF model carries its hyper-parameters (`llama.*` keys) and its tokenizer
// (`tokenizer.ggml.*`, `tokenizer.chat_template`) beside the tensors. When the source is GGUF
// these are copied; when it is a llama2.c checkpoint or a Hugging Face directory they are
// written from the ModelConfig and from the tokenizer chapter 2 loaded, in the form
// chapter 2's tokenizer_from_gguf (and llama.cpp) read back. Used by `llm quantize` and by the
// tests that build synthetic models.
#pragma once

#include <string>

#include "llm/config/model_config.h"
#include "llm/loading/gguf_writer.h"
#include "llm/tokenizer/tokenizer.h"

namespace llm {

// general.architecture = "llama" and the llama.* hyper-parameter keys. The config must use
// the interleaved RoPE layout GGUF `llama` models use (a half-split source is permuted first:
// see permute_rope_rows in quantize_model.h).
void write_config_metadata(GgufWriter& w, const ModelConfig& c, const std::string& name);

// tokenizer.ggml.* for a tokenizer loaded from tok512.bin, tokenizer.json or GGUF. Byte-level
// vocabularies need their ordered merge list, which comes from `hf_json` (the tokenizer.json;
// "" when there is none). Returns false, writing nothing and saying why in `why`, when the
// tokenizer cannot be expressed as GGUF metadata (a SentencePiece vocabulary without scores).
bool write_tokenizer_metadata(GgufWriter& w, const Tokenizer& tok, const std::string& hf_json,
                              std::string& why);

}  // namespace llm
