// safetensors reader (mmap + full header validation) and atomic writer. Every byte of a file being
// read is untrusted: sizes are checked with overflow-safe size_t arithmetic before any pointer is
// formed, and the JSON is scanned once (SAX) for syntax, depth and duplicate keys before nlohmann
// builds the DOM.
// Not here: state-dict logic (names, shapes) - see layers/ and models/. The one conversion is F16/BF16
// -> f32 on get().
// Cost on hostile input: the header DOM can take ~10x the header's bytes (at most ~1 GB).
#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace cherry {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; a big-endian host would need byte swaps");

namespace {

using json = nlohmann::json;
constexpr const char* kReadOp = "safetensors";
constexpr const char* kWriteOp = "save_safetensors";

struct DtypeName {
  const char* name;
  DType dtype;
};
constexpr DtypeName kSupported[] = {
    {"F32", DType::f32}, {"F64", DType::f64}, {"BF16", DType::bf16}, {"I64", DType::i64}, {"U8", DType::u8}, {"BOOL", DType::boolean}};
struct WidenedName {
  const char* name;
  StoredAs stored;
};
// F16 (no tensor type of ours) reads as f32 (2 bytes each in the file).
constexpr WidenedName kWidened[] = {{"F16", StoredAs::f16}};
// Valid safetensors dtypes Cherry has no tensor type for: named so the error can say "unsupported"
// rather than "unknown", which points the user at converting the file instead of at corruption.
constexpr const char* kKnownUnsupported[] = {"I8",      "I16",     "U16",     "I32", "U32",     "U64",    "C64",
                                             "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2"};

// IEEE binary16 -> binary32, exact (every half is a float): normals rebias the exponent, subnormals
// are normalised, inf/NaN keep their payload.
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: shift the leading 1 into the implicit bit
    exp = 113;
    while (!(mant & 0x400u)) mant <<= 1, --exp;
    bits = sign | (exp << 23) | ((mant & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

size_t stored_size(const SafeTensorEntry& e) { return e.stored == StoredAs::same ? dtype_size(e.dtype) : 2; }
const char* stored_name(const SafeTensorEntry& e) {
  for (const auto& w : kWidened)
    if (w.stored == e.stored) return w.name;
  return safetensors_dtype_name(e.dtype);
}

std::string errno_str() { return std::strerror(errno); }

// A short description of a JSON value for error messages (never the whole of a big value).
std::string describe_json(const json& v) {
  if (v.is_number() || v.is_boolean() || v.is_null()) return v.dump();
  if (v.is_string()) {  // not dump(): cutting a long string could split a UTF-8 sequence, and dump() throws on that
    const auto& s = v.get_ref<const std::string&>();
    return "\"" + (s.size() <= 40 ? s : s.substr(0, 40) + "...") + "\"";
  }
  return std::string("a JSON ") + v.type_name();
}

// Tensor names and metadata keys come from the file; cap them in messages so a 1 MB key cannot
// flood a log.
std::string quote_name(const std::string& s) { return "'" + (s.size() <= 80 ? s : s.substr(0, 80) + "...") + "'"; }

void parse_dtype(const json& v, const std::string& file, SafeTensorEntry& e) {
  CHERRY_CHECK(v.is_string(), kReadOp, file, ": tensor ", quote_name(e.name), ": \"dtype\" must be a string, got ", describe_json(v));
  const auto& s = v.get_ref<const std::string&>();
  for (const auto& d : kSupported)
    if (s == d.name) {
      e.dtype = d.dtype;
      return;
    }
  for (const auto& w : kWidened)
    if (s == w.name) {
      e.dtype = DType::f32, e.stored = w.stored;
      return;
    }
  for (const char* u : kKnownUnsupported)
    CHERRY_CHECK(s != u, kReadOp, file, ": tensor ", quote_name(e.name), " has dtype ", s,
                 ", which cherry does not support (supported: F32, F64, BF16, I64, U8, BOOL; F16 read as F32); convert the file first");
  CHERRY_CHECK(false, kReadOp, file, ": tensor ", quote_name(e.name), " has unknown dtype ", describe_json(v));
}

// A JSON non-negative integer; nlohmann stores non-negative literals as unsigned and negative ones
// as signed, so both branches are needed.
uint64_t parse_u64(const json& v, const std::string& file, const std::string& tensor, const char* field) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  CHERRY_CHECK(!(v.is_number_integer() && v.get<int64_t>() < 0), kReadOp, file, ": tensor ", quote_name(tensor), ": \"", field,
               "\" has a negative value ", describe_json(v));
  CHERRY_CHECK(false, kReadOp, file, ": tensor ", quote_name(tensor), ": \"", field, "\" must hold non-negative integers, got ",
               describe_json(v));
  return 0;
}

const json& require_field(const json& obj, const char* field, const std::string& file, const std::string& tensor) {
  auto it = obj.find(field);
  CHERRY_CHECK(it != obj.end(), kReadOp, file, ": tensor ", quote_name(tensor), " has no \"", field, "\" field");
  return *it;
}

SafeTensorEntry parse_entry(const std::string& name, const json& v, const std::string& file) {
  CHERRY_CHECK(v.is_object(), kReadOp, file, ": entry ", quote_name(name), " must be a JSON object, got ", describe_json(v));
  SafeTensorEntry e;
  e.name = name;
  parse_dtype(require_field(v, "dtype", file, name), file, e);

  const json& shape = require_field(v, "shape", file, name);
  CHERRY_CHECK(shape.is_array(), kReadOp, file, ": tensor ", quote_name(name), ": \"shape\" must be an array, got ", describe_json(shape));
  // The product of the non-zero dims must fit int64 even when another dim is 0: contiguous strides
  // multiply them, and a signed overflow there would be undefined behaviour.
  uint64_t product = 1;
  bool has_zero = false;
  for (const auto& d : shape) {
    const uint64_t n = parse_u64(d, file, name, "shape");
    constexpr uint64_t kMax = uint64_t(std::numeric_limits<int64_t>::max());
    CHERRY_CHECK(n <= kMax && (n == 0 || product <= kMax / n), kReadOp, file, ": tensor ", quote_name(name),
                 ": shape product overflows at dim ", n);
    if (n == 0)
      has_zero = true;
    else
      product *= n;
    e.shape.push_back(int64_t(n));
  }
  const uint64_t numel = has_zero ? 0 : product;
  const size_t esize = stored_size(e);
  CHERRY_CHECK(numel <= std::numeric_limits<size_t>::max() / esize, kReadOp, file, ": tensor ", quote_name(name), ": byte size of shape ",
               shape_str(e.shape), " overflows");
  const size_t nbytes = size_t(numel) * esize;

  const json& off = require_field(v, "data_offsets", file, name);
  CHERRY_CHECK(off.is_array() && off.size() == 2, kReadOp, file, ": tensor ", quote_name(name),
               ": \"data_offsets\" must be an array [begin, end], got ", describe_json(off),
               off.is_array() ? cat(" of size ", off.size()) : "");
  const uint64_t b = parse_u64(off[0], file, name, "data_offsets"), en = parse_u64(off[1], file, name, "data_offsets");
  CHERRY_CHECK(b <= en, kReadOp, file, ": tensor ", quote_name(name), ": data_offsets begin ", b, " > end ", en);
  CHERRY_CHECK(en - b == nbytes, kReadOp, file, ": tensor ", quote_name(name), " is ", stored_name(e), shape_str(e.shape), " = ", nbytes,
               " bytes, but data_offsets [", b, ", ", en, "] span ", en - b, " bytes");
  e.begin = size_t(b);
  e.end = size_t(en);
  return e;
}

// SAX pass over the header. Catches what the DOM parse would hide or choke on: duplicate keys at any
// depth (nlohmann keeps the last silently) and absurd nesting (memory). nlohmann's callback parser
// could find duplicates too, but it rescans the parent object after every child object, which is
// quadratic in the number of tensors: a 100 MB header of small entries would take hours.
struct HeaderScan final : nlohmann::json_sax<json> {
  static constexpr size_t kMaxDepth = 32;
  std::vector<std::set<std::string>> objects;  // keys of each open object; arrays hold no keys
  size_t depth = 0;
  std::string duplicate, syntax_error;
  bool too_deep = false;

  bool enter() {
    too_deep = ++depth > kMaxDepth;
    return !too_deep;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    objects.emplace_back();
    return enter();
  }
  bool key(string_t& k) override {
    if (objects.back().insert(k).second) return true;
    duplicate = k;
    return false;
  }
  bool end_object() override {
    objects.pop_back();
    --depth;
    return true;
  }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override {
    --depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const json::exception& ex) override {
    syntax_error = ex.what();
    return false;
  }
};

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  for (const auto& d : kSupported)
    if (d.dtype == dtype) return d.name;
  return "?";
}

// --- reading ---

SafeTensorsFile SafeTensorsFile::from_buffer(std::shared_ptr<const void> owner, const uint8_t* data, size_t size, std::string name) {
  CHERRY_CHECK(size >= 8, kReadOp, name, ": file is ", size, " bytes, too short for the 8-byte header length (truncated or empty file?)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  CHERRY_CHECK(n <= kSafetensorsMaxHeader, kReadOp, name, ": header length ", n, " exceeds the ", kSafetensorsMaxHeader,
               "-byte limit (corrupt, or not a safetensors file)");
  CHERRY_CHECK(n <= size - 8, kReadOp, name, ": header length ", n, " is more than the ", size - 8,
               " bytes after the length field (truncated file?)");
  const uint8_t* hbegin = data + 8;
  const uint8_t* hend = hbegin + n;

  // Pass 1 (SAX, no DOM): syntax, nesting depth and duplicate keys. Pass 2 builds the DOM only for
  // text known to be sane.
  HeaderScan scan;
  const bool scanned = json::sax_parse(hbegin, hend, &scan, json::input_format_t::json, /*strict=*/true);
  CHERRY_CHECK(scan.syntax_error.empty(), kReadOp, name, ": header is not valid JSON: ", scan.syntax_error);
  CHERRY_CHECK(scan.duplicate.empty(), kReadOp, name, ": header has duplicate key ", quote_name(scan.duplicate));
  CHERRY_CHECK(!scan.too_deep, kReadOp, name, ": header nests JSON deeper than ", HeaderScan::kMaxDepth,
               " levels (a safetensors header needs 3)");
  CHERRY_CHECK(scanned, kReadOp, name, ": header is not valid JSON");
  json header;
  try {
    header = json::parse(hbegin, hend);
  } catch (const json::exception& e) {  // unreachable after a clean scan; kept so nothing else escapes
    CHERRY_CHECK(false, kReadOp, name, ": header is not valid JSON: ", e.what());
  }
  CHERRY_CHECK(header.is_object(), kReadOp, name, ": header must be a JSON object, got ", describe_json(header));

  SafeTensorsFile f;
  f.path_ = std::move(name);
  f.owner_ = std::move(owner);
  f.data_ = hend;
  f.data_size_ = size - 8 - size_t(n);
  const std::string& file = f.path_;

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      // Upstream safetensors reads a null __metadata__ as "no metadata"; accept it the same way.
      if (value.is_null()) continue;
      CHERRY_CHECK(value.is_object(), kReadOp, file, ": __metadata__ must be a string->string map, got ", describe_json(value));
      for (const auto& [mk, mv] : value.items()) {
        CHERRY_CHECK(mv.is_string(), kReadOp, file, ": __metadata__ value of ", quote_name(mk), " must be a string, got ",
                     describe_json(mv));
        f.metadata_.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    f.entries_.push_back(parse_entry(key, value, file));
  }
  header = json();  // free the DOM before the (possibly large) index is built

  // Offsets must tile the data buffer exactly: no overlap (two tensors aliasing bytes), no holes
  // (hidden payload), nothing past the end. Stable sort keeps zero-size tensors in key order.
  std::stable_sort(f.entries_.begin(), f.entries_.end(), [](const SafeTensorEntry& a, const SafeTensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  size_t expect = 0;
  const SafeTensorEntry* prev = nullptr;
  for (const auto& e : f.entries_) {
    CHERRY_CHECK(e.begin >= expect, kReadOp, file, ": tensor ", quote_name(e.name), " data_offsets [", e.begin, ", ", e.end,
                 "] overlap tensor ", quote_name(prev ? prev->name : ""), " ending at ", expect);
    CHERRY_CHECK(e.begin == expect, kReadOp, file, ": gap of ", e.begin - expect, " unused bytes before tensor ", quote_name(e.name),
                 " (data_offsets [", e.begin, ", ", e.end, "], previous tensor ends at ", expect, ")");
    CHERRY_CHECK(e.end <= f.data_size_, kReadOp, file, ": tensor ", quote_name(e.name), " data_offsets [", e.begin, ", ", e.end,
                 "] run past the end of the ", f.data_size_, "-byte data buffer (truncated file?)");
    expect = e.end;
    prev = &e;
  }
  CHERRY_CHECK(expect == f.data_size_, kReadOp, file, ": tensors cover ", expect, " bytes but the data buffer has ", f.data_size_,
               " bytes (", f.data_size_ - expect, " trailing bytes)");
  for (size_t i = 0; i < f.entries_.size(); ++i) f.index_.emplace(f.entries_[i].name, i);
  return f;
}

SafeTensorsFile SafeTensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CHERRY_CHECK(fd >= 0, kReadOp, path, ": cannot open: ", errno_str());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string err = errno_str();
    ::close(fd);
    CHERRY_CHECK(false, kReadOp, path, ": cannot stat: ", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    CHERRY_CHECK(false, kReadOp, path, ": not a regular file");
  }
  const size_t size = size_t(st.st_size);
  if (size < 8) {  // checked before mmap, which fails on 0 bytes
    ::close(fd);
    CHERRY_CHECK(false, kReadOp, path, ": file is ", size, " bytes, too short for the 8-byte header length (truncated or empty file?)");
  }
  // MAP_PRIVATE + PROT_WRITE is copy-on-write: an optimizer updating loaded weights in place gets
  // private pages instead of a SIGSEGV, and the file on disk is never modified.
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const std::string err = p == MAP_FAILED ? errno_str() : "";
  ::close(fd);  // the mapping stays valid without the descriptor
  CHERRY_CHECK(p != MAP_FAILED, kReadOp, path, ": mmap of ", size, " bytes failed: ", err);
  std::shared_ptr<const void> mapping(p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
  return from_buffer(mapping, static_cast<const uint8_t*>(p), size, path);
}

const SafeTensorEntry& SafeTensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  CHERRY_CHECK(it != index_.end(), kReadOp, path_, ": no tensor named ", quote_name(name), " (file has ", entries_.size(), " tensors)");
  return entries_[it->second];
}

Tensor SafeTensorsFile::get(const std::string& name) const {
  const SafeTensorEntry& e = entry(name);
  const size_t nbytes = e.end - e.begin;
  if (nbytes == 0) return empty(e.shape, e.dtype);
  const uint8_t* src = data_ + e.begin;
  if (e.dtype == DType::boolean) {
    // A C++ bool holding any byte but 0 or 1 is undefined behaviour, so reject such files here.
    const uint8_t* bad = std::find_if(src, src + nbytes, [](uint8_t b) { return b > 1; });
    CHERRY_CHECK(bad == src + nbytes, kReadOp, path_, ": BOOL tensor ", quote_name(name), " holds byte ", int(*bad), " at element ",
                 bad - src, "; BOOL bytes must be 0 or 1");
  }
  if (e.stored != StoredAs::same) {
    Tensor t = empty(e.shape, DType::f32);
    float* dst = t.data_ptr<float>();
    const size_t n = nbytes / 2;
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);  // no alignment assumed
      dst[i] = half_to_float(h);
    }
    return t;
  }
  if (reinterpret_cast<uintptr_t>(src) % dtype_size(e.dtype) != 0) {
    Tensor t = empty(e.shape, e.dtype);
    std::memcpy(t.raw_data(), src, nbytes);
    return t;
  }
  // Each tensor gets its own Storage over its byte range; the release hook holds the buffer owner,
  // so the mapping outlives this SafeTensorsFile for as long as any view does.
  auto storage = std::make_shared<Storage>(const_cast<uint8_t*>(src), nbytes, kCPU, [owner = owner_] {});
  return from_storage(std::move(storage), e.shape, e.dtype);
}

