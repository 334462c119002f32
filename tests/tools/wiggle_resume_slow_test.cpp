// The resume case at its own scale: a small model (2 layers, dropout on) trained 520
// iterations in one go, and the same run stopped at iteration 500 and resumed, give the same
// losses bit for bit and the same final weights. Uses data/tinyshakespeare.txt (skipped if absent).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "run_program.h"

namespace wiggle {
namespace {

using wiggle::testing::lines_of;
using wiggle::testing::ProgramResult;
using wiggle::testing::run_program;

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// iter, loss, val_loss, train_eval, lr of every metrics row.
std::vector<std::string> loss_columns(const std::string& csv) {
    std::vector<std::string> out;
    for (const std::string& line : lines_of(csv)) {
        size_t cut = 0;
        for (int commas = 0; cut < line.size() && commas < 5; ++cut) commas += line[cut] == ',';
        out.push_back(line.substr(0, cut));
    }
    return out;
}

TEST(WiggleResume, StoppedAt500AndResumedMatchesBitForBit) {
    const std::string data = std::string(WIGGLE_SOURCE_DIR) + "/data/tinyshakespeare.txt";
    if (!std::ifstream(data).good()) GTEST_SKIP() << "no " << data << " (scripts/fetch-data)";
    std::string tmpl = ::testing::TempDir() + "/wiggle-resume-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    const std::string dir = tmpl;
    const std::string common = "train --data " + data +
                               " --n-layer 2 --n-head 2 --n-embd 32 --block-size 16 --batch-size 8"
                               " --dropout 0.1 --iters 520 --eval-interval 100 --eval-iters 4"
                               " --progress quiet --out ";
    ASSERT_EQ(run_program("wiggle", common + dir + "/whole").exit_code, 0);
    const ProgramResult stop = run_program("wiggle", common + dir + "/split --stop-after 500");
    ASSERT_EQ(stop.exit_code, 0) << stop.err;
    const ProgramResult resume =
        run_program("wiggle", "train --resume --progress lines --out " + dir + "/split");
    ASSERT_EQ(resume.exit_code, 0) << resume.err;
    EXPECT_NE(resume.out.find("resuming at iteration 500"), std::string::npos) << resume.out;

    const auto whole = loss_columns(slurp(dir + "/whole/metrics.csv"));
    const auto split = loss_columns(slurp(dir + "/split/metrics.csv"));
    ASSERT_EQ(whole.size(), 1u + 1u + 520u);
    for (size_t i = 0; i < whole.size() && i < split.size(); ++i)
        ASSERT_EQ(split[i], whole[i]) << "metrics row " << i;
    EXPECT_EQ(split.size(), whole.size());
    EXPECT_TRUE(slurp(dir + "/split/model.safetensors") == slurp(dir + "/whole/model.safetensors"))
        << "final weights differ";
    std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace wiggle
