// ladder/03_learn_well's side-by-side table (15 training runs, a few seconds): every recipe
// appears with its validation loss and accuracy (means over 3 seeds), and the full recipe's
// validation loss is below those of the runs with MSE, without momentum and without a schedule:
// what each of those pieces buys, for the default seeds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "run_program.h"

namespace wiggle {
namespace {

TEST(LearnWell03Slow, TheTableShowsWhatEachPieceBuys) {
    const auto r = testing::run_program("03_learn_well");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    struct Row {
        double val_loss, val_acc, train_acc;
    };
    std::map<std::string, Row> rows;
    // A row: the recipe's name, then "<loss with 4 decimals> <acc>% <acc>%".
    for (const std::string& line : testing::lines_of(r.out)) {
        std::istringstream in(line);
        std::vector<std::string> words;
        for (std::string w; in >> w;) words.push_back(w);
        if (words.size() < 4) continue;
        const std::string loss = words[words.size() - 3], val = words[words.size() - 2],
                          train = words.back();
        if (loss.size() < 6 || loss[loss.size() - 5] != '.' || val.back() != '%' ||
            train.back() != '%') {
            continue;
        }
        const size_t name_end = line.find(loss);
        std::string name = line.substr(0, name_end);
        while (!name.empty() && name.back() == ' ') name.pop_back();
        rows[name] = {std::stod(loss), std::stod(val), std::stod(train)};
    }
    ASSERT_EQ(rows.size(), 5u) << r.out;
    for (const char* name : {"full recipe", "MSE instead of cross-entropy", "no momentum",
                             "no schedule (constant lr)", "no weight decay"}) {
        ASSERT_EQ(rows.count(name), 1u) << "missing row: " << name << "\n" << r.out;
    }
    const Row full = rows["full recipe"];
    EXPECT_GE(full.val_acc, 95.0);
    EXPECT_NE(r.out.find("mean of 3 seeds (1337..1339):"), std::string::npos) << r.out;
    EXPECT_LT(full.val_loss, rows["MSE instead of cross-entropy"].val_loss);
    EXPECT_LT(full.val_loss, rows["no momentum"].val_loss);
    EXPECT_LT(full.val_loss, rows["no schedule (constant lr)"].val_loss);
}

}  // namespace
}  // namespace wiggle