std::map<std::string, Tensor> SafeTensorsFile::load_all() const {
  std::map<std::string, Tensor> out;
  for (const auto& e : entries_) out.emplace(e.name, get(e.name));
  return out;
}

std::map<std::string, Tensor> load_safetensors(const std::string& path) { return SafeTensorsFile::open(path).load_all(); }

// --- writing ---

namespace {

void write_all(int fd, const void* data, size_t n, const std::string& tmp) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0 && errno == EINTR) continue;
    CHERRY_CHECK(w > 0, kWriteOp, tmp, ": write failed: ", w < 0 ? errno_str() : "no progress");
    p += w;
    n -= size_t(w);
  }
}

// The temp file: closed and unlinked unless commit() renamed it into place.
struct TempFile {
  std::string path;
  int fd = -1;
  bool committed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!committed && !path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  CHERRY_CHECK(!path.empty() && target.has_filename(), kWriteOp, "'", path, "' does not name a file");

  // ordered_json keeps the header in the caller's order, which makes files diffable.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  if (!metadata.count("format")) meta["format"] = "pt";
  header["__metadata__"] = std::move(meta);

  std::vector<Tensor> host;
  host.reserve(tensors.size());
  std::set<std::string> seen;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    CHERRY_CHECK(!name.empty() && name != "__metadata__", kWriteOp, path, ": invalid tensor name '", name, "'");
    CHERRY_CHECK(seen.insert(name).second, kWriteOp, path, ": duplicate tensor name ", quote_name(name));
    CHERRY_CHECK(t.defined(), kWriteOp, path, ": tensor ", quote_name(name), " is undefined");
    const Tensor c = t.device().is_cpu() && t.is_contiguous() ? t : dense_copy(t, t.dtype(), kCPU);
    const size_t nbytes = size_t(c.numel()) * dtype_size(c.dtype());
    header[name] = {{"dtype", safetensors_dtype_name(c.dtype())},
                    {"shape", c.shape()},
                    {"data_offsets", nlohmann::ordered_json::array({offset, offset + nbytes})}};
    offset += nbytes;
    host.push_back(std::move(c));
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    CHERRY_CHECK(false, kWriteOp, path, ": tensor names and metadata must be valid UTF-8: ", e.what());
  }
  // Pad with spaces (allowed by the format) so the data buffer starts 8-byte aligned in the file,
  // which keeps mmap-ed f64/i64 tensors zero-copy.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));

  // Same folder as the target, so rename() is atomic (never across filesystems).
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  static std::atomic<uint64_t> counter{0};
  TempFile tmp;
  for (int attempt = 0; tmp.fd < 0; ++attempt) {
    tmp.path = (dir / cat(".", target.filename().string(), ".tmp-", ::getpid(), "-", counter.fetch_add(1))).string();
    tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (tmp.fd < 0) {
      const bool retry = errno == EEXIST && attempt < 100;
      const std::string err = errno_str();
      tmp.path.clear();  // not ours: do not unlink
      CHERRY_CHECK(retry, kWriteOp, path, ": cannot create temp file in '", dir.string(), "': ", err);
    }
  }
  write_all(tmp.fd, len, 8, tmp.path);
  write_all(tmp.fd, text.data(), text.size(), tmp.path);
  for (const auto& c : host)
    if (c.numel()) write_all(tmp.fd, c.raw_data(), size_t(c.numel()) * dtype_size(c.dtype()), tmp.path);
  CHERRY_CHECK(::fsync(tmp.fd) == 0, kWriteOp, tmp.path, ": fsync failed: ", errno_str());
  const int fd = tmp.fd;
  tmp.fd = -1;
  CHERRY_CHECK(::close(fd) == 0, kWriteOp, tmp.path, ": close failed: ", errno_str());
  CHERRY_CHECK(::rename(tmp.path.c_str(), path.c_str()) == 0, kWriteOp, path, ": cannot rename temp file into place: ", errno_str());
  tmp.committed = true;
  // Persist the rename itself; best effort, as some filesystems refuse fsync on folders.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, std::vector<std::pair<std::string, Tensor>>(tensors.begin(), tensors.end()), metadata);
}

void save_safetensors(const std::string& path, std::initializer_list<std::pair<std::string, Tensor>> tensors,
                      const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, std::vector<std::pair<std::string, Tensor>>(tensors), metadata);
}

}  // namespace cherry
