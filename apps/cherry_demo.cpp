// A tour of the public API in one page: a small convnet written as a Module, trained on
// Fashion-MNIST with SGD and the data loader, evaluated, and saved as a safetensors checkpoint that
// loads back into it (and into PyTorch). Uses only <cherry/cherry.h>, as a program of your own would.
// Usage: cherry_demo [steps=300] [checkpoint=cherry_demo.safetensors]
#include <cherry/cherry.h>

#include <cstdio>
#include <string>

using namespace cherry;

// conv-bn-relu-pool twice, then a linear classifier: 28x28 -> 14x14 -> 7x7.
class SmallConvNet : public Layer {
 public:
  SmallConvNet() {
    for (auto [in, out] : {std::pair{1, 16}, std::pair{16, 32}}) {
      block_->push_back(std::make_shared<Conv2d>(Conv2dOptions{.in_channels = in, .out_channels = out, .padding = 1}));
      block_->push_back(std::make_shared<BatchNorm2d>(out));
      block_->push_back(std::make_shared<ReLU>());
      block_->push_back(std::make_shared<MaxPool2d>(2, 2));
    }
  }
  Tensor forward(const Tensor& x) override { return fc_->forward(block_->forward(x).flatten(1)); }
  std::string type_name() const override { return "SmallConvNet"; }

 private:
  std::shared_ptr<Sequential> block_ = register_module("features", std::make_shared<Sequential>());
  std::shared_ptr<Linear> fc_ = register_module("fc", std::make_shared<Linear>(32 * 7 * 7, 10));
};

int main(int argc, char** argv) try {
  prefer_short_openmp_spin(argv);  // before anything else: it may restart the program
  const int64_t steps = argc > 1 ? std::stoll(argv[1]) : 300;
  const std::string path = argc > 2 ? argv[2] : "cherry_demo.safetensors";
  manual_seed(0);
  SmallConvNet model;
  SGD sgd(model.named_parameters(), SgdOptions{.lr = 0.05, .momentum = 0.9});
  FashionMnistOptions test_split;
  test_split.split = "test";
  FashionMnist train_set, test_set(test_split);  // from /usr/share/datasets/fashion-mnist
  DataLoader train(train_set, {.batch_size = 64, .seed = 1});
  for (int64_t step = 1; step <= steps; ++step) {
    auto batch = train.next();
    if (!batch) batch = train.next();  // the epoch ended: start the next one
    Tensor loss = cross_entropy(model(batch->images), batch->labels);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    if (step % 50 == 0) std::printf("step %4lld  loss %.4f\n", (long long)step, loss.item<float>());
  }
  model.eval();
  NoGradGuard no_grad;
  DataLoader test(test_set, {.batch_size = 500, .shuffle = false});
  int64_t correct = 0;
  while (auto batch = test.next()) correct += sum(eq(argmax(model(batch->images), 1), batch->labels).to(DType::i64)).item<int64_t>();
  std::printf("test accuracy %.2f%% (%lld images)\n", 100.0 * double(correct) / double(test_set.size()), (long long)test_set.size());
  save_safetensors(path, model.state_dict());
  model.load_state_dict(load_safetensors(path));  // strict: every key and shape must match
  std::printf("saved %s (%lld parameters)\n", path.c_str(), (long long)model.num_parameters());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "cherry_demo: %s\n", e.what());
  return 1;
}
