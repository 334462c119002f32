// SGD, AdamW and gradient clipping over Params' flat arrays (optim.h). float runs the fast kernels
// of kernels/adamw.h; double, used by tests, the naive AdamW and plain loops written the same way.
#include "tensor/optim.h"

#include <cmath>

#include "kernels/adamw.h"
#include "kernels/cpu.h"

namespace wiggle {

namespace k = kernels;

namespace {

// ---- float → fast kernels, double → reference loops --------------------------------------------

void sgd_update(float* p, float* buf, const float* g, int N, float lr, float momentum, float wd) {
    k::sgd_update(p, buf, g, N, lr, momentum, wd);
}
void sgd_update(double* p, double* buf, const double* g, int N, float lr, float momentum,
                float wd) {
    for (int i = 0; i < N; ++i) {  // torch.optim.SGD: d = g + wd·p; buf = momentum·buf + d
        const double d = g[i] + double(wd) * p[i];
        buf[i] = double(momentum) * buf[i] + d;
        p[i] -= double(lr) * buf[i];
    }
}
void adamw_update(float* p, float* m, float* v, const float* g, int N, float lr, float b1, float b2,
                  float eps, float wd, int t) {
    k::adamw_update(p, m, v, g, N, lr, b1, b2, eps, wd, t);
}
void adamw_update(double* p, double* m, double* v, const double* g, int N, float lr, float b1,
                  float b2, float eps, float wd, int t) {
    k::adamw_update_naive(p, m, v, g, N, lr, b1, b2, eps, wd, t);
}
double sum_squares(const float* x, size_t N) { return k::sum_squares(x, static_cast<int>(N)); }
double sum_squares(const double* x, size_t N) {
    double s = 0;
    for (size_t i = 0; i < N; ++i) s += x[i] * x[i];
    return s;
}
void scale(float* x, float s, int N) { k::scale(x, s, N); }
void scale(double* x, float s, int N) {
    for (int i = 0; i < N; ++i) x[i] *= double(s);
}

}  // namespace

// ---- clipping ----------------------------------------------------------------------------------

GradClip clip_from_sum_squares(double sum_squares, float max_norm) {
    const float norm = static_cast<float>(std::sqrt(sum_squares));
    // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1
    const float coef = max_norm / (norm + 1e-6f);
    return {norm, max_norm > 0.0f && coef < 1.0f ? coef : 1.0f};
}

template <typename T>
GradClip clip_grad_norm(const Params<T>& params, float max_norm) {
    const std::span<const T> g = params.grads();
    return clip_from_sum_squares(sum_squares(g.data(), g.size()), max_norm);
}

// ---- SGD ---------------------------------------------------------------------------------------

template <typename T>
Sgd<T>::Sgd(Params<T>& params, SgdConfig config)
    : params_(params), config_(config), momentum_(params.numel(), T(0)) {}

template <typename T>
void Sgd<T>::step(float lr, float grad_scale) {
    for (const auto& s : params_.specs()) {
        const int n = static_cast<int>(s.numel);
        T* g = params_.grads().data() + s.offset;
        if (grad_scale != 1.0f) scale(g, grad_scale, n);
        sgd_update(params_.values().data() + s.offset, momentum_.data() + s.offset, g, n, lr,
                   config_.momentum, s.decay ? config_.weight_decay : 0.0f);
    }
}

// ---- AdamW -------------------------------------------------------------------------------------

template <typename T>
AdamW<T>::AdamW(Params<T>& params, AdamWConfig config, size_t begin, size_t end)
    : params_(params), config_(config), begin_(std::min(begin, params.numel())) {
    end = std::min(end, params.numel());
    m_.assign(end > begin_ ? end - begin_ : 0, T(0));
    v_.assign(m_.size(), T(0));
    constexpr size_t kBlock = 8192;  // floats: parameters, gradients and moments fit in L1
    const auto& specs = params.specs();
    for (size_t i = 0; i < specs.size();) {
        size_t j = i + 1;
        while (j < specs.size() && specs[j].decay == specs[i].decay) ++j;
        // this run of one decay group, within the shard
        const size_t from = std::max(specs[i].offset, begin_);
        const size_t to = std::min(specs[j - 1].offset + specs[j - 1].numel, end);
        for (size_t b = from; b < to; b += kBlock) {
            blocks_.push_back({b, std::min(kBlock, to - b), specs[i].decay});
        }
        i = j;
    }
}

template <typename T>
void AdamW<T>::step(float lr, float grad_scale) {
    ++t_;
    const AdamWConfig& c = config_;
    auto update = [&](int item) {
        const Block& b = blocks_[static_cast<size_t>(item)];
        const int n = static_cast<int>(b.n);
        T* g = params_.grads().data() + b.offset;
        if (grad_scale != 1.0f) scale(g, grad_scale, n);
        adamw_update(params_.values().data() + b.offset, m_.data() + (b.offset - begin_),
                     v_.data() + (b.offset - begin_), g, n, lr, c.beta1, c.beta2, c.eps,
                     b.decay ? c.weight_decay : 0.0f, t_);
    };
    k::parallel_items(static_cast<int>(blocks_.size()), k::num_threads(), update);
}

template class Sgd<float>;
template class Sgd<double>;
template class AdamW<float>;
template class AdamW<double>;
template GradClip clip_grad_norm(const Params<float>&, float);
template GradClip clip_grad_norm(const Params<double>&, float);

}  // namespace wiggle
