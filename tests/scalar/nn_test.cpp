// Neuron, Layer and MLP: initialization against CPython's random (micrograd's draws), forward
// passes against the same arithmetic in plain doubles, gradients against finite differences.
#include "scalar/nn.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "scalar/value.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

TEST(Nn, MicrogradsMlpHas337ParametersDrawnLikeCPython) {
    PyRandom rng(1337);
    const MLP model(2, {16, 16, 1}, rng);
    EXPECT_EQ(model.num_parameters(), 337u);
    EXPECT_EQ(model.describe(), "MLP 2 -> 16 -> 16 -> 1 (ReLU, ReLU, linear), 337 parameters");
    const std::vector<Value>& p = model.parameters();
    // random.seed(1337); [random.uniform(-1, 1) for _ in range(304)] in CPython 3.11:
    // draws 0, 1, 2, 32 and 303 are these; biases (every 3rd parameter of layer 1) start at 0.
    EXPECT_EQ(p[0].data(), 0.23550571390294128);
    EXPECT_EQ(p[1].data(), 0.06653114721000164);
    EXPECT_EQ(p[2].data(), 0.0);  // neuron 0's bias
    EXPECT_EQ(p[3].data(), -0.26830328150124894);
    EXPECT_EQ(p[48].data(), -0.08568482691922008);  // layer 2, neuron 0, weight 0
    EXPECT_EQ(p[335].data(), -0.2532524374373504);  // the output neuron's last weight
    EXPECT_EQ(p[336].data(), 0.0);                  // the output neuron's bias
}

TEST(Nn, ASeedReproducesTheWeights) {
    PyRandom a(7), b(7);
    const MLP m1(3, {4, 2}, a), m2(3, {4, 2}, b);
    ASSERT_EQ(m1.num_parameters(), m2.num_parameters());
    for (size_t i = 0; i < m1.num_parameters(); ++i) {
        EXPECT_EQ(m1.parameters()[i].data(), m2.parameters()[i].data());
    }
}

TEST(Nn, NeuronComputesActOfBiasPlusWeightedSum) {
    PyRandom rng(3);
    for (Activation act : {Activation::Tanh, Activation::Relu, Activation::Linear}) {
        const Neuron n(3, act, rng);
        n.bias().data() = 0.25;
        const std::array<double, 3> x = {0.5, -1.5, 2.0};
        GraphScope graph;
        const std::vector<Value> xv = {Value(x[0]), Value(x[1]), Value(x[2])};
        double z = 0.25;
        for (int i = 0; i < 3; ++i) z = z + n.weight(i).data() * x[size_t(i)];
        const double want = act == Activation::Tanh   ? std::tanh(z)
                            : act == Activation::Relu ? std::max(z, 0.0)
                                                      : z;
        EXPECT_EQ(n(xv).data(), want) << activation_name(act);
    }
}

// The MLP's forward pass redone in doubles from its parameter values.
std::vector<double> forward_in_doubles(const MLP& model, std::vector<double> x) {
    for (const Layer& layer : model.layers()) {
        std::vector<double> out;
        for (const Neuron& n : layer.neurons()) {
            double z = n.bias().data();
            for (int i = 0; i < n.nin(); ++i) z = z + n.weight(i).data() * x[size_t(i)];
            switch (n.activation()) {
                case Activation::Tanh:
                    z = std::tanh(z);
                    break;
                case Activation::Relu:
                    z = std::max(z, 0.0);
                    break;
                case Activation::Linear:
                    break;
            }
            out.push_back(z);
        }
        x = out;
    }
    return x;
}

TEST(Nn, MlpForwardMatchesPlainDoubles) {
    PyRandom rng(11);
    const MLP model(3, {5, 4, 2}, rng, Activation::Tanh);
    const size_t mark = g_tape.size();
    for (const std::vector<double>& x :
         {std::vector<double>{0.1, -0.7, 1.3}, std::vector<double>{2.0, 0.0, -1.0}}) {
        GraphScope graph;
        const std::span<const Value> out = model(std::span<const double>(x));
        const std::vector<double> want = forward_in_doubles(model, x);
        ASSERT_EQ(out.size(), 2u);
        EXPECT_EQ(out[0].data(), want[0]);
        EXPECT_EQ(out[1].data(), want[1]);
    }
    EXPECT_EQ(g_tape.size(), mark)
        << "a forward pass inside a GraphScope must leave no nodes behind";
}

TEST(Nn, ParameterGradientsMatchFiniteDifferences) {
    // f = sum of squared outputs of a tanh MLP at one point; d f / d p for every parameter.
    PyRandom rng(5);
    const MLP model(2, {4, 3}, rng, Activation::Tanh, Activation::Tanh);
    const std::vector<double> x = {0.8, -0.3};
    auto f_double = [&] {
        double s = 0.0;
        for (double o : forward_in_doubles(model, x)) s += o * o;
        return s;
    };
    GraphScope graph;
    const std::span<const Value> out = model(std::span<const double>(x));
    Value f = out[0] * out[0] + out[1] * out[1] + out[2] * out[2];
    model.zero_grad();
    f.backward();
    const double h = 1e-6;
    for (size_t i = 0; i < model.num_parameters(); ++i) {
        const Value p = model.parameters()[i];
        const double saved = p.data();
        p.data() = saved + h;
        const double up = f_double();
        p.data() = saved - h;
        const double dn = f_double();
        p.data() = saved;
        const double numerical = (up - dn) / (2 * h);
        EXPECT_NEAR(p.grad(), numerical, 1e-7 * std::max(1.0, std::fabs(numerical)))
            << "parameter " << i;
    }
}

TEST(Nn, ZeroGradClearsEveryParameter) {
    PyRandom rng(2);
    const MLP model(2, {3, 1}, rng);
    for (const Value& p : model.parameters()) p.grad() = 1.5;
    model.zero_grad();
    for (const Value& p : model.parameters()) EXPECT_EQ(p.grad(), 0.0);
}

TEST(Nn, LayerGivesOneOutputPerNeuron) {
    PyRandom rng(4);
    const Layer layer(2, 5, Activation::Relu, rng);
    EXPECT_EQ(layer.num_parameters(), 15u);
    GraphScope graph;
    const std::vector<Value> x = {Value(1.0), Value(-2.0)};
    EXPECT_EQ(layer(x).size(), 5u);
}

TEST(NnDeath, EmptyLayersAreUserErrors) {
    PyRandom rng(1);
    EXPECT_EXIT(MLP(2, {}, rng), ::testing::ExitedWithCode(1), "at least one layer");
    EXPECT_EXIT(MLP(2, {3, 0}, rng), ::testing::ExitedWithCode(1), "at least one neuron");
}

}  // namespace
}  // namespace wiggle
