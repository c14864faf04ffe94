#include "apps/common/imp_flags.h"

namespace cherry {

nlohmann::json ImpFlags::to_json() const {
  return {{"kappa", kappa}, {"imp_iters", iters}, {"imp_schedule", schedule}, {"imp_scope", scope}, {"imp_scorer", scorer},
          {"imp_batches", batches}, {"no_scale", no_scale}};
}

ImpOptions ImpFlags::options(uint64_t seed) const {
  ImpOptions o;
  o.kappa = kappa, o.iterations = iters, o.batches = batches, o.seed = seed;
  o.schedule = parse_imp_schedule(schedule);
  o.scope = parse_imp_scope(scope);
  o.scorer = parse_imp_scorer(scorer);
  return o;
}

std::string ImpFlags::describe() const {
  return cat("kappa ", kappa, ", IMP ", scorer, " T=", iters, " ", schedule, " ", scope, no_scale ? ", no scale factors" : "");
}

void add_imp_flags(CLI::Option_group* g, ImpFlags& f) {
  g->add_option("--kappa", f.kappa, "target dynamic ratio of the PAD layers")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  g->add_option("--imp-iters", f.iters, "IMP iterations T (0: keep the current mask)")->check(CLI::NonNegativeNumber)->capture_default_str();
  g->add_option("--imp-schedule", f.schedule, "kappa_t schedule")->check(CLI::IsMember({"exp", "linear"}))->capture_default_str();
  g->add_option("--imp-scope", f.scope, "rank entries over all layers or per layer")->check(CLI::IsMember({"global", "layer"}))->capture_default_str();
  g->add_option("--imp-scorer", f.scorer, "importance: |sum dL/dM|, random, or |mean W_k - Ws|")
      ->check(CLI::IsMember({"grad", "random", "magnitude"}))
      ->capture_default_str();
  g->add_option("--imp-batches", f.batches, "training batches scored per IMP iteration")->check(CLI::PositiveNumber)->capture_default_str();
  g->add_flag("--no-scale", f.no_scale, "no scale factors: lambda_s = lambda_d = 1 (ablation)");
}

}  // namespace cherry
