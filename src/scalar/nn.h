// Neurons, layers and multilayer perceptrons on the scalar engine (part 2): micrograd's nn.py,
// in C++.
//
//   PyRandom rng(1337);
//   MLP model(2, {16, 16, 1}, rng);          // 2 inputs -> 16 -> 16 -> 1 score, 337 parameters
//   Value score = model(x)[0];               // one forward pass for one point
//
// Weights are drawn from rng.uniform(-1, 1) in the order micrograd draws them (layer by layer,
// neuron by neuron, weight by weight) and biases start at 0, so the same seed gives the same
// network, and the sum in each neuron is taken in micrograd's order (bias first), so a run
// reproduces exactly.
//
// Parameters are Values made when the model is built: build the model before any GraphScope, so
// they sit at the bottom of the tape and survive every step's scope. Not a tensor library: every
// multiply is one node on the tape, which is the point of part 2 and why part 6 exists.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "scalar/value.h"
#include "util/py_random.h"

namespace wiggle {

enum class Activation { Tanh, Relu, Linear };

const char* activation_name(Activation a);

// Anything with parameters. The parameter list is fixed when the module is built.
class Module {
  public:
    virtual ~Module() = default;
    const std::vector<Value>& parameters() const { return params_; }
    size_t num_parameters() const { return params_.size(); }
    void zero_grad() const {
        for (const Value& p : params_) p.grad() = 0.0;
    }

  protected:
    std::vector<Value> params_;  // every parameter, in micrograd's order
};

// act(w·x + b): nin weights and a bias.
class Neuron : public Module {
  public:
    Neuron(int nin, Activation act, PyRandom& rng);
    Value operator()(std::span<const Value> x) const;
    int nin() const { return static_cast<int>(params_.size()) - 1; }
    Activation activation() const { return act_; }
    Value weight(int i) const { return params_[i]; }
    Value bias() const { return params_.back(); }

  private:
    Activation act_;  // params_ = w[0..nin), b
};

// nout neurons reading the same inputs.
class Layer : public Module {
  public:
    Layer(int nin, int nout, Activation act, PyRandom& rng);
    // Writes the nout outputs into out (which must hold nout Values).
    void forward(std::span<const Value> x, std::span<Value> out) const;
    std::vector<Value> operator()(std::span<const Value> x) const;
    const std::vector<Neuron>& neurons() const { return neurons_; }
    int nin() const { return neurons_.front().nin(); }
    int nout() const { return static_cast<int>(neurons_.size()); }

  private:
    std::vector<Neuron> neurons_;
};

// Layers of the given sizes. Every layer but the last uses `hidden` (micrograd: ReLU), the last
// one `output` (micrograd: linear), so the outputs are raw scores.
class MLP : public Module {
  public:
    MLP(int nin, std::vector<int> sizes, PyRandom& rng, Activation hidden = Activation::Relu,
        Activation output = Activation::Linear);

    // One forward pass. The returned view points into buffers owned by the model: it stays valid
    // until the next call (copy the Values out to keep them). No allocation after the first call.
    std::span<const Value> operator()(std::span<const Value> x) const;
    std::span<const Value> operator()(std::span<const double> x) const;

    const std::vector<Layer>& layers() const { return layers_; }
    int nin() const { return layers_.front().nin(); }
    int nout() const { return layers_.back().nout(); }
    // "MLP 2 -> 16 -> 16 -> 1 (ReLU, ReLU, linear), 337 parameters"
    std::string describe() const;

  private:
    std::vector<Layer> layers_;
    mutable std::vector<Value> input_, buf_[2];  // the inputs as leaves; ping-pong activations
};

}  // namespace wiggle
