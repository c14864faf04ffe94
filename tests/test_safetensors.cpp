// safetensors reader/writer: round trips of every dtype and odd layout, metadata, atomic writes,
// the Python-written golden fixture, and one malformed file per validation rule (each must throw
// cherry::Error naming the file and the defect). Files go to a fresh temp folder, removed after.
// Not here: fuzzing of the parser (tests/fuzz/fuzz_safetensors.cpp).
#include <doctest/doctest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "tests/test_util.h"

#ifndef CHERRY_FIXTURES_DIR
#define CHERRY_FIXTURES_DIR "tests/fixtures"
#endif

using namespace cherry;
using cherry::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char(uint8_t(n >> (8 * i)));
  return s;
}

// A file image: length field, header text, then `data_bytes` bytes of data.
std::string image(const std::string& header, size_t data_bytes) { return le64(header.size()) + header + std::string(data_bytes, '\0'); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// Opening `bytes` must throw cherry::Error whose message names the file and contains `needle`.
void check_rejects(const TempDir& dir, const std::string& bytes, const std::string& needle) {
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  CHECK_THROWS_AS(SafeTensorsFile::open(path), cherry::Error);
  std::string msg = "<no error>";
  try {
    SafeTensorsFile::open(path);
  } catch (const cherry::Error& e) {
    msg = e.what();
  }
  CHECK_MESSAGE(msg.find(needle) != std::string::npos, "expected '", needle, "' in: ", msg);
  CHECK_MESSAGE(msg.find(path) != std::string::npos, "expected the path in: ", msg);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const cherry::Error& e) {
    return e.what();
  }
  return "<no error>";
}

const std::string kF32x2 = R"({"dtype":"F32","shape":[2],"data_offsets":)";

}  // namespace

TEST_CASE("safetensors: round trip of every dtype, 0-dim, zero-size and non-contiguous tensors") {
  TempDir dir;
  const std::string path = dir.file("rt.safetensors");
  Tensor base = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor transposed = base.transpose(0, 1);  // [3,2], non-contiguous
  REQUIRE_FALSE(transposed.is_contiguous());
  // u8[5] first pushes every later tensor off 8-byte alignment in the data buffer, so get() must
  // take its copying path for them; the leading f64 stays aligned and is viewed in place.
  std::vector<std::pair<std::string, Tensor>> in = {
      {"f64", from_vector<double>({0.5, -1.25, 1e300, -0.0}, {4})},
      {"u8", from_vector<uint8_t>({0, 1, 127, 128, 255}, {5})},
      {"f32", base},
      {"i64", from_vector<int64_t>({-1, 0, int64_t(1) << 40}, {3})},
      {"bool", from_vector<bool>({true, false, true}, {3})},
      {"scalar", scalar_tensor(3.5)},
      {"empty", empty({0, 3}, DType::f32)},
      {"transposed", transposed},
  };
  save_safetensors(path, in);

  auto f = SafeTensorsFile::open(path);
  REQUIRE(f.entries().size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {  // file order is the given order
    CHECK(f.entries()[i].name == in[i].first);
    CHECK(f.entries()[i].dtype == in[i].second.dtype());
    CHECK(f.entries()[i].shape == in[i].second.shape());
    CHECK(f.contains(in[i].first));
  }
  CHECK_FALSE(f.contains("nope"));
  CHECK(f.get("f64").to_vector<double>() == std::vector<double>{0.5, -1.25, 1e300, -0.0});
  CHECK(f.get("u8").to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 127, 128, 255});
  CHECK(f.get("f32").to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(f.get("i64").to_vector<int64_t>() == std::vector<int64_t>{-1, 0, int64_t(1) << 40});
  Tensor b = f.get("bool");
  CHECK(b.dtype() == DType::boolean);
  CHECK(b.at<bool>({0}));
  CHECK_FALSE(b.at<bool>({1}));
  CHECK(b.at<bool>({2}));
  Tensor s = f.get("scalar");
  CHECK(s.dim() == 0);
  CHECK(s.item<float>() == 3.5f);
  Tensor e = f.get("empty");
  CHECK(e.shape() == Shape{0, 3});
  CHECK(e.numel() == 0);
  Tensor t = f.get("transposed");
  CHECK(t.shape() == Shape{3, 2});
  CHECK(t.is_contiguous());
  CHECK(t.to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});

  auto all = load_safetensors(path);
  CHECK(all.size() == in.size());
  CHECK(all.at("i64").to_vector<int64_t>() == std::vector<int64_t>{-1, 0, int64_t(1) << 40});
}

