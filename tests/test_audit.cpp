// cherry_audit: reading run directories and checkpoints (with the invariants the report relies on),
// the SVG helper, and the HTML report's sections and escaping. Synthetic run directories are
// written by hand, line by line, so each invariant can be broken on purpose.
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "apps/audit/audit_data.h"
#include "apps/audit/report.h"
#include "apps/audit/svg_plot.h"
#include "apps/train_resnet/trainer.h"
#include "core/safetensors.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

using json = nlohmann::json;
using namespace cherry::audit;

json dyn_layer(const std::string& name, int64_t entries, int64_t dynamic, double lambda_d, std::vector<double> attn = {0.1, 0.2, 0.3, 0.4}) {
  return {{"name", name},         {"K", 4},          {"entries", entries},   {"dynamic", dynamic}, {"kappa", double(dynamic) / double(entries)},
          {"lambda_d", lambda_d}, {"lambda_s", 2 - lambda_d}, {"temperature", 30.0}, {"attn_entropy", 0.9}, {"attn_collapsed", 0.0},
          {"attn_mean", attn}};
}

json dyn_record(int64_t step, const std::vector<json>& layers) {
  int64_t e = 0, d = 0;
  for (const json& l : layers) e += l["entries"].get<int64_t>(), d += l["dynamic"].get<int64_t>();
  return {{"step", step}, {"epoch", 1}, {"kappa", double(d) / double(e)}, {"layers", layers}};
}

json imp_layer(const std::string& name, int64_t entries, int64_t dynamic, int64_t flips, std::vector<int64_t> histogram, int64_t zero_scores) {
  return {{"name", name},           {"entries", entries},   {"dynamic", dynamic},     {"kappa", double(dynamic) / double(entries)},
          {"flips", flips},         {"threshold", 1e-5},    {"zero_scores", zero_scores}, {"histogram", histogram}};
}

json imp_record(int64_t iteration, double target, const std::vector<json>& layers, std::optional<int64_t> step = std::nullopt) {
  int64_t e = 0, d = 0;
  for (const json& l : layers) e += l["entries"].get<int64_t>(), d += l["dynamic"].get<int64_t>();
  json r = {{"iteration", iteration}, {"target_kappa", target}, {"achieved_kappa", double(d) / double(e)}, {"threshold", 1e-5},
          {"log10_lo", -8.0},       {"log10_hi", -3.0},       {"layers", layers}};
  if (step) r["step"] = *step;
  return r;
}

