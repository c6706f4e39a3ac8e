// The q8_0 KV cache: chapter 5's KvCodec seam filled with chapter 6's Q8_0 blocks. Keys and
// values are stored 32 values per block with one f16 scale — 34 bytes per 32 values, 53% of
// f16's memory — as llama.cpp's `-ctk q8_0 -ctv q8_0`. Attention decodes the rows (the
// reference variants; chapter 8's SIMD attention declines such blocks).
#pragma once

#include <string_view>

#include "llm/kvcache/paged_kv_cache.h"

namespace llm {

const KvCodec& q8_0_kv_codec();

// `--kv-type`: "f16" (the default), "f32" or "q8_0" into the cache options; throws llm::Error
// naming the choices for anything else.
void set_kv_type(PagedKvOptions& options, std::string_view name);

}  // namespace llm
