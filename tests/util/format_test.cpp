// Python's repr and round, against strings printed by CPython 3.11 (python3 -c "print(repr(x))").
#include "util/format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace wiggle {
namespace {

TEST(PyRepr, ShortestRoundTrip) {
    EXPECT_EQ(py_repr(-0.29131261245159085), "-0.29131261245159085");
    EXPECT_EQ(py_repr(0.1), "0.1");
    EXPECT_EQ(py_repr(1.0 / 3.0), "0.3333333333333333");
    EXPECT_EQ(py_repr(2.5), "2.5");
    EXPECT_EQ(py_repr(1e-4 * 1.5), "0.00015000000000000001");
}

TEST(PyRepr, WholeNumbersKeepPointZero) {
    EXPECT_EQ(py_repr(100.0), "100.0");
    EXPECT_EQ(py_repr(123.0), "123.0");
    EXPECT_EQ(py_repr(1e15), "1000000000000000.0");
    EXPECT_EQ(py_repr(9999999999999998.0), "9999999999999998.0");
}

TEST(PyRepr, ExponentNotationOutsidePythonsRange) {
    EXPECT_EQ(py_repr(1e16), "1e+16");
    EXPECT_EQ(py_repr(123456789012345678.0), "1.2345678901234568e+17");
    EXPECT_EQ(py_repr(0.0001), "0.0001");
    EXPECT_EQ(py_repr(0.00001), "1e-05");
    EXPECT_EQ(py_repr(1.5e-5), "1.5e-05");
    EXPECT_EQ(py_repr(-1e-7), "-1e-07");
    EXPECT_EQ(py_repr(1e22), "1e+22");
    EXPECT_EQ(py_repr(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
    EXPECT_EQ(py_repr(std::numeric_limits<double>::denorm_min()), "5e-324");
}

TEST(PyRepr, SpecialValues) {
    EXPECT_EQ(py_repr(0.0), "0.0");
    EXPECT_EQ(py_repr(-0.0), "-0.0");
    EXPECT_EQ(py_repr(std::numeric_limits<double>::infinity()), "inf");
    EXPECT_EQ(py_repr(-std::numeric_limits<double>::infinity()), "-inf");
    EXPECT_EQ(py_repr(std::nan("")), "nan");
}

TEST(PyRound, HalfToEvenOnTheExactBinaryValue) {
    // print(round(x, n)) in CPython.
    EXPECT_EQ(py_repr(py_round(0.125, 2)), "0.12");  // exact tie, to even
    EXPECT_EQ(py_repr(py_round(0.375, 2)), "0.38");  // exact tie, to even
    EXPECT_EQ(py_repr(py_round(2.675, 2)), "2.67");  // 2.67499999... in binary
    EXPECT_EQ(py_repr(py_round(9.995, 2)), "9.99");
    EXPECT_EQ(py_repr(py_round(99.99, 1)), "100.0");  // carry into a new digit
    EXPECT_EQ(py_repr(py_round(0.5, 0)), "0.0");
    EXPECT_EQ(py_repr(py_round(1.5, 0)), "2.0");
    EXPECT_EQ(py_repr(py_round(2.5, 0)), "2.0");
    EXPECT_EQ(py_repr(py_round(0.1, 20)), "0.1");
    EXPECT_EQ(py_repr(py_round(1e-320, 322)), "1e-320");
    EXPECT_EQ(py_repr(py_round(1e300, 2)), "1e+300");
}

TEST(PyRound, NegativeDigitsAndSignedZeros) {
    EXPECT_EQ(py_repr(py_round(1234.5, -2)), "1200.0");
    EXPECT_EQ(py_repr(py_round(1250.0, -2)), "1200.0");
    EXPECT_EQ(py_repr(py_round(1350.0, -2)), "1400.0");
    EXPECT_EQ(py_repr(py_round(-1250.0, -2)), "-1200.0");
    EXPECT_EQ(py_repr(py_round(5.0, -1)), "0.0");
    EXPECT_EQ(py_repr(py_round(15.0, -1)), "20.0");
    EXPECT_EQ(py_repr(py_round(123.456, -5)), "0.0");
    EXPECT_EQ(py_repr(py_round(-0.00001, 2)), "-0.0");
    EXPECT_EQ(py_repr(py_round(-0.5, 0)), "-0.0");
}

TEST(PyList, PrintsLikePython) {
    // print([round(x, 4) for x in [-2.48594, -1.011512, 0.17400001]])
    const std::vector<double> xs = {-2.48594, -1.011512, 0.17400001};
    EXPECT_EQ(py_round_list(xs, 4), "[-2.4859, -1.0115, 0.174]");
    EXPECT_EQ(py_list(xs), "[-2.48594, -1.011512, 0.17400001]");
    EXPECT_EQ(py_list(std::vector<double>{}), "[]");
    EXPECT_EQ(py_list(std::vector<double>{1.0}), "[1.0]");
}

}  // namespace
}  // namespace wiggle
