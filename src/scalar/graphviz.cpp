// DOT export of the tape, and SVG rendering through the `dot` program (Graphviz), which is an
// optional runtime dependency: without it, .dot still works and .svg fails with a clear message.
// reference: micrograd's trace_graph / draw_dot (the record layout of the value boxes).
#include "scalar/graphviz.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "util/check.h"
#include "util/io.h"

namespace wiggle {

namespace {

bool is_binary(Op op) { return op == Op::Add || op == Op::Mul; }

std::string op_label(const Node& n) {
    switch (n.op) {
        case Op::Leaf:
            return "";
        case Op::Add:
            return "+";
        case Op::Mul:
            return "*";
        case Op::Pow:
            return fmt::format("**{}", g_tape[n.b].data);  // the exponent, as micrograd
        case Op::Exp:
            return "exp";
        case Op::Log:
            return "log";
        case Op::Tanh:
            return "tanh";
        case Op::Relu:
            return "ReLU";
        case Op::Sigmoid:
            return "sigmoid";
    }
    return "?";
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string to_dot(Value root) {
    // Which nodes does root depend on? The tape is in topological order, so one pass from root
    // down marks them all (no recursion, whatever the depth).
    const uint32_t r = root.id();
    std::vector<bool> used(r + 1, false);
    used[r] = true;
    for (uint32_t i = r + 1; i-- > 0;) {
        if (!used[i]) continue;
        const Node& n = g_tape[i];
        if (n.op == Op::Leaf) continue;
        used[n.a] = true;
        if (is_binary(n.op)) used[n.b] = true;  // Pow's b is its exponent: shown in the label
    }

    std::string out = "digraph wiggle {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n";
    for (uint32_t i = 0; i <= r; ++i) {
        if (!used[i]) continue;
        const Node& n = g_tape[i];
        out += fmt::format("  v{} [shape=record, label=\"{{ data {:.4f} | grad {:.4f} }}\"];\n", i,
                           n.data, n.grad);
        if (n.op == Op::Leaf) continue;
        out += fmt::format("  op{} [shape=ellipse, label=\"{}\"];\n  op{} -> v{};\n", i,
                           op_label(n), i, i);
        out += fmt::format("  v{} -> op{};\n", n.a, i);
        if (is_binary(n.op)) out += fmt::format("  v{} -> op{};\n", n.b, i);
    }
    out += "}\n";
    return out;
}

bool have_graphviz() { return std::system("command -v dot >/dev/null 2>&1") == 0; }

void write_graph(Value root, const std::string& path) {
    const bool dot = ends_with(path, ".dot"), svg = ends_with(path, ".svg");
    WIGGLE_CHECK(dot || svg, "name the file FILE.dot (Graphviz source) or FILE.svg (a picture)",
                 "cannot tell the graph format of '{}'", path);
    const std::string source = to_dot(root);
    if (dot) {
        write_file_atomic(path, source);
        return;
    }
    WIGGLE_CHECK(have_graphviz(), "install Graphviz (apt-get install graphviz) or write FILE.dot",
                 "cannot render '{}': the Graphviz program `dot` is not installed", path);
    // dot reads the source from a temporary file and writes the picture to stdout, which goes
    // through write_file_atomic like every other file wiggle writes.
    char in_path[] = "/tmp/wiggle-graph-XXXXXX";
    const int fd = mkstemp(in_path);
    WIGGLE_CHECK(fd >= 0, "", "cannot create a temporary file for Graphviz");
    close(fd);
    write_file_atomic(in_path, source);
    const std::string cmd = fmt::format("dot -Tsvg '{}' 2>/dev/null", in_path);
    std::string svg_text;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe != nullptr) {
        char buffer[4096];
        size_t got;
        while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) svg_text.append(buffer, got);
    }
    const int status = pipe != nullptr ? pclose(pipe) : -1;
    std::remove(in_path);
    WIGGLE_CHECK(status == 0 && !svg_text.empty(), "check that `dot -Tsvg` works on this machine",
                 "Graphviz failed to render '{}'", path);
    write_file_atomic(path, svg_text);
}

}  // namespace wiggle