TEST_CASE("safetensors: views keep the mapping alive, and in-place writes never reach the file") {
  TempDir dir;
  const std::string path = dir.file("views.safetensors");
  save_safetensors(path, {{"w", from_vector<float>({1, 2, 3, 4}, {2, 2})}, {"n", from_vector<int64_t>({7}, {1})}});
  Tensor w;
  {
    auto f = SafeTensorsFile::open(path);
    w = f.get("w");
  }  // file object gone; w must still read the mapping (ASan would flag a use after unmap)
  CHECK(w.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  w.mul_(10.0);  // copy-on-write private mapping
  CHECK(w.to_vector<float>() == std::vector<float>{10, 20, 30, 40});
  CHECK(load_safetensors(path).at("w").to_vector<float>() == std::vector<float>{1, 2, 3, 4});
}

TEST_CASE("safetensors: metadata round trip and the format=pt default") {
  TempDir dir;
  const std::string path = dir.file("meta.safetensors");
  save_safetensors(path, {{"x", ones({2})}}, {{"epoch", "3"}, {"note", "ünïcode ok"}});
  auto f = SafeTensorsFile::open(path);
  CHECK(f.metadata().at("epoch") == "3");
  CHECK(f.metadata().at("note") == "ünïcode ok");
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.metadata().size() == 3);

  save_safetensors(path, {{"x", ones({2})}}, {{"format", "mlx"}});  // an explicit format wins
  CHECK(SafeTensorsFile::open(path).metadata().at("format") == "mlx");

  // The map overload writes in key order.
  std::map<std::string, Tensor> m = {{"b", ones({1})}, {"a", zeros({2}, DType::i64)}};
  save_safetensors(path, m);
  auto g = SafeTensorsFile::open(path);
  REQUIRE(g.entries().size() == 2);
  CHECK(g.entries()[0].name == "a");
  CHECK(g.entries()[1].name == "b");
  CHECK(g.metadata().at("format") == "pt");
}

TEST_CASE("safetensors: the data buffer starts 8-byte aligned and the header is space padded") {
  TempDir dir;
  const std::string path = dir.file("pad.safetensors");
  save_safetensors(path, {{"abc", ones({3}, DType::f64)}});
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  CHECK((8 + n) % 8 == 0);
  CHECK(bytes.size() == 8 + n + 24);
  CHECK(bytes[8] == '{');
}

TEST_CASE("safetensors: writes are atomic and leave no temp file") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  save_safetensors(path, {{"a", ones({4})}});
  save_safetensors(path, {{"a", zeros({4})}, {"b", ones({1})}});  // overwrite in place
  CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});
  CHECK(SafeTensorsFile::open(path).entries().size() == 2);

  // Failures throw and leave nothing behind either.
  CHECK_THROWS_AS(save_safetensors(dir.file("no/such/dir/x.safetensors"), {{"a", ones({1})}}), cherry::Error);
  CHECK_THROWS_AS(save_safetensors(dir.file("dup.safetensors"), {{"a", ones({1})}, {"a", ones({1})}}), cherry::Error);
  CHECK_THROWS_AS(save_safetensors(dir.file("meta.safetensors"), {{"__metadata__", ones({1})}}), cherry::Error);
  CHECK_THROWS_AS(save_safetensors(dir.file("undef.safetensors"), {{"a", Tensor()}}), cherry::Error);
  CHECK_THROWS_AS(save_safetensors(dir.file("utf8.safetensors"), {{std::string("bad\xff"), ones({1})}}), cherry::Error);
  CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("safetensors: reads the golden fixture written by Python's safetensors") {
  const std::string path = std::string(CHERRY_FIXTURES_DIR) + "/golden_mlp.safetensors";
  auto f = SafeTensorsFile::open(path);
  CHECK(f.path() == path);
  CHECK(f.metadata().at("format") == "pt");
  const auto& w = f.entry("fc1.weight");
  CHECK(w.dtype == DType::f32);
  CHECK(w.shape == Shape{32, 20});
  Tensor y = f.get("y");
  CHECK(y.dtype() == DType::i64);
  CHECK(y.shape() == Shape{8});
  for (int64_t v : y.to_vector<int64_t>()) CHECK((v >= 0 && v < 10));
  CHECK(f.get("x").shape() == Shape{8, 20});
  CHECK(f.get("fc2.weight").shape() == Shape{10, 32});
  CHECK(f.get("out.loss").dim() == 0);
  for (const char* k : {"fc1.bias", "fc2.bias", "out.logits", "grad.fc1.weight"}) CHECK(f.contains(k));
  for (size_t i = 1; i < f.entries().size(); ++i) CHECK(f.entries()[i - 1].end == f.entries()[i].begin);
  // PyTorch's weights are plain finite floats
  for (float v : f.get("fc1.weight").to_vector<float>()) CHECK(std::isfinite(v));
}

