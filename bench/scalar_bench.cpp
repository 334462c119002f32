// The scalar engine's speed on micrograd's demo workload (issue 2, "Performance"): an MLP
// 2 -> 16 -> 16 -> 1 (ReLU hidden, linear output, weights uniform(-1, 1) from PyRandom, bias 0) on
// 100 two-moons points (noise 0.1), SVM max-margin loss mean(relu(1 - y*score)) + 1e-4*sum(p*p),
// full-batch SGD with lr = 1.0 - 0.9*k/100. The graph is built op for op as
// bench/micrograd_engine.py builds it, so the node counts and the losses are the same.
//
//   build/bin/scalar_bench                  Google Benchmark: forward+backward, and a full step
//   build/bin/scalar_bench --train-json     the 100-step run, as one JSON line (losses, timings)
//   bench/scalar-vs-python                  both engines side by side, with the ratio
//
// The MLP is written inline with Values on purpose: the library's MLP classes (scalar/nn.h)
// belong to part 2; this file measures the engine only.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <time.h>

#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "data/toy.h"
#include "scalar/value.h"
#include "util/py_random.h"

namespace {

using wiggle::Value;

// The workload's constants (bench/micrograd_engine.py has the same ones).
constexpr int kPoints = 100;    // two-moons points, one full batch
constexpr double kNoise = 0.1;  // moons noise, as in micrograd's demo
constexpr uint64_t kDataSeed = 1337;
constexpr uint64_t kWeightSeed = 1337;  // micrograd's demo seeds random with 1337
constexpr double kAlpha = 1e-4;         // L2 weight of the regularizer
constexpr int kSteps = 100;             // the demo's training run
constexpr std::array<int, 4> kSizes = {2, 16, 16, 1};

// The parameters, made once (outside any GraphScope), in micrograd's order: per layer, per
// neuron, its weights then its bias.
struct Mlp {
    std::vector<Value> params;
    explicit Mlp(wiggle::PyRandom& rng) {
        for (size_t l = 0; l + 1 < kSizes.size(); ++l) {
            for (int j = 0; j < kSizes[l + 1]; ++j) {
                for (int i = 0; i < kSizes[l]; ++i) params.emplace_back(rng.uniform(-1, 1));
                params.emplace_back(0.0);
            }
        }
    }
    // micrograd's MLP.__call__: act = sum(w_i * x_i, start=b), relu on hidden layers. `in` and
    // `out` are scratch buffers, reused step after step.
    Value operator()(const std::array<double, 2>& point, std::vector<Value>& in,
                     std::vector<Value>& out) const {
        in.assign({Value(point[0]), Value(point[1])});
        size_t p = 0;
        for (size_t l = 0; l + 1 < kSizes.size(); ++l) {
            const bool hidden = l + 2 < kSizes.size();
            out.clear();
            for (int j = 0; j < kSizes[l + 1]; ++j) {
                const Value* w = &params[p];
                Value act = w[kSizes[l]];  // the bias
                for (int i = 0; i < kSizes[l]; ++i) act = act + w[i] * in[static_cast<size_t>(i)];
                out.push_back(hidden ? act.relu() : act);
                p += static_cast<size_t>(kSizes[l]) + 1;
            }
            in.swap(out);
        }
        return in[0];
    }
};

struct Workload {
    wiggle::Dataset2D data = wiggle::make_moons(kPoints, kNoise, kDataSeed);
    std::vector<double> y;  // labels as -1 / +1
    wiggle::PyRandom rng{kWeightSeed};
    Mlp model{rng};
    std::vector<Value> in, out, scores;
    Workload() {
        for (int label : data.y) y.push_back(2.0 * label - 1.0);
        in.reserve(16);
        out.reserve(16);
        scores.reserve(kPoints);
    }

