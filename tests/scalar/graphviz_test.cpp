// Graph export: the DOT text names exactly the nodes the root depends on, with data, grad and op,
// and Graphviz itself (when installed) accepts it.
#include "scalar/graphviz.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "scalar/value.h"

namespace wiggle {
namespace {

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
        ++n;
    return n;
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(Graphviz, DotShowsDataGradAndOps) {
    GraphScope scope;
    Value a = 2.0, b = -3.0;
    Value unrelated = a * 100.0;  // made, but not part of the graph below
    (void)unrelated;
    Value c = (a * b + 10.0).tanh();
    Value d = c.pow(2);
    d.backward();
    const std::string dot = to_dot(d);
    // Values: a, b, a*b, 10, a*b+10, tanh, pow = 7 boxes; 4 operations (the exponent is a label).
    EXPECT_EQ(count(dot, "shape=record"), 7u) << dot;
    EXPECT_EQ(count(dot, "shape=ellipse"), 4u) << dot;
    EXPECT_NE(dot.find("label=\"tanh\""), std::string::npos) << dot;
    EXPECT_NE(dot.find("label=\"**2\""), std::string::npos) << dot;
    EXPECT_NE(dot.find("label=\"*\""), std::string::npos) << dot;
    EXPECT_NE(dot.find("label=\"+\""), std::string::npos) << dot;
    EXPECT_NE(dot.find("data 2.0000"), std::string::npos) << dot;
    EXPECT_NE(dot.find("data -3.0000"), std::string::npos) << dot;
    EXPECT_EQ(dot.find("data 100.0000"), std::string::npos) << "unrelated node drawn:\n" << dot;
    EXPECT_EQ(dot.find("data 200.0000"), std::string::npos) << "unrelated node drawn:\n" << dot;
    // d = tanh(4)^2: the root's grad is 1, a's is 2 tanh(4) (1 - tanh(4)^2) b
    const double t = std::tanh(4.0);
    char want[64];
    std::snprintf(want, sizeof want, "data %.4f | grad %.4f", a.data(), 2 * t * (1 - t * t) * -3.0);
    EXPECT_NE(dot.find(want), std::string::npos) << want << "\n" << dot;
    EXPECT_NE(dot.find("grad 1.0000"), std::string::npos) << dot;
}

TEST(Graphviz, WritesDotFile) {
    GraphScope scope;
    Value x = 1.5;
    Value y = (x * x).exp();
    const std::string path = ::testing::TempDir() + "wiggle_graph_test.dot";
    write_graph(y, path);
    EXPECT_EQ(slurp(path), to_dot(y));
    std::remove(path.c_str());
}

TEST(Graphviz, GraphvizAcceptsTheDotAndRendersSvg) {
    if (!have_graphviz()) GTEST_SKIP() << "Graphviz `dot` is not installed";
    GraphScope scope;
    Value a = 0.5, b = -1.0;
    Value y = (a * b + a.sigmoid()).relu() / b;
    y.backward();
    const std::string svg = ::testing::TempDir() + "wiggle_graph_test.svg";
    write_graph(y, svg);
    const std::string text = slurp(svg);
    EXPECT_NE(text.find("<svg"), std::string::npos);
    EXPECT_NE(text.find("sigmoid"), std::string::npos);
    std::remove(svg.c_str());

    // dot's plain output lists one "node" line per node: boxes + operations.
    const std::string dot_path = ::testing::TempDir() + "wiggle_graph_test_plain.dot";
    write_graph(y, dot_path);
    const std::string dot = to_dot(y);
    const std::string cmd = "dot -Tplain '" + dot_path + "'";
    FILE* pipe = popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string plain;
    char buffer[4096];
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) plain.append(buffer, got);
    EXPECT_EQ(pclose(pipe), 0);
    EXPECT_EQ(count(plain, "\nnode "), count(dot, "shape=record") + count(dot, "shape=ellipse"));
    std::remove(dot_path.c_str());
}

TEST(GraphvizDeathTest, UnknownExtensionIsOneClearError) {
    GraphScope scope;
    Value y = Value(1.0) * 2.0;
    EXPECT_EXIT(write_graph(y, "graph.png"), ::testing::ExitedWithCode(1),
                "error: cannot tell the graph format of 'graph.png'");
}

TEST(GraphvizDeathTest, SvgWithoutGraphvizIsOneClearError) {
    GraphScope scope;
    Value y = Value(1.0) * 2.0;
    const std::string path = ::testing::TempDir() + "wiggle_graph_no_dot.svg";
    // In the death test's child only: a PATH where no `dot` can be found.
    EXPECT_EXIT(
        {
            setenv("PATH", "/nonexistent", 1);
            write_graph(y, path);
        },
        ::testing::ExitedWithCode(1), "error: cannot render .*`dot` is not installed");
}

}  // namespace
}  // namespace wiggle