void write_lines(const std::string& path, const std::vector<json>& lines) {
  std::ofstream f(path);
  for (const json& j : lines) f << j.dump() << "\n";
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A PAD run of two layers: "conv_a" (100 entries) and "<x>" (50 entries, a name that needs escaping),
// kappa 0.3 reached by IMP in T = 2 iterations, 3 logged steps, 2 epochs.
struct SyntheticRun {
  test::TempDir tmp;
  std::string dir = tmp.path.string();
  std::string file(const std::string& name) const { return tmp.file(name); }

  SyntheticRun() {
    write_text(file("config.json"), json{{"model", "resnet20"}, {"dataset", "a&b\"c"}, {"conv", "pad"}, {"kernels", 4}, {"kappa", 0.3},
                                         {"imp_scope", "global"}}.dump());
    write_text(file("model.json"), json{{"trainable_parameters", 1000}, {"stored_parameters", 400}, {"static_parameters", 220},
                                        {"dynamic_parameters", 180}, {"kappa", 0.3}, {"dynamic_layers", 2}, {"flops_per_image", 1e6}}.dump());
    write_text(file("eval_results.json"), json{{"accuracy", 0.5}, {"best_accuracy", 0.55}, {"loss", 1.2}}.dump());
    write_text(file("summary.csv"), "epoch,step,train_loss,train_accuracy,eval_loss,eval_accuracy,lr\n1,2,2.0,0.3,1.5,0.55,0.1\n2,3,1.5,,1.2,0.5,0.05\n");
    write_lines(file("metrics.jsonl"), {{{"step", 1}, {"epoch", 1}, {"loss", 2.3}, {"loss_avg", 2.3}, {"lr", 0.1}},
                                        {{"step", 2}, {"epoch", 1}, {"loss", 2.0}, {"loss_avg", 2.15}, {"lr", 0.1}},
                                        {{"step", 3}, {"epoch", 2}, {"loss", 1.7}, {"loss_avg", 2.0}, {"lr", 0.05}}});
    write_dynamic();
    write_lines(file("imp.jsonl"), {imp_record(1, 0.5477, {imp_layer("conv_a", 100, 55, 45, {10, 30, 40, 20}, 0),
                                                           imp_layer("<x>", 50, 27, 23, {5, 10, 20, 14}, 1)}, 0),
                                    imp_record(2, 0.3, {imp_layer("conv_a", 100, 30, 27, {10, 30, 40, 20}, 0),
                                                        imp_layer("<x>", 50, 15, 12, {5, 10, 20, 14}, 1)}, 0)});
  }
  void write_dynamic(const json& second_a = dyn_layer("conv_a", 100, 30, 1.05)) {
    write_lines(file("dynamic.jsonl"), {dyn_record(1, {dyn_layer("conv_a", 100, 30, 1.0), dyn_layer("<x>", 50, 15, 1.0)}),
                                        dyn_record(2, {second_a, dyn_layer("<x>", 50, 15, 0.97)}),
                                        dyn_record(3, {dyn_layer("conv_a", 100, 30, 1.08), dyn_layer("<x>", 50, 15, 0.95)})});
  }
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The HTML of one section (from its <section id=...> to its </section>).
std::string section_html(const std::string& html, const std::string& id) {
  const size_t a = html.find("<section id=\"" + id + "\">");
  if (a == std::string::npos) return "";
  return html.substr(a, html.find("</section>", a) - a);
}

size_t occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t p = text.find(part); p != std::string::npos; p = text.find(part, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("audit: a synthetic run directory is read with its records") {
  SyntheticRun run;
  AuditData d = read_audit_input(run.dir);
  CHECK_FALSE(d.from_checkpoint);
  CHECK(d.metrics.size() == 3);
  CHECK(d.epochs.size() == 2);
  CHECK_FALSE(d.epochs[1].train_accuracy.has_value());  // an empty CSV cell
  REQUIRE(d.dynamic.size() == 3);
  CHECK(d.dynamic[2].layers[1].name == "<x>");
  CHECK(d.dynamic[2].layers[0].lambda_d == doctest::Approx(1.08));
  REQUIRE(d.imp.size() == 2);
  CHECK(d.imp[1].total_histogram() == std::vector<int64_t>{15, 40, 60, 34});
  CHECK(d.imp[0].total_flips() == 68);
  CHECK(d.has_attention());
  CHECK_FALSE(d.has_router());
  REQUIRE(d.skipped.size() == 2);  // no deploy.json, no dynamic_summary.json
  CHECK(has(d.skipped[0] + d.skipped[1], "deploy.json"));
}

TEST_CASE("audit: the report has every section, an <svg> per plot, and escapes input strings") {
  SyntheticRun run;
  std::vector<std::string> ids;
  const std::string html = render_report(read_run_dir(run.dir), &ids);
  CHECK(ids == std::vector<std::string>{"summary", "training", "mask", "scale", "attention", "imp"});
  // Plots per section: loss, accuracy, lr, temperature | kappa bars | lambda_d, lambda_s, final bars |
  // entropy, collapse, mean attention | kappa per iteration, flips, kappa per layer, 2 global + 2 per-layer histograms.
  const std::vector<std::pair<std::string, size_t>> plots = {{"summary", 0}, {"training", 4}, {"mask", 1}, {"scale", 3}, {"attention", 3}, {"imp", 7}};
  for (const auto& plot : plots) CHECK_MESSAGE(occurrences(section_html(html, plot.first), "<svg") == plot.second, plot.first);
  CHECK(occurrences(html, "<svg") == 18);
  CHECK(occurrences(html, "<svg") == occurrences(html, "</svg>"));
  CHECK(has(html, "&lt;x&gt;"));
  CHECK_FALSE(has(html, "<x>"));
  CHECK(has(section_html(html, "imp"), "partitioned the mask before training"));
  CHECK(has(html, "a&amp;b&quot;c"));  // config strings too
  CHECK_FALSE(has(html, "<script"));
  CHECK(has(html, "λ<sub>d</sub> = 2 σ(φ)"));  // the teaching text ties plots to the formulas
  CHECK(has(html, "deploy.json is not there"));
}

TEST_CASE("audit: each broken invariant is an error naming file:line and the layer") {
  SUBCASE("mean attention does not sum to 1") {
    SyntheticRun run;
    run.write_dynamic(dyn_layer("conv_a", 100, 30, 1.05, {0.25, 0.25, 0.25, 0.26}));
    const std::string e = error_of([&] { read_run_dir(run.dir); });
    CHECK(has(e, "dynamic.jsonl:2"));
    CHECK(has(e, "layer 'conv_a'"));
    CHECK(has(e, "mean attention sums to 1.01"));
  }
  SUBCASE("lambda_d + lambda_s != 2") {
    SyntheticRun run;
    json l = dyn_layer("conv_a", 100, 30, 1.05);
    l["lambda_s"] = 1.0;
    run.write_dynamic(l);
    const std::string e = error_of([&] { read_run_dir(run.dir); });
    CHECK(has(e, "dynamic.jsonl:2"));
    CHECK(has(e, "layer 'conv_a'"));
    CHECK(has(e, "lambda_d + lambda_s"));
  }
  SUBCASE("more dynamic entries than entries") {
    SyntheticRun run;
    json l = dyn_layer("conv_a", 100, 30, 1.05);
    l["dynamic"] = 101;
    run.write_dynamic(l);
    const std::string e = error_of([&] { read_run_dir(run.dir); });
    CHECK(has(e, "dynamic.jsonl:2: layer 'conv_a': dynamic entries 101 outside [0, entries = 100]"));
  }
  SUBCASE("a layer's kappa disagrees with dynamic/entries") {
    SyntheticRun run;
    json l = dyn_layer("conv_a", 100, 30, 1.05);
    l["kappa"] = 0.31;
    run.write_dynamic(l);
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "dynamic.jsonl:2: layer 'conv_a': kappa 0.31"));
  }
  SUBCASE("the global kappa disagrees with the layers") {
    SyntheticRun run;
    json r = dyn_record(1, {dyn_layer("conv_a", 100, 30, 1.0)});
    r["kappa"] = 0.5;
    write_lines(run.file("dynamic.jsonl"), {r});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "dynamic.jsonl:1: global kappa 0.5"));
  }
  SUBCASE("IMP achieved kappa is not sum(dynamic)/sum(entries)") {
    SyntheticRun run;
    json r = imp_record(1, 0.5477, {imp_layer("conv_a", 100, 55, 45, {10, 30, 40, 20}, 0)});
    r["achieved_kappa"] = 0.5477;
    write_lines(run.file("imp.jsonl"), {r});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "imp.jsonl:1: achieved_kappa 0.5477 != sum(dynamic)/sum(entries) = 55/100"));
  }
  SUBCASE("histogram counts + zero scores != entries") {
    SyntheticRun run;
    write_lines(run.file("imp.jsonl"), {imp_record(1, 0.5477, {imp_layer("conv_a", 100, 55, 45, {10, 30, 40, 20}, 0),
                                                               imp_layer("<x>", 50, 27, 23, {5, 10, 20, 14}, 0)})});
    const std::string e = error_of([&] { read_run_dir(run.dir); });
    CHECK(has(e, "imp.jsonl:1: layer '<x>': histogram counts + zero_scores = 49, expected entries = 50"));
  }
  SUBCASE("flips that cannot explain the change of the dynamic count") {
    SyntheticRun run;
    write_lines(run.file("imp.jsonl"), {imp_record(1, 0.55, {imp_layer("conv_a", 100, 55, 44, {10, 30, 40, 20}, 0)})});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "layer 'conv_a': 44 flips cannot take the dynamic count from 100 to 55"));
  }
  SUBCASE("a router whose counters disagree") {
    SyntheticRun run;
    json l = {{"name", "ffn.0"}, {"experts", 4}, {"top_k", 2}, {"tokens", 10}, {"tokens_per_expert", {10, 0, 6, 4}}, {"dead_experts", 0}};
    write_lines(run.file("dynamic.jsonl"), {{{"step", 1}, {"layers", {l}}}});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "dynamic.jsonl:1: layer 'ffn.0': dead_experts = 0 but 1 experts have no tokens"));
    l["dead_experts"] = 1, l["tokens"] = 11;
    write_lines(run.file("dynamic.jsonl"), {{{"step", 1}, {"layers", {l}}}});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "tokens_per_expert sums to 20, expected tokens x top_k = 11 x 2"));
  }
}

