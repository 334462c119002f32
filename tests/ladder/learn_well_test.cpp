// ladder/03_learn_well: runs the built program and checks its claims: at least 95% validation
// accuracy on the 3-class spiral, the shared log-line format, the side-by-side table, a seed
// that reproduces the run, --plot's SVGs, and a clear error for an unknown flag.
#include <gtest/gtest.h>

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

std::vector<std::string> step_lines(const std::string& out) {
    std::vector<std::string> steps;
    for (const std::string& l : lines_of(out)) {
        if (l.rfind("step", 0) == 0) steps.push_back(l);
    }
    return steps;
}

TEST(LearnWell03, ReachesAtLeast95PercentValidationAccuracyOnTheSpiral) {
    const auto r = run_program("03_learn_well", "--no-table");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("240 train / 60 val points"), std::string::npos) << r.out;
    EXPECT_GE(number_after(r.out, "val accuracy"), 95.0) << r.out;

    // The log: the shared format, 16 measurements (steps 0, 100, ..., 1500), and the final line
    // agrees with the summary.
    const std::vector<std::string> steps = step_lines(r.out);
    ASSERT_EQ(steps.size(), 16u) << r.out;
    std::vector<testing::StepLine> parsed;
    for (const std::string& line : steps) {
        const auto m = testing::parse_step_line(line);
        ASSERT_TRUE(m.has_value()) << line;
        EXPECT_EQ(format_step(m->step, 1500, m->get("loss"),
                              {{"acc", m->get("acc"), 1},
                               {"val", m->get("val")},
                               {"val_acc", m->get("val_acc"), 1},
                               {"lr", m->get("lr"), 4}}),
                  line);
        parsed.push_back(*m);
    }
    const testing::StepLine& first = parsed.front();
    const testing::StepLine& last = parsed.back();
    EXPECT_EQ(last.step, 1500);
    EXPECT_EQ(last.get("val_acc"), number_after(r.out, "val accuracy"));
    EXPECT_LT(last.get("val"), 0.2) << "the final validation cross-entropy";
    // The schedule: warmup from a small lr, then the cosine down to its end.
    EXPECT_LT(first.get("lr"), 0.01);
    EXPECT_EQ(last.get("lr"), 0.001);
}

TEST(LearnWell03, ASeedReproducesTheRunAndAnotherSeedAlsoReaches95) {
    const auto a = run_program("03_learn_well", "--no-table --seed 3");
    const auto b = run_program("03_learn_well", "--no-table --seed 3");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(step_lines(a.out), step_lines(b.out));
    EXPECT_GE(number_after(a.out, "val accuracy"), 95.0) << a.out;
}

TEST(LearnWell03, PlotWritesTheBoundaryAndTheLossCurves) {
    const std::filesystem::path dir =
        std::filesystem::path(::testing::TempDir()) / "wiggle_03_plots";
    std::filesystem::remove_all(dir);
    const auto r = run_program("03_learn_well", "--no-table --plot " + dir.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto read_all = [](const std::filesystem::path& p) { return testing::read_text_file(p); };
    testing::ParsedXml boundary;
    ASSERT_TRUE(testing::well_formed_svg(read_all(dir / "03_spiral_boundary.svg"), boundary));
    EXPECT_EQ(boundary.root->all("g", "heatmap").size(), 1u);
    ASSERT_EQ(boundary.root->all("g", "points").size(), 1u);
    EXPECT_EQ(boundary.root->all("g", "points")[0]->all("circle").size(), 240u) << "train: dots";
    ASSERT_EQ(boundary.root->all("g", "rings").size(), 1u);
    EXPECT_EQ(boundary.root->all("g", "rings")[0]->all("circle").size(), 60u) << "val: rings";
    EXPECT_EQ(boundary.root->all("g", "legend")[0]->all("circle").size(), 4u)
        << "one legend entry a class, and one for the held-out rings";
    testing::ParsedXml loss;
    ASSERT_TRUE(testing::well_formed_svg(read_all(dir / "03_spiral_loss.svg"), loss));
    EXPECT_EQ(loss.root->all("path", "series").size(), 2u);
    if (std::system("command -v xmllint >/dev/null 2>&1") == 0) {
        EXPECT_EQ(std::system(("xmllint --noout " + (dir / "*.svg").string()).c_str()), 0);
    }
}

TEST(LearnWell03, TrainsOnAUsersCsvFile) {
    // Two blobs far apart in large units (standardization must cope), labels -1/+1.
    const std::string path = ::testing::TempDir() + "wiggle_03_blobs.csv";
    {
        std::ofstream f(path);
        f << "height_mm,weight_g,label\n";
        for (int i = 0; i < 60; ++i) {
            const double wobble = (i % 7) * 3.0 - 9.0;
            if (i % 2 == 0) {
                f << 1500 + wobble << "," << 60000 + 40 * wobble << ",1\n";
            } else {
                f << 1300 - wobble << "," << 52000 - 25 * wobble << ",-1\n";
            }
        }
    }
    const auto r = run_program("03_learn_well", "--no-table --csv " + path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("2 features (standardized), 2 classes, 48 train / 12 val points"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(number_after(r.out, "val accuracy"), 100.0) << r.out;
}

TEST(LearnWell03, ABadCsvRowIsOneErrorLineWithItsLineNumber) {
    const std::string path = ::testing::TempDir() + "wiggle_03_bad.csv";
    std::ofstream(path) << "a,b,label\n1,2,0\n3,4,1\n5,six,0\n";
    const auto r = run_program("03_learn_well", "--csv " + path);
    EXPECT_EQ(r.exit_code, 1);
    ASSERT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("wiggle_03_bad.csv:4: column 2 ('b'): 'six' is not a number"),
              std::string::npos)
        << r.err;
}

TEST(LearnWell03, AnUnknownFlagIsOneClearLineAndExitStatus1) {
    const auto r = run_program("03_learn_well", "--momentum 0.5");
    EXPECT_EQ(r.exit_code, 1);
    ASSERT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--momentum"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wiggle
