// safetensors: read and write Hugging Face .safetensors weight files (8-byte little-endian header
// length, a JSON header, then one flat data buffer). Reading memory-maps the file and validates the
// whole header up front, because weight files are untrusted input: any defect is a cherry::Error
// naming the file, never undefined behaviour. Loaded tensors view the mapping (zero copy).
// BF16 tensors read and write as bf16; F16 (common in published checkpoints) is widened to f32 by
// get(), as a copy. Not for: other dtypes Cherry lacks (I32, F8, ...), which are refused on open;
// lazy/partial headers; writing F16.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace cherry {

// Headers above this are refused before any parsing (upstream safetensors uses the same cap).
constexpr size_t kSafetensorsMaxHeader = 100'000'000;

// How a tensor's bytes are stored when that differs from its Cherry dtype: F16, which get() widens
// to f32.
enum class StoredAs : uint8_t { same, f16 };

struct SafeTensorEntry {
  std::string name;
  DType dtype = DType::f32;  // of the tensor get() returns
  StoredAs stored = StoredAs::same;
  Shape shape;
  size_t begin = 0, end = 0;  // byte range in the data buffer
};

class SafeTensorsFile {
 public:
  // Memory-maps `path` (private copy-on-write, so in-place updates of loaded weights never reach the
  // file) and validates it. Throws cherry::Error naming the path and the defect.
  static SafeTensorsFile open(const std::string& path);
  // Parses a whole file image held in memory. `owner` keeps `data` alive for as long as any tensor
  // returned by get() lives; those tensors alias `data`, so writing to them writes the buffer.
  // `name` is used in error messages. This is the entry point the fuzzer drives.
  static SafeTensorsFile from_buffer(std::shared_ptr<const void> owner, const uint8_t* data, size_t size, std::string name);

  const std::vector<SafeTensorEntry>& entries() const { return entries_; }  // sorted by offset
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const SafeTensorEntry& entry(const std::string& name) const;
  // A CPU tensor viewing the data (zero copy; keeps the buffer alive). Copies instead when the bytes
  // are not aligned for the dtype, since kernels assume aligned pointers, and when F16 is widened.
  Tensor get(const std::string& name) const;
  std::map<std::string, Tensor> load_all() const;
  const std::string& path() const { return path_; }

 private:
  SafeTensorsFile() = default;

  std::string path_;
  std::shared_ptr<const void> owner_;
  const uint8_t* data_ = nullptr;  // start of the data buffer (after the header)
  size_t data_size_ = 0;
  std::vector<SafeTensorEntry> entries_;
  std::map<std::string, size_t> index_;  // name -> position in entries_
  std::map<std::string, std::string> metadata_;
};

std::map<std::string, Tensor> load_safetensors(const std::string& path);

// Writes atomically (temp file in the same folder, fsync, rename), so a crash mid-save never leaves
// a torn checkpoint. Tensors may be non-contiguous or on any device; they are laid out in the given
// order. Adds {"format": "pt"} to the metadata unless a "format" key is given, so Hugging Face
// tools accept the file.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Makes save_safetensors(path, {{"w", w}, {"b", b}}) unambiguous (a braced list would fit both
// containers above); keeps the written order.
void save_safetensors(const std::string& path, std::initializer_list<std::pair<std::string, Tensor>> tensors,
                      const std::map<std::string, std::string>& metadata = {});

// The safetensors dtype name ("F32", "I64", "BOOL", ...) of a Cherry dtype.
const char* safetensors_dtype_name(DType dtype);

}  // namespace cherry
