// ladder/02_mlp: runs the built program and checks what it prints against what it claims (one
// neuron fails on XOR and the moons, the MLP reaches 100% training accuracy), that its log lines
// are util/log.h's format, that a seed reproduces the run, and that --plot writes well-formed SVGs.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "run_program.h"
#include "step_line.h"
#include "util/log.h"
#include "xml_reader.h"

namespace wiggle {
namespace {

using testing::lines_of;
using testing::number_after;
using testing::run_program;

std::string read_all(const std::filesystem::path& p) { return testing::read_text_file(p); }

std::vector<std::string> step_lines(const std::string& out) {
    std::vector<std::string> steps;
    for (const std::string& l : lines_of(out)) {
        if (l.rfind("step", 0) == 0) steps.push_back(l);
    }
    return steps;
}

TEST(Mlp02, OneNeuronFailsAndTheMlpGets100PercentOnTheMoons) {
    const auto r = run_program("02_mlp");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // A line through XOR's corners gets at most 3 of 4; through the moons, well under 100%.
    const double xor_acc = number_after(r.out, "XOR:        train accuracy");
    const double moons_acc = number_after(r.out, "two moons:  train accuracy");
    EXPECT_GE(xor_acc, 0.0);
    EXPECT_LE(xor_acc, 80.0) << r.out;
    EXPECT_GE(moons_acc, 50.0);
    EXPECT_LT(moons_acc, 95.0) << r.out;
    EXPECT_NE(r.out.find("MLP 2 -> 16 -> 16 -> 1 (ReLU, ReLU, linear), 337 parameters"),
              std::string::npos);
    EXPECT_EQ(number_after(r.out, "MLP: train accuracy"), 100.0) << r.out;
}

TEST(Mlp02, StepLinesAreTheSharedLogFormat) {
    const auto r = run_program("02_mlp");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::string> steps = step_lines(r.out);
    ASSERT_EQ(steps.size(), 11u) << r.out;  // steps 0, 10, ..., 90 and 99
    for (const std::string& line : steps) {
        const auto m = testing::parse_step_line(line);
        ASSERT_TRUE(m.has_value()) << line;
        std::vector<std::string> names;
        for (const auto& f : m->fields) names.push_back(f.first);
        EXPECT_EQ(names, (std::vector<std::string>{"loss", "acc", "val", "val_acc", "lr"})) << line;
        // Printing the parsed numbers again with format_step must give the line back exactly.
        const std::string again = format_step(m->step, 99, m->get("loss"),
                                              {{"acc", m->get("acc"), 1},
                                               {"val", m->get("val")},
                                               {"val_acc", m->get("val_acc"), 1},
                                               {"lr", m->get("lr"), 3}});
        EXPECT_EQ(again, line);
    }
    EXPECT_EQ(steps.back().rfind("step 99 ", 0), 0u) << steps.back();
}

TEST(Mlp02, ASeedReproducesTheRunAndAnotherSeedAlsoReaches100) {
    const auto a = run_program("02_mlp", "--seed 7"), b = run_program("02_mlp", "--seed 7");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(step_lines(a.out), step_lines(b.out));
    EXPECT_NE(step_lines(a.out), step_lines(run_program("02_mlp").out));
    EXPECT_EQ(number_after(a.out, "MLP: train accuracy"), 100.0) << a.out;
}

TEST(Mlp02, PlotWritesTheBoundariesAndTheLossCurves) {
    const std::filesystem::path dir =
        std::filesystem::path(::testing::TempDir()) / "wiggle_02_plots";
    std::filesystem::remove_all(dir);
    const auto r = run_program("02_mlp", "--plot " + dir.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"02_neuron_xor.svg", "02_neuron_moons.svg", "02_mlp_moons.svg"}) {
        testing::ParsedXml p;
        ASSERT_TRUE(testing::well_formed_svg(read_all(dir / name), p)) << name;
        EXPECT_EQ(p.root->all("g", "heatmap").size(), 1u) << name;
        const auto points = p.root->all("g", "points");
        ASSERT_EQ(points.size(), 1u) << name;
        EXPECT_EQ(points[0]->all("circle").size(), 100u) << name;
    }
    testing::ParsedXml loss;
    ASSERT_TRUE(testing::well_formed_svg(read_all(dir / "02_mlp_loss.svg"), loss));
    const auto series = loss.root->all("path", "series");
    ASSERT_EQ(series.size(), 2u);
    EXPECT_EQ(series[0]->attr("data-name"), "train");
    EXPECT_EQ(series[1]->attr("data-name"), "val");
    if (std::system("command -v xmllint >/dev/null 2>&1") == 0) {
        EXPECT_EQ(std::system(("xmllint --noout " + (dir / "*.svg").string()).c_str()), 0);
    }
}

TEST(Mlp02, AnUnknownFlagIsOneClearLineAndExitStatus1) {
    const auto r = run_program("02_mlp", "--bogus");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(r.out.empty()) << r.out;
    ASSERT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
}

TEST(Mlp02, ANegativeSeedIsRejectedNotWrappedAround) {
    const auto r = run_program("02_mlp", "--seed -3");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("--seed: must be a whole number >= 0"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wiggle
