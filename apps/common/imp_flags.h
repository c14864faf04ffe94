// The PAD/IMP flags both apps share (--kappa, --imp-*, --no-scale), their JSON for config.json,
// and the conversion to the library's ImpOptions.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "layers/imp.h"

namespace cherry {

// What entries turning static hold after IMP (ImpOptions::static_from_factors).
enum class StaticInit { keep, factors };
constexpr std::array<std::pair<StaticInit, std::string_view>, 2> names_of(StaticInit) {
  return {{{StaticInit::keep, "keep"}, {StaticInit::factors, "factors"}}};
}

struct ImpFlags {
  double kappa = 0.3;
  int64_t iters = 5;  // T; 0 keeps the current mask
  ImpSchedule schedule = ImpSchedule::exponential;
  ImpScope scope = ImpScope::global;
  ImpScorer scorer = ImpScorer::grad;
  int64_t batches = 10;
  bool no_scale = false;
  StaticInit static_init = StaticInit::keep;  // finetune_bert: factors

  nlohmann::json to_json() const;
  ImpOptions options(uint64_t seed) const;
  std::string describe() const;  // "kappa 0.3, IMP grad T=5 exp global"
  // False (with the reason on stderr) when the flags cannot mean what they say: with PAD layers,
  // --imp-iters 0 keeps the all-dynamic initial mask, which is kappa 1 whatever --kappa says.
  bool consistent(bool has_pad_layers) const;
};

void add_imp_flags(CLI::Option_group* group, ImpFlags& f);

}  // namespace cherry
