// ladder/08_transformer on a small corpus with short runs: every row of the table trains (its
// estimated loss goes down), the parameter counts are those of the pieces each row adds (counted
// here by hand), the log lines are util/log.h's, the table lists every row, --plot writes one
// validation curve a row, and bad inputs give one line and exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ladder/corpora.h"
#include "ladder/step_line.h"
#include "run_program.h"
#include "util/py_random.h"
#include "xml_reader.h"

namespace wiggle {
namespace {

using testing::lines_of;
using testing::number_after;
using testing::run_program;

// The parameters of each row with vocabulary V, n_embd C = 32, context 8, 3 blocks, by hand.
std::vector<long> expected_params(long V) {
    const long C = 32, T = 8;
    const long emb = V * C + T * C, head = C * V + V, qkv = 3 * C * C;
    const long block = qkv + (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C);
    const long block_ln = block + 4 * C;
    return {V * V,
            emb + qkv + head,
            emb + qkv + head,
            emb + qkv + (C * C + C) + head,
            emb + 3 * block + head,
            emb + 3 * block_ln + 2 * C + head};
}

TEST(Transformer08, EveryRowTrainsAndTheTableListsThemAll) {
    const std::string data = testing::sentence_corpus_file("wiggle_transformer_test_corpus.txt");
    const auto r = run_program("08_transformer", "--data " + data + " --iters 120 --eval-iters 3");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("vocabulary 14"), std::string::npos) << r.out;

    // Each run: a header, then step lines whose estimated loss falls.
    std::vector<std::string> names;
    std::vector<long> params;
    std::vector<std::vector<double>> vals;
    for (const std::string& line : lines_of(r.out)) {
        if (line.rfind("== ", 0) == 0) {  // "== <name>: <what>, <n> parameters, ..."
            const size_t colon = line.find(':'),
                         p = line.find(" parameters, 120 iterations at lr ");
            ASSERT_TRUE(colon != std::string::npos && p != std::string::npos) << line;
            names.push_back(line.substr(3, colon - 3));
            const size_t n = line.rfind(' ', p - 1) + 1;
            params.push_back(std::stol(line.substr(n, p - n)));
            vals.emplace_back();
        } else if (const auto val = testing::loss_val_lines({line}).val; !val.empty()) {
            ASSERT_FALSE(vals.empty()) << "a step line before any run header:\n" << r.out;
            vals.back().push_back(val[0]);
        }
    }
    const std::vector<std::string> want_names = {"bigram",         "one head",   "multi-head",
                                                 "+ feed-forward", "+ residual", "+ layer norm"};
    ASSERT_EQ(names, want_names) << r.out;
    EXPECT_EQ(params, expected_params(14)) << r.out;
    for (size_t i = 0; i < vals.size(); ++i) {
        SCOPED_TRACE(names[i]);
        ASSERT_EQ(vals[i].size(), 11u) << r.out;  // steps 0, 12, ..., 120
        EXPECT_LT(vals[i].back(), vals[i].front() - 0.3) << r.out;
    }

    // The table: one row a run, its val the run's last estimate.
    const size_t table = r.out.find("\nmodel ");
    ASSERT_NE(table, std::string::npos) << r.out;
    const std::vector<std::string> rows = lines_of(r.out.substr(table + 1));
    ASSERT_GE(rows.size(), 7u);
    for (size_t i = 0; i < want_names.size(); ++i) {
        const std::string& row = rows[i + 1];
        ASSERT_EQ(row.rfind(want_names[i], 0), 0u) << row;
        std::istringstream in(row.substr(16));
        long p = 0;
        int iters = 0;
        double train = 0, val = 0, lecture = 0;
        in >> p >> iters >> train >> val >> lecture;
        EXPECT_EQ(p, params[i]) << row;
        EXPECT_EQ(iters, 120) << row;
        EXPECT_NEAR(val, vals[i].back(), 1e-4) << row;
    }
    EXPECT_NE(r.out.find("done in "), std::string::npos);
}

TEST(Transformer08, PlotsOneValidationCurveARow) {
    const std::string data = testing::sentence_corpus_file("wiggle_transformer_test_corpus.txt");
    const std::filesystem::path dir =
        std::filesystem::path(::testing::TempDir()) / "wiggle_08_plots";
    std::filesystem::remove_all(dir);
    const auto r = run_program(
        "08_transformer", "--data " + data + " --iters 10 --eval-iters 1 --plot " + dir.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ifstream f(dir / "transformer.svg");
    std::stringstream ss;
    ss << f.rdbuf();
    testing::ParsedXml svg;
    ASSERT_TRUE(testing::well_formed_svg(ss.str(), svg));
    EXPECT_EQ(svg.root->all("path", "series").size(), 6u);
}

TEST(Transformer08, BadInputsGiveOneLine) {
    const auto flag = run_program("08_transformer", "--bogus");
    EXPECT_EQ(flag.exit_code, 1);
    EXPECT_EQ(lines_of(flag.err).size(), 1u) << flag.err;
    EXPECT_NE(flag.err.find("error: "), std::string::npos) << flag.err;

    const auto missing = run_program("08_transformer", "--data /nonexistent/x.txt --iters 1");
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("/nonexistent/x.txt"), std::string::npos) << missing.err;

    const auto iters = run_program("08_transformer", "--iters 0");
    EXPECT_EQ(iters.exit_code, 1);
    EXPECT_NE(iters.err.find("--iters"), std::string::npos) << iters.err;
}

}  // namespace
}  // namespace wiggle
