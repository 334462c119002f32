// Drawing the next token from a model's output row: the one sampler every language model of
// wiggle uses, from the part-4 bigram to the GPT.
//
//   SamplingOptions opt;            // temperature 1, no top-k, no top-p: plain multinomial
//   opt.temperature = 0.8;
//   opt.top_k = 40;
//   TokenSampler sampler(opt);
//   PyRandom rng(42);
//   int next = sampler.from_logits(logits, rng);   // or from_probs(probs, rng)
//
// The draw is CPython's random.choices(range(V), weights=w)[0]: cumulative weights in index
// order, u = random() * total, the first index whose cumulative weight exceeds u. So with
// temperature 1 and no filtering, a probability row sampled here gives the token Python gives.
//
// Temperature divides the logits (equivalently raises probabilities to 1/temperature); top-k keeps
// the k heaviest tokens; top-p then keeps the smallest set of heaviest tokens whose mass reaches
// p; ties are broken towards the lower token id. Greedy takes the argmax and draws nothing.
// Not here: repetition penalties, beam search.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "util/py_random.h"

namespace wiggle {

struct SamplingOptions {
    double temperature = 1.0;  // > 0: below 1 sharpens the distribution, above 1 flattens it
    int top_k = 0;             // keep only the k most likely tokens; 0 keeps them all
    double top_p = 1.0;        // nucleus: keep the most likely tokens up to mass p, in (0, 1]
    bool greedy = false;       // take the most likely token; temperature, top-k, top-p unused
};

// Exits with a clear error naming the flag (--temperature, --top-k, --top-p) on a bad setting.
void check_sampling_options(const SamplingOptions& options);

// Samples one token from a row; keeps its scratch buffers, so sampling allocates nothing after
// the first row. Every call checks the row: a NaN, an infinite logit, a negative probability or
// an all-zero row exits with a clear error (the model has diverged), never a silent bad token.
class TokenSampler {
  public:
    explicit TokenSampler(const SamplingOptions& options);

    int from_logits(std::span<const double> logits, PyRandom& rng);
    int from_logits(std::span<const float> logits, PyRandom& rng);
    int from_probs(std::span<const double> probs, PyRandom& rng);
    int from_probs(std::span<const float> probs, PyRandom& rng);
    // The same with the uniform number u in [0, 1) given (rng.random() above; greedy ignores it),
    // for callers that draw their random numbers themselves.
    int from_logits(std::span<const float> logits, double u);
    int from_probs(std::span<const float> probs, double u);

    const SamplingOptions& options() const { return options_; }

  private:
    // Returns the greedy token, or -1 when a draw from weights_ is needed.
    template <typename T>
    int prepare(std::span<const T> row, bool logits);
    int draw(double u);  // from weights_ (zero = excluded)

    SamplingOptions options_;
    std::vector<double> weights_;  // unnormalized probability of each token after filtering
    std::vector<int> order_;       // token ids sorted by weight, heaviest first
};

// Generation: nanoGPT's generate loop for any model, from the part-4 bigram to the GPT.
// `next_row(tokens, added)` sees every token so far (prompt first), of which the last `added` are
// new since its previous call (the whole prompt at the first), and returns the next token's row of
// logits (RowKind::Logits) or probabilities (RowKind::Probs); what context the model sees is its
// business. The row must stay valid until the next call. A row of floats or of doubles.
enum class RowKind { Logits, Probs };
template <typename R>
using NextRow = std::function<std::span<const R>(std::span<const int> tokens, int added)>;

// Draws up to max_new_tokens tokens after the prompt, one row each, and returns them; stops early
// when it draws stop_token (not included; −1 never stops). on_token, when given, sees each new
// token as soon as it is drawn (to print text as it comes), and then nothing is returned: the
// tokens are not kept, and next_row sees at least the last kStreamContext of them (more than
// any context window), so memory stays bounded however many are drawn.
inline constexpr size_t kStreamContext = 1 << 17;

template <typename R>
std::vector<int> generate(std::span<const int> prompt, int max_new_tokens,
                          const NextRow<R>& next_row, RowKind kind, TokenSampler& sampler,
                          PyRandom& rng, int stop_token = -1,
                          const std::function<void(int)>& on_token = nullptr);

// Batched generation: B sequences continue the same prompt together, sequence b drawing from
// rngs[b] (B = rngs.size()). `next_rows(tokens, added)` gets the new tokens of every sequence,
// (B, added) sequence by sequence (the prompt for each at the first call, then each one's last
// draw), and returns the next rows of all of them, (B, V). on_token(b, token) sees each draw. When
// next_rows gives each sequence the row next_row would give it alone, every sequence draws what
// generate() draws for it alone with the same rng.
template <typename R>
using NextRows = std::function<std::span<const R>(std::span<const int> tokens, int added)>;
template <typename R>
void generate_batch(std::span<const int> prompt, int max_new_tokens, const NextRows<R>& next_rows,
                    RowKind kind, TokenSampler& sampler, std::span<PyRandom> rngs,
                    const std::function<void(int sequence, int token)>& on_token);

}  // namespace wiggle
