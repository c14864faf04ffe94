#include "apps/common/imp_flags.h"

#include <cstdio>

#include "apps/common/choices.h"
#include "apps/common/run_flags.h"

namespace cherry {

nlohmann::json ImpFlags::to_json() const {
  return {{"kappa", kappa},
          {"imp_iters", iters},
          {"imp_schedule", to_string(schedule)},
          {"imp_scope", to_string(scope)},
          {"imp_scorer", to_string(scorer)},
          {"imp_batches", batches},
          {"no_scale", no_scale},
          {"imp_static_init", to_string(static_init)}};
}

ImpOptions ImpFlags::options(uint64_t seed) const {
  ImpOptions o;
  o.kappa = kappa, o.iterations = iters, o.batches = batches, o.seed = seed;
  o.schedule = schedule, o.scope = scope, o.scorer = scorer, o.static_from_factors = static_init == StaticInit::factors;
  return o;
}

std::string ImpFlags::describe() const {
  return cat("kappa ", kappa, ", IMP ", to_string(scorer), " T=", iters, " ", to_string(schedule), " ", to_string(scope),
             no_scale ? ", no scale factors" : "", static_init == StaticInit::factors ? ", static entries from the factors" : "");
}

bool ImpFlags::consistent(bool has_pad_layers) const {
  if (has_pad_layers && iters == 0 && kappa < 1.0) {
    std::fprintf(stderr,
                 "--imp-iters 0 runs no IMP, so the PAD layers keep their all-dynamic initial mask (kappa 1), not --kappa %g: "
                 "pass --imp-iters 1 or more, or --kappa 1\n",
                 kappa);
    return false;
  }
  return true;
}

void add_imp_flags(CLI::Option_group* g, ImpFlags& f) {
  g->add_option("--kappa", f.kappa, "target dynamic ratio of the PAD layers")->check(in_range(0, 1))->capture_default_str();
  g->add_option("--imp-iters", f.iters, "IMP iterations T (0: no IMP, the layers stay fully dynamic: only with --kappa 1)")
      ->check(in_range(0, 100))
      ->capture_default_str();
  add_choice(*g, "--imp-schedule", f.schedule, "kappa_t schedule");
  add_choice(*g, "--imp-scope", f.scope, "rank entries over all layers or per layer");
  add_choice(*g, "--imp-scorer", f.scorer, "importance: |sum dL/dM|, random, or |mean W_k - Ws|");
  g->add_option("--imp-batches", f.batches, "training batches scored per IMP iteration")->check(in_range(1, 10000))->capture_default_str();
  g->add_flag("--no-scale", f.no_scale, "no scale factors: lambda_s = lambda_d = 1 (ablation)");
  add_choice(*g, "--imp-static-init", f.static_init,
             "what entries turning static hold: keep (Ws as it is: initial or pretrained values) or factors (lambda_d/lambda_s "
             "times the mean of the K factors: the switch preserves the function where the factors agree)");
}

}  // namespace cherry