TEST_CASE("audit: bad input is a clear error") {
  SUBCASE("a corrupt JSON line names file:line") {
    SyntheticRun run;
    write_text(run.file("metrics.jsonl"), "{\"step\": 1, \"loss\": 2.3}\n\n{\"step\": 2, \"loss\": 2.");
    const std::string e = error_of([&] { read_run_dir(run.dir); });
    CHECK(has(e, "metrics.jsonl:3: not valid JSON"));
    CHECK(has(e, "unterminated last line"));
  }
  SUBCASE("a missing key names file:line") {
    SyntheticRun run;
    write_lines(run.file("metrics.jsonl"), {{{"loss", 2.3}}});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "metrics.jsonl:1: missing key 'step'"));
  }
  SUBCASE("a missing key in an IMP record names file:line and the key") {
    SyntheticRun run;
    json r = imp_record(1, 0.5477, {imp_layer("conv_a", 100, 55, 45, {10, 30, 40, 20}, 0)});
    r.erase("threshold");
    write_lines(run.file("imp.jsonl"), {r});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "imp.jsonl:1: missing key 'threshold'"));
  }
  SUBCASE("a wrong type names file:line, the layer and the field") {
    SyntheticRun run;
    json l = dyn_layer("conv_a", 100, 30, 1.05);
    l["lambda_d"] = "1.05";
    run.write_dynamic(l);
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "dynamic.jsonl:2: layer 'conv_a': 'lambda_d' must be a number, got \"1.05\""));
    write_text(run.file("eval_results.json"), json{{"accuracy", "50%"}}.dump());
    run.write_dynamic();
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "eval_results.json: 'accuracy' must be a number"));
  }
  SUBCASE("a step recorded twice") {
    SyntheticRun run;
    const json r = dyn_record(2, {dyn_layer("conv_a", 100, 30, 1.0)});
    write_lines(run.file("dynamic.jsonl"), {dyn_record(1, {dyn_layer("conv_a", 100, 30, 1.0)}), r, r});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "dynamic.jsonl:3: step 2 is recorded twice (first at "));
  }
  SUBCASE("a metrics step recorded twice or out of order") {
    SyntheticRun run;
    write_lines(run.file("metrics.jsonl"), {{{"step", 1}, {"loss", 2.3}}, {{"step", 2}, {"loss", 2.2}}, {{"step", 2}, {"loss", 2.2}}});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "metrics.jsonl:3: step 2 follows step 2 (a step recorded twice or out of order)"));
  }
  SUBCASE("a record with no layers") {
    SyntheticRun run;
    write_lines(run.file("dynamic.jsonl"), {{{"step", 1}, {"epoch", 1}, {"kappa", 0.3}, {"layers", json::array()}}});
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "dynamic.jsonl:1: no layers"));
  }
  SUBCASE("a missing path") {
    test::TempDir tmp;
    CHECK(has(error_of([&] { read_audit_input(tmp.file("nope")); }), "no such file or directory"));
  }
  SUBCASE("a file that is not a checkpoint") {
    test::TempDir tmp;
    write_text(tmp.file("notes.txt"), "hello");
    CHECK(has(error_of([&] { read_audit_input(tmp.file("notes.txt")); }), "neither a run directory nor a readable .safetensors checkpoint"));
  }
  SUBCASE("a run directory without records") {
    test::TempDir tmp;
    write_text(tmp.file("config.json"), "{}");
    write_text(tmp.file("metrics.jsonl"), "");
    CHECK(has(error_of([&] { read_audit_input(tmp.path.string()); }), "no records"));
  }
  SUBCASE("a bad summary.csv cell") {
    SyntheticRun run;
    write_text(run.file("summary.csv"), "epoch,eval_accuracy\n1,0.5\n2,abc\n");
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "summary.csv:3: column 'eval_accuracy': not a number: 'abc'"));
  }
  SUBCASE("model.json whose stored parameters are not static + dynamic") {
    SyntheticRun run;
    write_text(run.file("model.json"), json{{"stored_parameters", 10}, {"static_parameters", 3}, {"dynamic_parameters", 6}}.dump());
    CHECK(has(error_of([&] { read_run_dir(run.dir); }), "model.json: stored_parameters 10 != static_parameters 3 + dynamic_parameters 6"));
  }
}

