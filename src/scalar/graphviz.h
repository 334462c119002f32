// Draws the graph behind a Value, like micrograd's draw_dot: one box per value (data and grad),
// one small node per operation (+, *, tanh, **2 ...), arrows from inputs to outputs, left to right.
//
//   Value loss = ...;
//   loss.backward();
//   write_graph(loss, "loss.svg");   // .dot: Graphviz source; .svg: rendered by `dot -Tsvg`
//
// Only the nodes that `root` depends on are drawn. Meant for small graphs (a neuron, a tiny MLP):
// Graphviz itself becomes slow beyond a few thousand nodes.
#pragma once

#include <string>

#include "scalar/value.h"

namespace wiggle {

// The graph behind `root` as Graphviz DOT source.
std::string to_dot(Value root);

// Writes the graph to `path`: DOT source for a path ending in ".dot", an SVG rendered by
// Graphviz's `dot` program for ".svg". Exits with one clear error line for any other extension,
// when `dot` is not installed, or when the file cannot be written.
void write_graph(Value root, const std::string& path);

// Whether Graphviz's `dot` program can be run.
bool have_graphviz();

}  // namespace wiggle
