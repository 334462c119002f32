// The CSV loader: values as written (std::strtod is the oracle for the numbers), label mappings,
// and every kind of bad row reported with the file, line and column.
#include "data/csv.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace wiggle {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

TEST(Csv, ReadsFeaturesAndPlusMinusOneLabels) {
    const std::string path = write_temp(
        "ok_pm1.csv",
        "x1, x2 ,label\r\n# a comment\r\n0.5,-1.25,1\r\n\r\n1e-3, 7 ,-1\r\n-0.1,+2,+1\r\n");
    const CsvData d = load_csv(path);
    EXPECT_EQ(d.feature_names, (std::vector<std::string>{"x1", "x2"}));
    EXPECT_EQ(d.label_name, "label");
    ASSERT_EQ(d.rows, 3u);
    ASSERT_EQ(d.cols, 2u);
    const std::vector<double> want = {0.5, -1.25, std::strtod("1e-3", nullptr), 7.0, -0.1, 2.0};
    EXPECT_EQ(d.x, want);
    EXPECT_TRUE(d.plus_minus_one);
    EXPECT_EQ(d.num_classes, 2);
    EXPECT_EQ(d.y, (std::vector<int>{1, 0, 1}));  // -1 is class 0, +1 class 1
    EXPECT_EQ(d.row(1)[1], 7.0);
}

TEST(Csv, NamedLabelColumnAndClassIndices) {
    const CsvData d = parse_csv("\"a\",class,b\n1,2,3\n4,0,6\n7,1,9\n", "inline.csv", "class");
    EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(d.x, (std::vector<double>{1, 3, 4, 6, 7, 9}));
    EXPECT_EQ(d.y, (std::vector<int>{2, 0, 1}));
    EXPECT_EQ(d.num_classes, 3);
    EXPECT_FALSE(d.plus_minus_one);
}

using ::testing::ExitedWithCode;

TEST(CsvDeath, ABadNumberNamesFileLineAndColumn) {
    const std::string path =
        write_temp("bad_number.csv", "x1,x2,y\n0.5,1.0,1\n# skip\n0.25,abc,0\n");
    EXPECT_EXIT(load_csv(path), ExitedWithCode(1),
                "bad_number\\.csv:4: column 2 \\('x2'\\): 'abc' is not a number");
}

TEST(CsvDeath, WrongColumnCount) {
    const std::string path = write_temp("short_row.csv", "x1,x2,y\n0.5,1.0,1\n0.5,1\n");
    EXPECT_EXIT(load_csv(path), ExitedWithCode(1),
                "short_row\\.csv:3: expected 3 columns, found 2");
}

TEST(CsvDeath, EmptyFieldsInfinityAndTrailingGarbage) {
    EXPECT_EXIT(parse_csv("a,y\n,1\n", "e.csv"), ExitedWithCode(1),
                "e\\.csv:2: column 1 \\('a'\\): '' is not a number");
    EXPECT_EXIT(parse_csv("a,y\n1,1\ninf,0\n", "e.csv"), ExitedWithCode(1),
                "e\\.csv:3: column 1 .*'inf' is not a number");
    EXPECT_EXIT(parse_csv("a,y\n1.5x,1\n", "e.csv"), ExitedWithCode(1),
                "e\\.csv:2: column 1 .*'1\\.5x'");
}

TEST(CsvDeath, BadLabels) {
    EXPECT_EXIT(parse_csv("a,y\n1,0.5\n", "l.csv"), ExitedWithCode(1),
                "l\\.csv:2: column 2 \\('y'\\): label '0\\.5' is not an integer");
    EXPECT_EXIT(parse_csv("a,y\n1,-1\n2,1\n3,0\n", "l.csv"), ExitedWithCode(1),
                "l\\.csv:4: column 2 \\('y'\\): label 0 in a file of -1/\\+1 labels");
    EXPECT_EXIT(parse_csv("a,y\n1,-3\n", "l.csv"), ExitedWithCode(1),
                "l\\.csv:2: .*label -3 is out of range");
}

TEST(CsvDeath, HeaderProblems) {
    EXPECT_EXIT(parse_csv("", "h.csv"), ExitedWithCode(1), "h\\.csv: the file is empty");
    EXPECT_EXIT(parse_csv("a,y\n", "h.csv"), ExitedWithCode(1), "h\\.csv: no data rows");
    EXPECT_EXIT(parse_csv("y\n1\n", "h.csv"), ExitedWithCode(1),
                "h\\.csv:1: the header has 1 column");
    EXPECT_EXIT(parse_csv("a,a,y\n1,2,1\n", "h.csv"), ExitedWithCode(1),
                "column name 'a' appears twice");
    EXPECT_EXIT(parse_csv("a,b\n1,1\n", "h.csv", "label"), ExitedWithCode(1),
                "h\\.csv: no column named 'label' \\(hint: the columns are: a, b\\)");
}

TEST(CsvDeath, MissingFile) {
    EXPECT_EXIT(load_csv("/nonexistent/dir/data.csv"), ExitedWithCode(1),
                "/nonexistent/dir/data\\.csv");
}

}  // namespace
}  // namespace wiggle