TEST_CASE("audit: missing optional files skip their sections and say so") {
  SyntheticRun run;
  std::filesystem::remove(run.file("imp.jsonl"));
  std::filesystem::remove(run.file("summary.csv"));
  std::vector<std::string> ids;
  const std::string html = render_report(read_run_dir(run.dir), &ids);
  CHECK(ids == std::vector<std::string>{"summary", "training", "mask", "scale", "attention"});
  CHECK(has(html, "imp.jsonl is not there"));
  CHECK(has(html, "summary.csv is not there"));
  CHECK(occurrences(section_html(html, "training"), "<svg") == 3);  // no accuracy plot without summary.csv
}

TEST_CASE("audit: MoE router records get a router section and no attention section") {
  test::TempDir tmp;
  write_text(tmp.file("config.json"), json{{"model", "bert-base"}, {"task", "rte"}, {"experts", 4}, {"top_k", 2}}.dump());
  auto layer = [](const std::string& name, std::vector<double> tokens, double lambda_d) {
    int64_t dead = 0;
    for (double t : tokens) dead += t == 0;
    return json{{"name", name},      {"experts", 4},        {"top_k", 2},          {"tokens", 8},           {"tokens_per_expert", tokens},
                {"dead_experts", dead}, {"router_entropy", 0.8}, {"balance_loss", 0.01}, {"entries", 100},     {"dynamic", 50},
                {"kappa", 0.5},      {"lambda_d", lambda_d}, {"lambda_s", 2 - lambda_d}};
  };
  std::vector<json> records;
  for (int64_t step : {10, 20, 30}) {
    json r = {{"step", step}, {"epoch", 1}, {"kappa", 0.5}, {"balance_loss", 0.02},
              {"layers", {layer("encoder.0.ffn.in", {4, 4, 8, 0}, 1.0 + 0.01 * double(step) / 10), layer("encoder.0.ffn.out", {4, 4, 4, 4}, 1.0)}}};
    records.push_back(r);
  }
  write_lines(tmp.file("dynamic.jsonl"), records);
  AuditData d = read_run_dir(tmp.path.string());
  CHECK(d.has_router());
  CHECK_FALSE(d.has_attention());
  std::vector<std::string> ids;
  const std::string html = render_report(d, &ids);
  CHECK(ids == std::vector<std::string>{"summary", "mask", "scale", "router"});
  // 2 tokens-per-expert panels, dead experts, router entropy, balance loss (sum, per layer), dead experts over steps.
  CHECK(occurrences(section_html(html, "router"), "<svg") == 7);
  CHECK(has(html, "bert-base on rte"));
}

