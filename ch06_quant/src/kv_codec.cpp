#include "llm/quant/kv_codec.h"

#include <string>

#include "llm/quant/codecs.h"

namespace llm {

const KvCodec& q8_0_kv_codec() {
  static const KvCodec codec{DType::Q8_0, &quantize_row_q8_0_ref, &dequantize_row_q8_0};
  return codec;
}

void set_kv_type(PagedKvOptions& o, std::string_view name) {
  o.codec = nullptr;
  if (name == "f16") {
    o.dtype = DType::F16;
  } else if (name == "f32") {
    o.dtype = DType::F32;
  } else if (name == "q8_0") {
    o.codec = &q8_0_kv_codec();
  } else {
    throw Error("--kv-type: '" + std::string(name) + "' is not one of f16, f32, q8_0");
  }
}

}  // namespace llm