    // micrograd's demo loss(): the whole batch's graph. Returns the total loss.
    Value loss() {
        scores.clear();
        for (const auto& x : data.x) scores.push_back(model(x, in, out));
        Value data_loss = 0.0;  // Python's sum() starts from 0
        for (size_t i = 0; i < scores.size(); ++i)
            data_loss = data_loss + (1.0 + (-y[i]) * scores[i]).relu();
        data_loss = data_loss * (1.0 / static_cast<double>(scores.size()));
        Value reg = 0.0;
        for (Value p : model.params) reg = reg + p * p;
        return data_loss + kAlpha * reg;
    }
    void zero_grad() {
        for (Value p : model.params) p.grad() = 0.0;
    }
    void update(int k) {
        const double lr = 1.0 - 0.9 * k / 100;
        for (Value p : model.params) p.data() -= lr * p.grad();
    }
};

// Forward + backward: the graph-node rate the issue asks for.
void BM_ForwardBackward(benchmark::State& state) {
    Workload w;
    size_t nodes = 0;
    for (auto _ : state) {
        wiggle::GraphScope graph;
        const size_t before = wiggle::g_tape.size();
        Value loss = w.loss();
        nodes = wiggle::g_tape.size() - before;
        w.zero_grad();
        loss.backward();
        benchmark::DoNotOptimize(loss.data());
    }
    state.counters["nodes"] = static_cast<double>(nodes);
    state.counters["nodes/s"] = benchmark::Counter(static_cast<double>(nodes),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ForwardBackward)->Unit(benchmark::kMicrosecond);

// Forward alone: building the graph (every op computes its value and appends one node).
void BM_Forward(benchmark::State& state) {
    Workload w;
    size_t nodes = 0;
    for (auto _ : state) {
        wiggle::GraphScope graph;
        const size_t before = wiggle::g_tape.size();
        Value loss = w.loss();
        nodes = wiggle::g_tape.size() - before;
        benchmark::DoNotOptimize(loss.data());
    }
    state.counters["nodes/s"] = benchmark::Counter(static_cast<double>(nodes),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Forward)->Unit(benchmark::kMicrosecond);

// A whole training step (forward, zero_grad, backward, SGD update), cycling through the schedule.
void BM_TrainStep(benchmark::State& state) {
    Workload w;
    int k = 0;
    for (auto _ : state) {
        wiggle::GraphScope graph;
        Value loss = w.loss();
        w.zero_grad();
        loss.backward();
        w.update(k);
        k = (k + 1) % kSteps;
        benchmark::DoNotOptimize(loss.data());
    }
}
BENCHMARK(BM_TrainStep)->Unit(benchmark::kMicrosecond);

double thread_seconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The 100-step run, timed per step, as one JSON line for bench/scalar-vs-python. Times are this
// thread's CPU seconds (the Python side measures the same way), so that other load on a shared
// machine does not count against either engine; wall seconds are reported too.
int train_json() {
    Workload w;
    std::vector<double> losses;
    double fb_cpu = 0.0, step_cpu = 0.0;
    size_t nodes = 0;
    const auto wall0 = std::chrono::steady_clock::now();
    for (int k = 0; k < kSteps; ++k) {
        const double t0 = thread_seconds();
        wiggle::GraphScope graph;
        const size_t before = wiggle::g_tape.size();
        Value loss = w.loss();
        nodes = wiggle::g_tape.size() - before;
        w.zero_grad();
        loss.backward();
        const double t1 = thread_seconds();
        w.update(k);
        const double t2 = thread_seconds();
        fb_cpu += t1 - t0;
        step_cpu += t2 - t0;
        losses.push_back(loss.data());
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    int correct = 0;  // accuracy after training, as the demo reports it
    {
        wiggle::GraphScope graph;
        for (size_t i = 0; i < w.data.x.size(); ++i) {
            const double score = w.model(w.data.x[i], w.in, w.out).data();
            correct += (w.y[i] > 0) == (score > 0);
        }
    }
    std::string list;
    for (size_t i = 0; i < losses.size(); ++i)
        list += fmt::format("{}{}", i ? ", " : "", losses[i]);
    fmt::print(
        "{{\"engine\": \"wiggle::Value\", \"steps\": {}, \"nodes_per_step\": {}, "
        "\"seconds_per_step\": {:.9g}, \"wall_seconds_per_step\": {:.9g}, \"nodes_per_second\": "
        "{:.6g}, "
        "\"accuracy\": {}, \"losses\": [{}]}}\n",
        kSteps, nodes, step_cpu / kSteps, wall / kSteps,
        static_cast<double>(nodes) * kSteps / fb_cpu,
        correct / static_cast<double>(w.data.x.size()), list);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "--train-json") == 0) return train_json();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
