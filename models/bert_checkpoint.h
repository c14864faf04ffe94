// Loading Hugging Face BERT folders (config.json + model.safetensors; vocab.txt is the tokenizer's).
// Accepts the state-dict names transformers and sentence-transformers write: with the "bert."
// prefix or without it, legacy LayerNorm "gamma"/"beta", the non-parameter buffers
// "embeddings.position_ids"/"embeddings.token_type_ids" and pretraining heads ("cls.*", unused by
// fine-tuning), which are ignored and reported. A pooler or classifier the file lacks keeps its fresh
// initialisation and is reported as such. Every other missing, unexpected or mis-shaped key is
// listed, all at once, in an error naming the file, unless the options allow it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/bert.h"

namespace cherry {

struct BertLoadOptions {
  bool allow_missing = false;     // body weights absent from the file keep their initialisation
  bool allow_unexpected = false;  // file weights the model has no place for are skipped
  bool allow_mismatched = false;  // weights of another shape (e.g. a classifier for other labels) are skipped
};

struct BertLoadReport {
  std::string file;
  size_t loaded = 0;                 // tensors copied into the model
  std::vector<std::string> fresh;    // model keys of a pooler/classifier the file lacks: newly initialised
  std::vector<std::string> ignored;  // file keys with no model counterpart by design (buffers, "cls.*")
  size_t legacy_renamed = 0;         // "LayerNorm.gamma/beta" read as weight/bias
  LoadReport problems;               // allowed missing / unexpected / mis-shaped keys (model names)
  std::string str() const;           // a short human summary
};

// Copies the tensors of a safetensors file into `model`, a BertModel or any module holding one at
// "bert." (BertForSequenceClassification). Tensors are cast to the model's dtype (f64 -> f32 etc).
BertLoadReport load_bert_weights(Module& model, const std::string& safetensors_path, const BertLoadOptions& options = {});

// config.json -> BertConfig, model built (with `ffn` for its FFN linears), model.safetensors loaded.
std::shared_ptr<BertModel> load_bert_model(const std::string& dir, const BertLoadOptions& options = {}, const FfnLinearFactory& ffn = {},
                                           BertLoadReport* report = nullptr);
// The same with a classification (num_labels > 1) or regression (num_labels == 1) head; a head the
// file lacks is fresh (normal(0, initializer_range), bias 0).
std::shared_ptr<BertForSequenceClassification> load_bert_for_sequence_classification(const std::string& dir, int64_t num_labels,
                                                                                     const BertLoadOptions& options = {},
                                                                                     const FfnLinearFactory& ffn = {},
                                                                                     BertLoadReport* report = nullptr);

}  // namespace cherry
