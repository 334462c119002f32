#!/usr/bin/env python3
"""The article's Python Value engine (micrograd's, with relu/pow and the operator conveniences the
article mentions) on the scalar benchmark's workload, for bench/scalar-vs-python.

Workload (issue 2, "Performance"), the same graph op for op as bench/scalar_bench.cpp:
an MLP 2 -> 16 -> 16 -> 1 (ReLU hidden layers, linear output, weights uniform(-1, 1) from
random.seed(1337), bias 0) on 100 two-moons points (noise 0.1, wiggle's make_moons transcribed
below), SVM max-margin loss mean(relu(1 - y*score)) + 1e-4 * sum(p*p), full-batch SGD with
lr = 1.0 - 0.9*k/100.

Prints one JSON object: seconds per step, nodes per step, nodes per second (forward + backward),
and the loss of every step run (the C++ bench must print the same losses). Times are this thread's
CPU seconds (time.thread_time), as the C++ side measures them, so that other load on a shared
machine counts against neither engine; wall seconds per step are reported too.

    python3 bench/micrograd_engine.py --steps 3
"""
import argparse
import json
import math
import random
import time

# --------------------------------------------------------------------------------------------
# The engine: part 1's Value, as the article writes it (closures, recursive topological sort).


class Value:
    created = 0  # how many nodes were made: the graph size of a step

    def __init__(self, data, _children=(), _op=''):
        Value.created += 1
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        out = Value(self.data**other, (self,), f'**{other}')

        def _backward():
            self.grad += (other * self.data**(other - 1)) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), 'tanh')

        def _backward():
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other**-1
    def __rtruediv__(self, other): return other * self**-1


# --------------------------------------------------------------------------------------------
# The MLP, as micrograd's nn.py builds it.

class Neuron:
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self): return self.w + [self.b]


class Layer:
    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self): return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self): return [p for layer in self.layers for p in layer.parameters()]


# --------------------------------------------------------------------------------------------
# wiggle::make_moons (src/data/toy.cpp), transcribed: same PyRandom draws, same arithmetic.

def make_moons(n, noise, seed):
    rng = random.Random(seed)

    def linspace_at(start, stop, count, i):
        div = count - 1
        return start if div <= 0 else start + (stop - start) * float(i) / float(div)
    n_out = n // 2
    n_in = n - n_out
    xs, ys = [], []
    for i in range(n_out):
        t = linspace_at(0.0, math.pi, n_out, i)
        xs.append([math.cos(t), math.sin(t)])
        ys.append(0)
    for i in range(n_in):
        t = linspace_at(0.0, math.pi, n_in, i)
        xs.append([1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5])
        ys.append(1)
    if noise > 0.0:
        for p in xs:
            p[0] += rng.gauss(0.0, noise)
            p[1] += rng.gauss(0.0, noise)
    order = list(range(n))
    rng.shuffle(order)
    return [xs[i] for i in order], [ys[i] for i in order]


# The workload's constants (bench/scalar_bench.cpp has the same ones).
POINTS, NOISE, DATA_SEED, WEIGHT_SEED = 100, 0.1, 1337, 1337
ALPHA = 1e-4


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=3, help='steps to time (the full run is 100)')
    args = parser.parse_args()
    if args.steps < 1 or args.steps > 100:
        parser.error('--steps must be 1..100')

    X, labels = make_moons(POINTS, NOISE, DATA_SEED)
    y = [2.0 * label - 1.0 for label in labels]  # -1 / +1 for the max-margin loss
    random.seed(WEIGHT_SEED)
    model = MLP(2, [16, 16, 1])

    losses, step_times, fb_times, wall_times, nodes = [], [], [], [], 0
    for k in range(args.steps):
        wall0 = time.perf_counter()
        t0 = time.thread_time()
        Value.created = 0
        # forward (micrograd's demo loss())
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses_k = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses_k) * (1.0 / len(losses_k))
        reg_loss = ALPHA * sum((p * p for p in model.parameters()))
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        nodes = Value.created
        # backward
        for p in model.parameters():
            p.grad = 0.0
        total_loss.backward()
        t1 = time.thread_time()
        # update
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        t2 = time.thread_time()
        wall_times.append(time.perf_counter() - wall0)
        losses.append(total_loss.data)
        fb_times.append(t1 - t0)
        step_times.append(t2 - t0)
        del accuracy

    sec_per_step = sum(step_times) / len(step_times)
    fb = sum(fb_times) / len(fb_times)
    print(json.dumps({
        'engine': 'python micrograd-style Value',
        'steps': args.steps,
        'nodes_per_step': nodes,
        'seconds_per_step': sec_per_step,
        'wall_seconds_per_step': sum(wall_times) / len(wall_times),
        'nodes_per_second': nodes / fb,
        'losses': losses,
    }))


if __name__ == '__main__':
    main()
