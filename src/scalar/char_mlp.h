// A character-level neural language model on the scalar engine (part 5): Bengio et al. 2003 as
// makemore part 2 builds it. Each of the last `context` characters becomes a learned vector (its
// embedding), the vectors are concatenated, a tanh hidden layer mixes them, and a softmax over the
// vocabulary predicts the next character.
//
//   PyRandom init(2147483647);
//   CharMlp model({.vocab = 27, .context = 3, .embedding = 10, .hidden = 200}, init);
//   double loss = model.sgd_step(train.x, train.y, batch, 0.1);  // one minibatch step
//   CharMlpParams<double> w = model.snapshot();                  // plain doubles from here on
//   double dev = char_mlp_loss(w, model.dims(), dev.x, dev.y);  // like torch.no_grad()
//   std::vector<int> name = char_mlp_sample(w, model.dims(), options, seed, 50, 0);
//
// Examples are flat: x holds n contexts of `context` token ids, row-major, y the n next tokens
// (data/text.h's Examples is that layout). The forward pass is written once for both number types:
// on Values it builds the graph (to train), on doubles it just computes (to evaluate and sample).
// Every multiply-add is two nodes on the tape (~23k nodes for one example of the default model):
// that cost is why part 6 moves to tensors.
// reference: makemore lecture part 2 (the model), part 3 (the initialization).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "scalar/value.h"
#include "util/py_random.h"
#include "util/sampling.h"

namespace wiggle {

struct CharMlpDims {
    int vocab = 0;       // tokens; 0 is the boundary token ('.')
    int context = 3;     // characters seen before the one predicted (block_size)
    int embedding = 10;  // dimensions of a character's vector
    int hidden = 200;    // tanh units
    int inputs() const { return context * embedding; }
};

template <typename Num>
struct CharMlpParams {
    std::vector<Num> emb;  // (vocab, embedding): row t is token t's vector
    std::vector<Num> w1;   // (inputs, hidden)
    std::vector<Num> b1;   // (hidden)
    std::vector<Num> w2;   // (hidden, vocab)
    std::vector<Num> b2;   // (vocab)
};

// Scratch space of one forward pass, reused (no allocation per example).
template <typename Num>
struct CharMlpBuffers {
    std::vector<Num> x, h, logits;  // (inputs), (hidden), (vocab)
    explicit CharMlpBuffers(const CharMlpDims& d)
        : x(static_cast<size_t>(d.inputs()), empty()),
          h(static_cast<size_t>(d.hidden), empty()),
          logits(static_cast<size_t>(d.vocab), empty()) {}
    static Num empty() {  // a placeholder, overwritten before use (no node on the tape)
        if constexpr (std::is_same_v<Num, Value>) {
            return Value::from_id(0);
        } else {
            return 0.0;
        }
    }
};

// The logits of the token after `context` (context.size() == d.context) into b.logits.
// Num is Value or double.
template <typename Num>
void char_mlp_forward(const CharMlpParams<Num>& p, const CharMlpDims& d,
                      std::span<const int> context, CharMlpBuffers<Num>& b);

// -log softmax(logits)[target], with the row's largest logit subtracted first.
template <typename Num>
Num char_mlp_nll(std::span<const Num> logits, int target);

// The mean negative log likelihood over n examples (x: (n, context), y: (n)), in plain doubles.
double char_mlp_loss(const CharMlpParams<double>& p, const CharMlpDims& d, std::span<const int> x,
                     std::span<const int> y);

// One name (or stretch of text): the context starts as boundary tokens; each draw feeds the last
// `context` tokens back, through the shared sampler, PyRandom(seed). Returns the drawn tokens, up
// to max_tokens, stopping before stop_token (-1: never).
std::vector<int> char_mlp_sample(const CharMlpParams<double>& p, const CharMlpDims& d,
                                 const SamplingOptions& options, uint64_t seed, int max_tokens,
                                 int stop_token);

// The trainable model: its parameters are Values made at construction (build it before any
// GraphScope, so they sit at the bottom of the tape).
class CharMlp {
  public:
    // makemore part 3's initialization, drawn from rng.gauss in this order: embeddings ~ N(0,1);
    // W1 scaled by tanh's gain 5/3 over sqrt(fan_in) (Kaiming), so tanh starts unsaturated; b1
    // ~ 0.01·N(0,1); W2 ~ 0.01·N(0,1) and b2 = 0, so the first predictions are nearly uniform.
    CharMlp(const CharMlpDims& d, PyRandom& rng);

    // One step of minibatch SGD on the examples at `batch`: zero the gradients, one small graph
    // per example whose backward adds d(loss_i / B)/d(param) (leaf gradients accumulate, as in
    // PyTorch, so the sum is the gradient of the batch's mean loss while one example's tape stays
    // in the CPU cache), then p -= lr·grad. Returns the batch's mean loss; `nodes`, when given,
    // receives the number of nodes the batch built.
    double sgd_step(std::span<const int> x, std::span<const int> y, std::span<const int> batch,
                    double lr, size_t* nodes = nullptr);

    // The batch's mean loss and, accumulated into each parameter's grad, its gradient (no step).
    double forward_backward(std::span<const int> x, std::span<const int> y,
                            std::span<const int> batch, size_t* nodes = nullptr);

    CharMlpParams<double> snapshot() const;  // the parameters' values now
    const CharMlpDims& dims() const { return dims_; }
    const CharMlpParams<Value>& params() const { return params_; }
    const std::vector<Value>& parameters() const { return all_; }  // emb, w1, b1, w2, b2

  private:
    CharMlpDims dims_;
    CharMlpParams<Value> params_;
    std::vector<Value> all_;
    CharMlpBuffers<Value> buffers_;
};

}  // namespace wiggle
