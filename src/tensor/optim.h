// The optimizers of every model from part 6 on, over Params' flat arrays: SGD with momentum and
// AdamW (decoupled weight decay, bias correction, decay only on the parameters added with
// decay = true), and global gradient-norm clipping. The learning rate is passed to each step, so
// any schedule (util/schedule.h) drives it. nanoGPT's step is
//
//   AdamW<float> opt(params, {.beta2 = 0.99f, .weight_decay = 0.1f});
//   const GradClip clip = clip_grad_norm(params, 1.0f);   // the norm, and the factor that clips it
//   opt.step(schedule.at(iter), clip.scale);              // gradients are read times clip.scale
//
// The optimizer owns its state (the moments, the step count): a checkpoint saves it from here.
// The updates are the kernels of kernels/adamw.h (their naive twins for Params<double>), so they
// match torch.optim.SGD / AdamW and torch.nn.utils.clip_grad_norm_. Every update is elementwise and
// the norm is summed in a fixed order, so no result depends on the thread count.
#pragma once

#include <span>
#include <vector>

#include "tensor/params.h"
#include "util/aligned.h"

namespace wiggle {

// torch.nn.utils.clip_grad_norm_'s rule, without touching the gradients: the global L2 norm of
// every gradient, and the factor max_norm / (norm + 1e-6) that scales it down to max_norm, or 1
// when the norm is already at most that (or max_norm is 0: no clipping). The optimizers apply the
// factor as they read the gradients.
struct GradClip {
    float norm;
    float scale;
};
template <typename T>
GradClip clip_grad_norm(const Params<T>& params, float max_norm);
// The same from the sum of the gradients' squares (a data-parallel run adds up its shards' parts).
GradClip clip_from_sum_squares(double sum_squares, float max_norm);

struct SgdConfig {
    float momentum = 0.0f;      // torch.optim.SGD's, dampening 0, no Nesterov
    float weight_decay = 0.0f;  // L2 added to the gradient, on decay = true parameters only
};

template <typename T>
class Sgd {
  public:
    explicit Sgd(Params<T>& params, SgdConfig config = {});
    // One step on the gradients times grad_scale (clip_grad_norm's factor).
    void step(float lr, float grad_scale = 1.0f);

  private:
    Params<T>& params_;
    SgdConfig config_;
    AlignedVector<T> momentum_;  // one flat array, the layout of the parameters
};

struct AdamWConfig {
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.01f;  // torch.optim.AdamW's default; decay = false parameters get 0
};

template <typename T>
class AdamW {
  public:
    // With a shard [begin, end) of the flat arrays, the optimizer keeps the moments of that shard
    // only and updates only its parameters (ZeRO stage 1: each rank of a data-parallel run owns one
    // shard; the ranks then gather the updated parameters). Every update is elementwise, so a shard
    // gets the bits the whole would.
    explicit AdamW(Params<T>& params, AdamWConfig config = {}, size_t begin = 0,
                   size_t end = static_cast<size_t>(-1));
    // One step on the gradients times grad_scale (clip_grad_norm's factor).
    void step(float lr, float grad_scale = 1.0f);

    const AdamWConfig& config() const { return config_; }
    size_t shard_begin() const { return begin_; }
    // The step count t (0 before the first step) and the moments, flat, in the layout of the
    // parameters (of the shard's elements): the optimizer's state, for checkpoints.
    int steps() const { return t_; }
    void set_steps(int t) { t_ = t; }
    std::span<T> m() { return m_; }
    std::span<T> v() { return v_; }
    std::span<const T> m() const { return m_; }
    std::span<const T> v() const { return v_; }

  private:
    // A stretch of the flat arrays updated as one item: consecutive parameters of one decay group,
    // cut into blocks small enough to stay in L1 while they are scaled and updated (most groups,
    // the biases and the layer norms' weights, are too small to be threaded on their own).
    struct Block {
        size_t offset, n;
        bool decay;
    };
    Params<T>& params_;
    AdamWConfig config_;
    size_t begin_;
    AlignedVector<T> m_, v_;
    std::vector<Block> blocks_;
    int t_ = 0;
};

}  // namespace wiggle