TEST_CASE("audit: checkpoint mode reads masks, phi and temperatures") {
  test::TempDir tmp;
  const std::string path = tmp.file("ckpt.safetensors");
  Tensor mask = from_vector(std::vector<float>{1, 0, 0, 1, 0, 0}, {2, 3});
  save_safetensors(path, {{"stem.weight", zeros({4, 1, 3, 3})},
                          {"pad.weight", zeros({4, 2, 3})},
                          {"pad.static_weight", zeros({2, 3})},
                          {"pad.mask", mask},
                          {"pad.phi", scalar_tensor(0.5)},
                          {"pad.temperature", scalar_tensor(7.0)},
                          {"dy.weight", zeros({4, 5})},
                          {"dy.temperature", scalar_tensor(1.0)},
                          {"optim.pad.mask", zeros({2, 3})}});
  AuditData d = read_audit_input(path);
  CHECK(d.from_checkpoint);
  REQUIRE(d.checkpoint_layers.size() == 2);
  const CheckpointLayer& p = d.checkpoint_layers[0];
  CHECK(p.name == "pad");
  CHECK(p.kernels == 4);
  CHECK(p.entries == 6);
  CHECK(p.dynamic == 2);
  CHECK(p.kappa == doctest::Approx(2.0 / 6.0));
  CHECK(p.lambda_d == doctest::Approx(2.0 / (1.0 + std::exp(-0.5))));
  CHECK(p.temperature == doctest::Approx(7.0));
  const CheckpointLayer& q = d.checkpoint_layers[1];
  CHECK(q.name == "dy");
  CHECK(q.kappa == 1.0);  // no mask: fully dynamic
  CHECK(q.lambda_d == 1.0);
  std::vector<std::string> ids;
  const std::string html = render_report(d, &ids);
  CHECK(ids == std::vector<std::string>{"mask", "scale"});
  CHECK(occurrences(html, "<svg") == 2);  // kappa bars, final lambda bars (no history in a checkpoint)

  SUBCASE("a mask that is not binary") {
    save_safetensors(path, {{"pad.weight", zeros({4, 2})}, {"pad.mask", from_vector(std::vector<float>{1, 0.5}, {2})}});
    CHECK(has(error_of([&] { read_checkpoint(path); }), "layer 'pad': mask holds 0.5"));
  }
  SUBCASE("a static model") {
    save_safetensors(path, {{"fc.weight", zeros({2, 2})}});
    CHECK(has(error_of([&] { read_checkpoint(path); }), "no dynamic layers"));
  }
}

