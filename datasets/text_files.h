// A user's own files for a GLUE task (what run_glue's --train_file/--validation_file/--test_file
// read): TSV, CSV (RFC 4180 quoting) or JSON lines, chosen by the extension (.tsv, .csv,
// .json/.jsonl). TSV and CSV start with a header row naming the columns; JSON lines are one object
// per line. Columns default to the task's (sentence, or sentence1 + sentence2; label; idx) and can
// be renamed. Labels are the task's label names (or, in JSON, their integer ids); STS-B's a score in
// [0, 5]; a test file needs no label. No row-count check: any number of rows. Errors name file:line.
#pragma once
#include <string>
#include <string_view>

#include "datasets/glue.h"

namespace cherry {

enum class TextFormat { tsv, csv, jsonl };

struct TextColumns {
  std::string text_a, text_b, label, index;  // "": the task's default
};
// sentence / sentence1, sentence2; label; idx (index is optional in every file).
TextColumns default_text_columns(GlueTask task);
// By extension: .tsv, .csv, .json or .jsonl; anything else is an error naming the file.
TextFormat text_format_of(const std::string& path);

std::vector<GlueExample> parse_text_file(GlueTask task, GlueSplit split, TextFormat format, std::string_view bytes, const std::string& name,
                                         const TextColumns& columns = {});
GlueData read_text_file(GlueTask task, GlueSplit split, const std::string& path, const TextColumns& columns = {});

}  // namespace cherry
