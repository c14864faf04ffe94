// GLUE readers for CoLA, SST-2, MRPC, STS-B and RTE in the official TSV layout (the files of
// ../shared/data/glue): tab-separated, no CSV quoting (quote characters are text), an optional UTF-8
// byte-order mark, a header row except in CoLA's train/dev. Every row's column count, label and
// UTF-8 are checked and errors name file:line; read_glue() also checks the official row count.
// Labels follow Hugging Face's glue processors. Not here: tokenization (bert_tokenizer.h), metrics
// (glue_metrics.h).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "datasets/bert_tokenizer.h"

namespace cherry {

enum class GlueTask { cola, sst2, mrpc, stsb, rte };
enum class GlueSplit { train, dev, test };  // test: unlabelled (GLUE keeps its labels private)

struct GlueTaskInfo {
  GlueTask task;
  std::string_view name;    // HF's task_name: "cola", "sst2", "mrpc", "stsb", "rte"
  std::string_view folder;  // under the GLUE folder: "CoLA", "SST-2", "MRPC", "STS-B", "RTE"
  bool pair;                // two sentences per example
  bool regression;          // STS-B: a score in [0, 5] instead of a class
  std::vector<std::string_view> label_names;  // class id -> label as written in the file; empty for STS-B
  int64_t official_rows[3];                   // train, dev, test
  int64_t num_labels() const { return regression ? 1 : int64_t(label_names.size()); }
};

const GlueTaskInfo& glue_task_info(GlueTask task);
// "cola", "sst2"/"sst-2", "mrpc", "stsb"/"sts-b", "rte", any case; throws naming the known tasks.
GlueTask parse_glue_task(std::string_view name);
std::string_view glue_split_name(GlueSplit split);  // "train", "dev", "test"

struct GlueExample {
  int64_t index = 0;   // the file's index column in test files (predictions are keyed by it), else the row number from 0
  std::string text_a;  // the sentence, or the first of a pair
  std::string text_b;  // the second of a pair; empty for CoLA and SST-2
  int64_t label = -1;  // class id (CoLA, SST-2, MRPC, RTE); -1 in test files and for STS-B
  double score = 0;    // STS-B's similarity score; 0 elsewhere and in test files
};

struct GlueData {
  GlueTask task;
  GlueSplit split;
  std::string path;
  std::vector<GlueExample> examples;
  bool labelled() const { return split != GlueSplit::test; }
};

// Parses the bytes of one file in the official layout of (task, split); `name` is used in errors.
std::vector<GlueExample> parse_glue_tsv(GlueTask task, GlueSplit split, std::string_view bytes, const std::string& name);
// Any file in the official layout (a subset, a copy): no row-count check.
GlueData read_glue_file(GlueTask task, GlueSplit split, const std::string& path);
// <glue_dir>/<folder>/<split>.tsv; glue_dir "" means default_data_dir()/glue.
std::string glue_file_path(GlueTask task, GlueSplit split, const std::string& glue_dir = "");
// Reads glue_file_path(task, split, glue_dir); its row count must be the official one.
GlueData read_glue(GlueTask task, GlueSplit split, const std::string& glue_dir = "");

// Every example encoded with `max_length` truncation (pairs for MRPC, STS-B and RTE).
std::vector<Encoding> encode_glue(const BertTokenizer& tokenizer, const GlueData& data, int64_t max_length = 128);
// Labels of data.examples[indices[i]]: i64 class ids [B], or f32 scores [B] for STS-B.
Tensor glue_labels(const GlueData& data, std::span<const int64_t> indices);

}  // namespace cherry