TEST_CASE("audit svg: downsampling, ticks, escaping") {
  const auto idx = downsample_indices(1000, 400);
  CHECK(idx.size() <= 400);
  CHECK(idx.front() == 0);
  CHECK(idx.back() == 999);
  CHECK(downsample_indices(5, 400).size() == 5);
  const auto unit = nice_ticks(0, 1);
  REQUIRE(unit.size() == 6);
  for (size_t i = 0; i < unit.size(); ++i) CHECK(unit[i] == doctest::Approx(0.2 * double(i)));
  const auto t = nice_ticks(-12.6, -2.7);
  CHECK(t.front() <= -12.6);
  CHECK(t.back() >= -2.7);
  CHECK(t[1] - t[0] == doctest::Approx(2.0));
  CHECK(format_tick(0.30000000000000004, 0.1) == "0.3");
  CHECK(format_tick(25, 5) == "25");
  CHECK(format_tick(0.09995, 0.00005) == "0.09995");  // enough digits to tell close ticks apart
  CHECK(format_tick(2e-7, 1e-7) == "2e-07");
  CHECK(html_escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");

  Series s{"loss", {}, {}};
  for (int i = 0; i < 5000; ++i) s.x.push_back(i), s.y.push_back(std::sin(i * 0.01));
  const std::string svg = line_chart({s, Series{"<b>", {0, 1}, {0, 1}}}, ChartOptions("T<1>", "step", "y"));
  CHECK(svg.starts_with("<svg"));
  CHECK(has(svg, "T&lt;1&gt;"));
  CHECK(has(svg, "&lt;b&gt;"));  // the legend
  const size_t a = svg.find("points=\""), b = svg.find('"', a + 8);
  CHECK(occurrences(svg.substr(a, b - a), ",") <= 400);
  CHECK(svg.size() < 30000);
  std::vector<Series> layers(40, s);  // 40 series share a budget: 100 points each
  const std::string many = line_chart(layers, ChartOptions("many", "step", "y"));
  const size_t m = many.find("points=\""), n = many.find('"', m + 8);
  CHECK(occurrences(many.substr(m, n - m), ",") == 100);
  const std::string bars = bar_chart({"a", "b"}, {BarSeries{"v", {1, 2}}}, ChartOptions("bars", "", "").h_line(1.5, "mean"));
  CHECK(occurrences(bars, "<rect") == 3);  // background + 2 bars
  CHECK(has(bars, ">mean</text>"));
  const std::string hist = histogram_chart(-8, -3, {1, 0, 3}, ChartOptions("h", "score", "n").log10_x().v_line(-4, "threshold"));
  CHECK(occurrences(hist, "<rect") == 3);  // background + the 2 non-empty bins
  CHECK(has(hist, ">1e-8</text>"));
}

TEST_CASE("audit: a real train_resnet PAD run passes the checks and renders") {
  test::TempDir tmp;
  TrainOptions o;
  o.synthetic = true, o.dataset = DatasetKind::fashion_mnist, o.batch_size = 16, o.max_train_samples = 32, o.max_eval_samples = 16, o.epochs = 1;
  o.run_dir = tmp.file("run"), o.overwrite = true, o.workers = 1, o.log_every = 1, o.imp.batches = 1, o.imp.iters = 2;
  o.export_deploy = tmp.file("deploy.safetensors");
  run_train_resnet(o);
  std::vector<std::string> ids;
  const AuditData d = read_audit_input(o.run_dir);
  CHECK(d.skipped.empty());
  const std::string html = render_report(d, &ids);
  CHECK(ids == std::vector<std::string>{"summary", "training", "mask", "scale", "attention", "imp"});
  CHECK(has(html, "max_abs_output_diff"));
  std::vector<std::string> ckpt_ids;
  render_report(read_audit_input(o.run_dir + "/checkpoints/last.safetensors"), &ckpt_ids);
  CHECK(ckpt_ids == std::vector<std::string>{"mask", "scale"});
}

}  // namespace cherry
