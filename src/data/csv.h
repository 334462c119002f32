// A CSV loader for the user's own data (part 3): a header line of column names, then one example
// per line: numeric feature columns and one label column.
//
//   x1,x2,label
//   0.5,-1.2,1
//   1.0,0.3,-1
//
// Labels are integers: class indices 0..K-1, or -1/+1 for two classes (-1 becomes class 0, +1
// class 1, as a ±1 label is what the SVM loss of part 2 expects). The label column is the last one
// unless named. Blank lines and lines starting with '#' are skipped; "\r\n" endings are accepted.
// Any bad row stops the program with an error naming the file, the line and the column:
//
//   error: data.csv:7: column 2 ('x2'): 'abc' is not a number (hint: ...)
//
// Deliberately small: no quoting, no missing values, no categorical features.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wiggle {

struct CsvData {
    std::vector<std::string> feature_names;
    std::string label_name;
    size_t rows = 0, cols = 0;  // examples, features
    std::vector<double> x;      // rows·cols, row-major
    std::vector<int> y;         // class indices, 0..num_classes-1
    int num_classes = 0;
    bool plus_minus_one = false;  // the file's labels were -1/+1 (class 0 is -1, class 1 is +1)

    const double* row(size_t i) const { return x.data() + i * cols; }
};

// Reads and parses the file at `path`; label_column "" means the last column.
CsvData load_csv(const std::string& path, const std::string& label_column = "");
// Parses CSV text; `source` names it in error messages (normally the file's path).
CsvData parse_csv(std::string_view text, std::string_view source,
                  const std::string& label_column = "");

}  // namespace wiggle
