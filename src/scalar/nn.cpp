// Neuron, Layer, MLP: micrograd's nn.py on wiggle's tape. See nn.h.
// reference: karpathy/micrograd micrograd/nn.py.
#include "scalar/nn.h"

#include <fmt/format.h>

#include <cassert>

#include "util/check.h"

namespace wiggle {

const char* activation_name(Activation a) {
    switch (a) {
        case Activation::Tanh:
            return "tanh";
        case Activation::Relu:
            return "ReLU";
        case Activation::Linear:
            return "linear";
    }
    return "?";
}

Neuron::Neuron(int nin, Activation act, PyRandom& rng) : act_(act) {
    WIGGLE_CHECK(nin >= 1, "", "a neuron needs at least one input, got {}", nin);
    params_.reserve(static_cast<size_t>(nin) + 1);
    for (int i = 0; i < nin; ++i) params_.emplace_back(rng.uniform(-1.0, 1.0));
    params_.emplace_back(0.0);  // the bias starts at zero, as in micrograd
}

Value Neuron::operator()(std::span<const Value> x) const {
    assert(x.size() + 1 == params_.size());
    // micrograd: sum((wi*xi for wi, xi in zip(self.w, x)), self.b): the bias first.
    Value act = params_.back();
    for (size_t i = 0; i < x.size(); ++i) act = act + params_[i] * x[i];
    switch (act_) {
        case Activation::Tanh:
            return act.tanh();
        case Activation::Relu:
            return act.relu();
        case Activation::Linear:
            return act;
    }
    return act;
}

Layer::Layer(int nin, int nout, Activation act, PyRandom& rng) {
    WIGGLE_CHECK(nout >= 1, "", "a layer needs at least one neuron, got {}", nout);
    neurons_.reserve(static_cast<size_t>(nout));
    for (int i = 0; i < nout; ++i) {
        neurons_.emplace_back(nin, act, rng);
        const auto& p = neurons_.back().parameters();
        params_.insert(params_.end(), p.begin(), p.end());
    }
}

void Layer::forward(std::span<const Value> x, std::span<Value> out) const {
    assert(out.size() == neurons_.size());
    for (size_t i = 0; i < neurons_.size(); ++i) out[i] = neurons_[i](x);
}

std::vector<Value> Layer::operator()(std::span<const Value> x) const {
    std::vector<Value> out(neurons_.size(), Value::from_id(0));
    forward(x, out);
    return out;
}

MLP::MLP(int nin, std::vector<int> sizes, PyRandom& rng, Activation hidden, Activation output) {
    WIGGLE_CHECK(!sizes.empty(), "", "an MLP needs at least one layer");
    layers_.reserve(sizes.size());
    int widest = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
        const int in = i == 0 ? nin : sizes[i - 1];
        layers_.emplace_back(in, sizes[i], i + 1 == sizes.size() ? output : hidden, rng);
        const auto& p = layers_.back().parameters();
        params_.insert(params_.end(), p.begin(), p.end());
        widest = std::max(widest, sizes[i]);
    }
    input_.assign(static_cast<size_t>(nin), Value::from_id(0));
    buf_[0].assign(static_cast<size_t>(widest), Value::from_id(0));
    buf_[1].assign(static_cast<size_t>(widest), Value::from_id(0));
}

std::span<const Value> MLP::operator()(std::span<const Value> x) const {
    assert(static_cast<int>(x.size()) == nin());
    std::span<const Value> in = x;
    for (size_t l = 0; l < layers_.size(); ++l) {
        std::span<Value> out(buf_[l % 2].data(), static_cast<size_t>(layers_[l].nout()));
        layers_[l].forward(in, out);
        in = out;
    }
    return in;
}

std::span<const Value> MLP::operator()(std::span<const double> x) const {
    assert(x.size() == input_.size());
    for (size_t i = 0; i < x.size(); ++i) input_[i] = Value(x[i]);
    return (*this)(std::span<const Value>(input_));
}

std::string MLP::describe() const {
    std::string shape = fmt::format("{}", nin()), acts;
    for (const Layer& l : layers_) {
        shape += fmt::format(" -> {}", l.nout());
        acts += fmt::format("{}{}", acts.empty() ? "" : ", ",
                            activation_name(l.neurons().front().activation()));
    }
    return fmt::format("MLP {} ({}), {} parameters", shape, acts, num_parameters());
}

}  // namespace wiggle
