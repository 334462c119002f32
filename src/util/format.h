// Numbers printed the way Python prints them, so a ladder program's output can be compared line by
// line with the article's:
//
//   py_repr(-0.29131261245159085)          // "-0.29131261245159085"  (repr(x): shortest round
//   trip) py_repr(1e16)                          // "1e+16"                 (Python's switch to
//   exponents) py_round(-2.48594, 4)                  // -2.4859                 (round(x, 4), half
//   to even) py_list(std::vector{-2.4859, 0.174})   // "[-2.4859, 0.174]"      (repr of a list of
//   floats) py_round_list(xs, 4)                   // "[round(x, 4) for x in xs]", printed
//
// Not a general formatting library: fmt does everything else.
// reference: CPython Python/pystrtod.c (format_float_short, repr style 'r') and
// Objects/floatobject.c (double_round).
#pragma once

#include <span>
#include <string>

namespace wiggle {

// repr(x) for a Python float: the shortest digits that read back as x; positional notation when
// 1e-4 <= |x| < 1e16 (with ".0" for whole numbers), otherwise "1.5e-05" / "1e+16"; "inf", "-inf",
// "nan", "-0.0".
std::string py_repr(double x);

// round(x, ndigits) for a Python float: the exact binary value of x rounded to ndigits decimals
// (negative ndigits round to tens, hundreds...), ties to even, read back as a double.
double py_round(double x, int ndigits);

// repr of a list of floats: "[a, b, c]" with py_repr of each element.
std::string py_list(std::span<const double> xs);

// The same list with every element passed through round(x, ndigits) first.
std::string py_round_list(std::span<const double> xs, int ndigits);

}  // namespace wiggle
