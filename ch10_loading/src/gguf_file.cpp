#include "llm/loading/gguf_file.h"

#include <algorithm>
#include <array>
#include <set>

#include "borrow_aligned.h"
#include "llm/config/byte_reader.h"
#include "llm/config/error.h"

namespace llm {
namespace {

// a*b and a+b on uint64, throwing instead of wrapping: a corrupt extent or offset must not
// turn into a small, plausible number.
uint64_t mul_checked(uint64_t a, uint64_t b, ByteReader& r, std::string_view field) {
  uint64_t out;
  if (__builtin_mul_overflow(a, b, &out)) r.fail(field, "size overflows 64 bits");
  return out;
}
uint64_t add_checked(uint64_t a, uint64_t b, ByteReader& r, std::string_view field) {
  uint64_t out;
  if (__builtin_add_overflow(a, b, &out)) r.fail(field, "offset overflows 64 bits");
  return out;
}

// Types a file may hold that this engine has no kernels for are refused by name. Activation
// types (Q8_1, Q8_K) are never stored as weights by llama.cpp either.
bool storable(DType t) {
  return t != DType::Q8_1 && t != DType::Q8_K;
}

uint64_t read_alignment(const GgufMetadata& m) {
  const GgufValue* v = m.find("general.alignment");
  if (!v) return 32;  // GGUF's default
  if (v->is_array() || v->type == GgufType::STRING || v->type == GgufType::BOOL ||
      v->type == GgufType::F32 || v->type == GgufType::F64)
    throw Error(m.source() + ": general.alignment must be an unsigned integer");
  const int64_t a = m.get_int("general.alignment");
  // A power of two keeps "offset % alignment" meaningful and padding small; 1 GiB is far
  // beyond any real file (llama.cpp writes 32).
  if (a <= 0 || a > (int64_t{1} << 30) || (a & (a - 1)) != 0)
    throw Error(m.source() + ": general.alignment = " + std::to_string(a) +
                " is not a power of two between 1 and 2^30");
  return static_cast<uint64_t>(a);
}

GgufTensorInfo read_info(ByteReader& r) {
  GgufTensorInfo info;
  info.name = GgufMetadata::read_string(r, "tensor name");
  const std::string field = "tensor '" + info.name + "'";
  const uint32_t n_dims = r.read<uint32_t>(field + " n_dims");
  if (n_dims == 0 || n_dims > kMaxDims)
    r.fail(field,
           "n_dims = " + std::to_string(n_dims) + ", expected 1.." + std::to_string(kMaxDims));
  std::array<int64_t, kMaxDims> dims{};
  uint64_t numel = 1;
  for (uint32_t i = 0; i < n_dims; ++i) {
    const uint64_t e = r.read<uint64_t>(field + " extent");
    if (e == 0 || e > static_cast<uint64_t>(INT64_MAX))
      r.fail(field,
             "extent " + std::to_string(i) + " = " + std::to_string(e) + " (must be positive)");
    numel = mul_checked(numel, e, r, field + " extents");
    if (numel > static_cast<uint64_t>(INT64_MAX)) r.fail(field, "element count overflows");
    dims[n_dims - 1 - i] = static_cast<int64_t>(e);  // innermost first -> outermost first
  }
  const uint32_t type_id = r.read<uint32_t>(field + " type");
  const auto dtype = dtype_from_id(type_id);
  if (!dtype || !storable(*dtype))
    r.fail(field, "ggml type " + std::to_string(type_id) + " (" + ggml_type_name(type_id) +
                      ") is not supported (f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k)");
  info.dtype = *dtype;
  info.shape = Shape::of(std::span<const int64_t>(dims.data(), n_dims));
  const DTypeLayout& layout = dtype_layout(info.dtype);
  const int64_t cols = info.shape.cols();
  if (cols % layout.block_size != 0)
    r.fail(field, "row length " + std::to_string(cols) + " is not a multiple of " +
                      std::to_string(layout.block_size) + " as " + std::string(layout.name) +
                      " needs");
  const uint64_t row = mul_checked(static_cast<uint64_t>(cols / layout.block_size),
                                   static_cast<uint64_t>(layout.block_bytes), r, field + " size");
  info.nbytes = mul_checked(row, static_cast<uint64_t>(info.shape.rows()), r, field + " size");
  info.offset = r.read<uint64_t>(field + " offset");
  return info;
}

}  // namespace

std::string ggml_type_name(uint32_t id) {
  static constexpr std::array<const char*, 40> names = {"f32",
                                                        "f16",
                                                        "q4_0",
                                                        "q4_1",
                                                        "q4_2 (removed)",
                                                        "q4_3 (removed)",
                                                        "q5_0",
                                                        "q5_1",
                                                        "q8_0",
                                                        "q8_1",
                                                        "q2_k",
                                                        "q3_k",
                                                        "q4_k",
                                                        "q5_k",
                                                        "q6_k",
                                                        "q8_k",
                                                        "iq2_xxs",
                                                        "iq2_xs",
                                                        "iq3_xxs",
                                                        "iq1_s",
                                                        "iq4_nl",
                                                        "iq3_s",
                                                        "iq2_s",
                                                        "iq4_xs",
                                                        "i8",
                                                        "i16",
                                                        "i32",
                                                        "i64",
                                                        "f64",
                                                        "iq1_m",
                                                        "bf16",
                                                        "q4_0_4_4 (removed)",
                                                        "q4_0_4_8 (removed)",
                                                        "q4_0_8_8 (removed)",
                                                        "tq1_0",
                                                        "tq2_0",
                                                        "iq4_nl_4_4 (removed)",
                                                        "iq4_nl_4_8 (removed)",
                                                        "iq4_nl_8_8 (removed)",
                                                        "mxfp4"};
  return id < names.size() ? names[id] : "unknown";
}

GgufFile GgufFile::parse(std::shared_ptr<const MappedFile> file) {
  GgufFile g;
  g.meta_ = GgufMetadata::parse(file);
  g.alignment_ = read_alignment(g.meta_);
  ByteReader r(file->bytes(), file->path());
  r.seek(g.meta_.tensor_infos_offset(), "tensor infos");

  const uint64_t n = g.meta_.tensor_count();  // chapter 1 bounded it by the file size
  g.infos_.reserve(n);
  std::set<std::string_view> names;
  for (uint64_t i = 0; i < n; ++i) {
    g.infos_.push_back(read_info(r));
    if (!names.insert(g.infos_.back().name).second)
      r.fail("tensor '" + g.infos_.back().name + "'", "duplicate tensor name");
  }

  // The data section starts at the next multiple of the alignment after the infos.
  const uint64_t end_of_infos = r.offset();
  const uint64_t data_start =
      (end_of_infos + g.alignment_ - 1) / g.alignment_ * g.alignment_;  // alignment <= 2^30
  const uint64_t size = file->size();
  if (n > 0 && data_start > size)
    r.fail("data section", "starts at byte " + std::to_string(data_start) +
                               ", past the end of the " + std::to_string(size) + "-byte file");
  g.data_offset_ = static_cast<size_t>(std::min(data_start, size));
  const uint64_t data_size = size - g.data_offset_;

  for (const GgufTensorInfo& t : g.infos_) {
    const std::string field = "tensor '" + t.name + "'";
    if (t.offset % g.alignment_ != 0)
      r.fail(field, "offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                        std::to_string(g.alignment_));
    const uint64_t end = add_checked(t.offset, t.nbytes, r, field);
    if (end > data_size)
      r.fail(field, "data [" + std::to_string(t.offset) + ", " + std::to_string(end) +
                        ") runs past the end of the data section (" + std::to_string(data_size) +
                        " bytes; truncated file?)");
  }
  // Two tensors sharing bytes is not something a writer produces: refuse it as corruption.
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : g.infos_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    if (by_offset[i]->offset < prev.offset + prev.nbytes)
      r.fail("tensor '" + by_offset[i]->name + "'", "data overlaps tensor '" + prev.name + "'");
  }
  return g;
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  for (const GgufTensorInfo& t : infos_)
    if (t.name == name) return &t;
  return nullptr;
}

Tensor GgufFile::tensor(const GgufTensorInfo& info) const {
  const std::shared_ptr<const MappedFile>& file = meta_.file();
  const std::byte* p = file->data() + data_offset_ + info.offset;
  return detail::borrow_aligned(p, info.dtype, info.shape, file);
}

TensorMap GgufFile::tensors() const {
  TensorMap out;
  for (const GgufTensorInfo& t : infos_) out.emplace(t.name, tensor(t));
  return out;
}

}  // namespace llm
