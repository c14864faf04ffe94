#include "apps/common/imp_flags.h"

#include "apps/common/choices.h"

namespace cherry {

nlohmann::json ImpFlags::to_json() const {
  return {{"kappa", kappa},
          {"imp_iters", iters},
          {"imp_schedule", to_string(schedule)},
          {"imp_scope", to_string(scope)},
          {"imp_scorer", to_string(scorer)},
          {"imp_batches", batches},
          {"no_scale", no_scale}};
}

ImpOptions ImpFlags::options(uint64_t seed) const {
  ImpOptions o;
  o.kappa = kappa, o.iterations = iters, o.batches = batches, o.seed = seed;
  o.schedule = schedule, o.scope = scope, o.scorer = scorer;
  return o;
}

std::string ImpFlags::describe() const {
  return cat("kappa ", kappa, ", IMP ", to_string(scorer), " T=", iters, " ", to_string(schedule), " ", to_string(scope),
             no_scale ? ", no scale factors" : "");
}

void add_imp_flags(CLI::Option_group* g, ImpFlags& f) {
  g->add_option("--kappa", f.kappa, "target dynamic ratio of the PAD layers")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  g->add_option("--imp-iters", f.iters, "IMP iterations T (0: keep the current mask)")->check(CLI::NonNegativeNumber)->capture_default_str();
  add_choice(*g, "--imp-schedule", f.schedule, "kappa_t schedule");
  add_choice(*g, "--imp-scope", f.scope, "rank entries over all layers or per layer");
  add_choice(*g, "--imp-scorer", f.scorer, "importance: |sum dL/dM|, random, or |mean W_k - Ws|");
  g->add_option("--imp-batches", f.batches, "training batches scored per IMP iteration")->check(CLI::PositiveNumber)->capture_default_str();
  g->add_flag("--no-scale", f.no_scale, "no scale factors: lambda_s = lambda_d = 1 (ablation)");
}

}  // namespace cherry
