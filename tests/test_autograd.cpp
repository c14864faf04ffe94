// Autograd engine semantics: accumulation, shared inputs, deep graphs, no_grad, retain_graph,
// hooks, detach, and the in-place-modification check.
#include "autograd/ops.h"
#include "core/rng.h"
#include "tests/test_util.h"

namespace cherry {

TEST_CASE("gradients accumulate into leaves with +=, across uses and calls") {
  Tensor x = from_vector<double>({1, 2, 3}, {3}).set_requires_grad(true);
  Tensor y = sum(x * x + x);  // dy/dx = 2x + 1, x used twice
  y.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{3, 5, 7});
  sum(x * 2.0).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{5, 7, 9});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a leaf used by two branches does not alias its gradient with another leaf") {
  Tensor a = ones({2}, DType::f64).set_requires_grad(true), b = ones({2}, DType::f64).set_requires_grad(true);
  sum(a + b).backward();
  a.grad().add_(ones({2}, DType::f64));
  CHECK(b.grad().to_vector<double>() == std::vector<double>{1, 1});
}

TEST_CASE("backward is iterative: a 20000-op chain does not overflow the stack") {
  Tensor x = ones({1}, DType::f64).set_requires_grad(true);
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  y.sum().backward();
  CHECK(x.grad().item<double>() == 1.0);
}

TEST_CASE("no_grad records nothing, and detach cuts the graph") {
  Tensor x = ones({2}).set_requires_grad(true);
  {
    NoGradGuard ng;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  Tensor d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() != x.storage());
}

TEST_CASE("second backward needs retain_graph") {
  Tensor x = ones({2}, DType::f64).set_requires_grad(true);
  Tensor y = sum(exp(x));
  y.backward({}, true);
  y.backward();
  CHECK(x.grad().to_vector<double>()[0] == doctest::Approx(2 * std::exp(1.0)));
  Tensor z = sum(exp(x));
  z.backward();
  CHECK_THROWS_AS(z.backward(), Error);
}

TEST_CASE("hooks see and may replace gradients, on leaves and intermediates") {
  Tensor x = from_vector<double>({1, 2}, {2}).set_requires_grad(true);
  Tensor h = x * 3.0;
  std::vector<double> seen;
  h.register_hook([&](const Tensor& g) {
    seen = g.to_vector<double>();
    return g * 10.0;
  });
  x.register_hook([](const Tensor& g) { return g + 1.0; });
  sum(h).backward();
  CHECK(seen == std::vector<double>{1, 1});
  CHECK(x.grad().to_vector<double>() == std::vector<double>{31, 31});
}

TEST_CASE("modifying a saved tensor in place is caught at backward") {
  Tensor x = ones({3}, DType::f64).set_requires_grad(true);
  Tensor w = full({3}, 2.0, DType::f64);
  Tensor y = sum(x * w);
  w.fill_(5.0);
  CHECK_THROWS_AS(y.backward(), Error);
}

TEST_CASE("requires_grad rules") {
  Tensor i = zeros({2}, DType::i64);
  CHECK_THROWS_AS(i.set_requires_grad(true), Error);
  Tensor x = ones({2}).set_requires_grad(true);
  Tensor y = x * 2.0;
  CHECK_THROWS_AS(y.set_requires_grad(false), Error);
  CHECK_THROWS_AS(y.backward(), Error);  // non-scalar without a gradient
  CHECK_THROWS_AS(zeros({2}).backward(), Error);
}

TEST_CASE("only inputs that need gradients get them") {
  Tensor x = randn({2, 3, 5, 5});
  Tensor w = randn({4, 3, 3, 3}).set_requires_grad(true);
  Tensor y = conv2d(x, w);
  sum(y).backward();
  CHECK(w.grad().defined());
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("saved tensors are released after backward") {
  Tensor x = ones({1000}, DType::f64).set_requires_grad(true);
  std::weak_ptr<Storage> saved;
  {
    Tensor e = exp(x);  // saves its output
    saved = e.storage();
    Tensor y = sum(e);
    e = Tensor();
    CHECK_FALSE(saved.expired());  // kept alive by the graph
    y.backward();
    CHECK(saved.expired());  // released by backward
  }
}

}  // namespace cherry