TEST_CASE("safetensors: malformed files are rejected with a clear cherry::Error") {
  TempDir dir;
  const std::string ok = "{\"a\":" + kF32x2 + "[0,8]}}";

  SUBCASE("too short") {
    check_rejects(dir, "", "too short");
    check_rejects(dir, std::string("\x10\0\0", 3), "too short");
  }
  SUBCASE("header cut") { check_rejects(dir, image(ok, 8).substr(0, 8 + ok.size() / 2), "truncated"); }
  SUBCASE("data cut") {
    const std::string full = image(ok, 8);
    check_rejects(dir, full.substr(0, full.size() - 1), "past the end");
  }
  SUBCASE("huge header length") { check_rejects(dir, le64(uint64_t(1) << 40) + ok, "exceeds"); }
  SUBCASE("header length past the end") { check_rejects(dir, le64(4096) + ok, "truncated"); }
  SUBCASE("not JSON") { check_rejects(dir, image("{\"a\": nope}", 0), "not valid JSON"); }
  SUBCASE("empty header") { check_rejects(dir, image("", 0), "not valid JSON"); }
  SUBCASE("invalid UTF-8") { check_rejects(dir, image("{\"a\xff\":1}", 0), "not valid JSON"); }
  SUBCASE("not an object") { check_rejects(dir, image("[1,2]", 0), "JSON object"); }
  SUBCASE("entry not an object") { check_rejects(dir, image(R"({"a":[1]})", 0), "must be a JSON object"); }
  SUBCASE("missing field") { check_rejects(dir, image(R"({"a":{"dtype":"F32","data_offsets":[0,0]}})", 0), "no \"shape\""); }
  SUBCASE("wrong JSON type") { check_rejects(dir, image(R"({"a":{"dtype":4,"shape":[],"data_offsets":[0,4]}})", 4), "must be a string"); }
  SUBCASE("offsets not a pair") { check_rejects(dir, image("{\"a\":" + kF32x2 + "[0,8,9]}}", 8), "[begin, end]"); }
  SUBCASE("unknown dtype") { check_rejects(dir, image(R"({"a":{"dtype":"F17","shape":[],"data_offsets":[0,4]}})", 4), "unknown dtype"); }
  SUBCASE("unsupported dtype") {
    check_rejects(dir, image(R"({"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", 8), "does not support");
  }
  SUBCASE("16-bit floats take 2 bytes each") {
    check_rejects(dir, image(R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,8]}})", 8), "BF16[2] = 4 bytes");
  }
  SUBCASE("negative shape") { check_rejects(dir, image(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", 0), "negative"); }
  SUBCASE("fractional shape") { check_rejects(dir, image(R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,0]}})", 0), "integers"); }
  SUBCASE("shape overflow") {
    check_rejects(dir, image(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", 0), "overflow");
    check_rejects(dir, image(R"({"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})", 0), "overflow");
  }
  SUBCASE("begin > end") { check_rejects(dir, image("{\"a\":" + kF32x2 + "[8,0]}}", 8), "begin 8 > end 0"); }
  SUBCASE("offsets do not match numel") { check_rejects(dir, image("{\"a\":" + kF32x2 + "[0,12]}}", 12), "span 12 bytes"); }
  SUBCASE("overlapping offsets") { check_rejects(dir, image("{\"a\":" + kF32x2 + "[0,8]},\"b\":" + kF32x2 + "[4,12]}}", 12), "overlap"); }
  SUBCASE("gap between offsets") { check_rejects(dir, image("{\"a\":" + kF32x2 + "[0,8]},\"b\":" + kF32x2 + "[12,20]}}", 20), "gap of 4"); }
  SUBCASE("first tensor not at 0") { check_rejects(dir, image("{\"a\":" + kF32x2 + "[4,12]}}", 12), "gap of 4"); }
  SUBCASE("trailing bytes") { check_rejects(dir, image(ok, 12), "trailing"); }
  SUBCASE("duplicate key") {
    check_rejects(dir, image("{\"a\":" + kF32x2 + "[0,8]},\"a\":" + kF32x2 + "[8,16]}}", 16), "duplicate key 'a'");
    check_rejects(dir, image(R"({"a":{"dtype":"U8","dtype":"U8","shape":[],"data_offsets":[0,1]}})", 1), "duplicate key 'dtype'");
  }
  SUBCASE("absurdly deep JSON") {
    check_rejects(dir, image(std::string(100, '[') + std::string(100, ']'), 0), "deeper than");
    std::string deep = R"({"__metadata__":{"x":)";
    for (int i = 0; i < 40; ++i) deep += R"({"a":)";
    check_rejects(dir, image(deep + "1" + std::string(42, '}'), 0), "deeper than");
  }
  SUBCASE("metadata with a non-string value") {
    check_rejects(dir, image(R"({"__metadata__":{"epoch":3}})", 0), "must be a string");
    check_rejects(dir, image(R"({"__metadata__":[]})", 0), "string->string map");
  }
  SUBCASE("missing file and folders") {
    CHECK(error_of([&] { SafeTensorsFile::open(dir.file("missing.safetensors")); }).find("cannot open") != std::string::npos);
    CHECK(error_of([&] { SafeTensorsFile::open(dir.path.string()); }).find("not a regular file") != std::string::npos);
  }
}

TEST_CASE("safetensors: edge cases that are valid") {
  TempDir dir;
  const std::string path = dir.file("edge.safetensors");
  SUBCASE("no tensors, empty data buffer") {
    write_bytes(path, image("{}", 0));
    auto f = SafeTensorsFile::open(path);
    CHECK(f.entries().empty());
    CHECK(f.load_all().empty());
  }
  SUBCASE("null metadata, trailing header spaces, only zero-size tensors") {
    write_bytes(path, image(R"({"__metadata__":null,"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}   )", 0));
    auto f = SafeTensorsFile::open(path);
    CHECK(f.metadata().empty());
    CHECK(f.get("z").numel() == 0);
  }
  SUBCASE("many tensors") {
    // 100k entries: guards against parsers that are quadratic in the entry count (nlohmann's
    // callback parser is; this would then take minutes instead of well under a second).
    std::string h = "{";
    for (int i = 0; i < 100000; ++i)
      h += cat(i ? "," : "", "\"t", i, R"(":{"dtype":"U8","shape":[1],"data_offsets":[)", i, ",", i + 1, "]}");
    write_bytes(path, image(h + "}", 100000));
    auto f = SafeTensorsFile::open(path);
    CHECK(f.entries().size() == 100000);
    CHECK(f.entries()[99999].begin == 99999);
    CHECK(f.get("t5").numel() == 1);
  }
  SUBCASE("save and load nothing") {
    save_safetensors(path, std::vector<std::pair<std::string, Tensor>>{});
    CHECK(SafeTensorsFile::open(path).entries().empty());
  }
}

TEST_CASE("safetensors: get() checks names and BOOL bytes") {
  TempDir dir;
  const std::string path = dir.file("bool.safetensors");
  write_bytes(path, image(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", 0) + std::string("\x01\x02", 2));
  auto f = SafeTensorsFile::open(path);
  CHECK_THROWS_AS(f.get("m"), cherry::Error);
  CHECK(error_of([&] { f.get("m"); }).find("0 or 1") != std::string::npos);
  CHECK(error_of([&] { f.get("other"); }).find("no tensor named 'other'") != std::string::npos);
}

TEST_CASE("safetensors: from_buffer parses memory without a file") {
  std::string bytes = image(R"({"v":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 0) + le64(42);
  // A heap copy owned through the shared_ptr, as a caller holding a downloaded file would pass it.
  auto buf = std::shared_ptr<uint64_t[]>(new uint64_t[(bytes.size() + 7) / 8]);
  std::memcpy(buf.get(), bytes.data(), bytes.size());
  auto f = SafeTensorsFile::from_buffer(std::shared_ptr<const void>(buf, buf.get()), reinterpret_cast<const uint8_t*>(buf.get()),
                                        bytes.size(), "<memory>");
  CHECK(f.get("v").item<int64_t>() == 42);
  CHECK(error_of([] { SafeTensorsFile::from_buffer(nullptr, reinterpret_cast<const uint8_t*>("abc"), 3, "<memory>"); }).find("<memory>") !=
        std::string::npos);
}

TEST_CASE("safetensors: F16 is widened to f32 exactly, BF16 reads as bf16 (normals, subnormals, zeros, inf, NaN)") {
  TempDir dir;
  const std::string path = dir.file("half.safetensors");
  auto u16 = [](std::initializer_list<uint16_t> v) {
    std::string s;
    for (uint16_t x : v) s += char(x & 0xFF), s += char(x >> 8);
    return s;
  };
  // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 2^-14 (smallest normal), -0, inf, NaN.
  // BF16: 1, -5, a large finite value, 2^-133 (subnormal). Read with memcpy, so any alignment works.
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]}})";
  write_bytes(path, image(header, 0) + u16({0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x8000, 0x7C00, 0x7E00}) +
                        u16({0x3F80, 0xC0A0, 0x7F61, 0x0001}));
  auto f = SafeTensorsFile::open(path);
  CHECK(f.entry("h").dtype == DType::f32);
  CHECK(f.entry("h").stored == StoredAs::f16);
  Tensor h = f.get("h");
  CHECK(h.shape() == Shape{2, 4});
  auto v = h.to_vector<float>();
  CHECK(v[0] == 1.0f);
  CHECK(v[1] == -2.0f);
  CHECK(v[2] == 65504.0f);
  CHECK(v[3] == std::ldexp(1.0f, -24));
  CHECK(v[4] == std::ldexp(1.0f, -14));
  CHECK((v[5] == 0.0f && std::signbit(v[5])));
  CHECK(std::isinf(v[6]));
  CHECK(std::isnan(v[7]));
  CHECK(f.entry("b").dtype == DType::bf16);
  CHECK(f.get("b").dtype() == DType::bf16);
  auto b = f.get("b").to(DType::f32).to_vector<float>();
  CHECK(b[0] == 1.0f);
  CHECK(b[1] == -5.0f);
  CHECK(b[2] == std::bit_cast<float>(uint32_t(0x7F610000)));
  CHECK(b[3] == std::ldexp(1.0f, -133));
}

TEST_CASE("safetensors: a bf16 tensor written and read back keeps its bits and its BF16 dtype name") {
  TempDir dir;
  const std::string path = dir.file("bf16.safetensors");
  const std::vector<uint16_t> bits = {0x3F80, 0xC0A0, 0x7F61, 0x0001, 0x8000, 0x7F80, 0xFF80, 0x7FC0};
  Tensor t = empty({2, 4}, DType::bf16);
  std::memcpy(t.raw_data(), bits.data(), bits.size() * 2);
  save_safetensors(path, {{"w", t}});
  auto f = SafeTensorsFile::open(path);
  CHECK(f.entry("w").dtype == DType::bf16);
  Tensor back = f.get("w");
  REQUIRE(back.dtype() == DType::bf16);
  std::vector<uint16_t> got(8);
  std::memcpy(got.data(), back.contiguous().raw_data(), 16);
  CHECK(got == bits);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  CHECK(bytes.find("\"dtype\":\"BF16\"") != std::string::npos);
}
