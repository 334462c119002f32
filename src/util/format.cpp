// Python's float repr and round(), on top of the C++ shortest round-trip conversion (to_chars) and
// glibc's exact decimal expansion (printf prints the exact binary value to any precision).
#include "util/format.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace wiggle {

namespace {

// Python's repr switches to exponent notation outside 1e-4 <= |x| < 1e16.
constexpr int kMinPositionalExp = -4;  // decimal exponent of the first digit
constexpr int kMaxPositionalExp = 16;

}  // namespace

std::string py_repr(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
    if (x == 0.0) return std::signbit(x) ? "-0.0" : "0.0";

    // Shortest digits in scientific form: "-d.ddde+XX".
    char buf[64];
#if defined(__cpp_lib_to_chars)
    const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
#else
    // A standard library without floating-point to_chars (libc++ 14: the browser build): the same
    // shortest digits from fmt's Dragonbox, written in to_chars's scientific form.
    const auto dec = fmt::detail::dragonbox::to_decimal(std::abs(x));
    const std::string sig = std::to_string(dec.significand);
    const int exp10_sci = dec.exponent + static_cast<int>(sig.size()) - 1;
    std::string sci = x < 0 ? "-" : "";
    sci += sig[0];
    if (sig.size() > 1) sci += "." + sig.substr(1);
    sci += fmt::format("e{}{:02d}", exp10_sci < 0 ? '-' : '+', std::abs(exp10_sci));
    const size_t n = sci.copy(buf, sizeof buf);
    std::string_view s(buf, n);
#endif
    std::string out;
    if (s.front() == '-') {
        out += '-';
        s.remove_prefix(1);
    }
    const size_t e_pos = s.find('e');
    const std::string_view mantissa = s.substr(0, e_pos);
    const int exp10 = std::atoi(std::string(s.substr(e_pos + 1)).c_str());
    std::string digits;
    for (char c : mantissa) {
        if (c != '.') digits += c;
    }
    const int decpt = exp10 + 1;  // digits[0] is worth 10^(decpt-1)

    if (decpt <= kMinPositionalExp || decpt > kMaxPositionalExp) {
        out += digits[0];
        if (digits.size() > 1) {
            out += '.';
            out.append(digits, 1);
        }
        char e[16];
        std::snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
        out += e;
    } else if (decpt <= 0) {
        out += "0.";
        out.append(static_cast<size_t>(-decpt), '0');
        out += digits;
    } else if (static_cast<size_t>(decpt) >= digits.size()) {
        out += digits;
        out.append(static_cast<size_t>(decpt) - digits.size(), '0');
        out += ".0";
    } else {
        out.append(digits, 0, static_cast<size_t>(decpt));
        out += '.';
        out.append(digits, static_cast<size_t>(decpt));
    }
    return out;
}

double py_round(double x, int ndigits) {
    if (!std::isfinite(x) || x == 0.0) return x;
    // Python returns x itself when ndigits is so large that nothing is rounded, and a signed zero
    // when it is so negative that everything is.
    if (ndigits > 323) return x;
    if (ndigits < -308) return 0.0 * x;

    // The exact decimal expansion of |x| (at most 767 significant digits, 1074 after the point).
    std::vector<char> buf(1500);
    const int len = std::snprintf(buf.data(), buf.size(), "%.1100f", std::fabs(x));
    const std::string exact(buf.data(), static_cast<size_t>(len));
    const size_t point = exact.find('.');
    std::string digits = exact.substr(0, point) + exact.substr(point + 1);
    const int int_len = static_cast<int>(point);
    // Keep the digits worth 10^-ndigits and above: `keep` of them (may be <= 0).
    const int keep = int_len + ndigits;
    if (keep < 0) return 0.0 * x;
    std::string kept = digits.substr(0, static_cast<size_t>(keep));
    const std::string rest = digits.substr(static_cast<size_t>(keep));
    bool round_up = false;
    if (!rest.empty() && rest[0] > '5') {
        round_up = true;
    } else if (!rest.empty() && rest[0] == '5') {
        const bool beyond = rest.find_first_not_of('0', 1) != std::string::npos;
        const bool odd = !kept.empty() && ((kept.back() - '0') % 2 == 1);
        round_up = beyond || odd;  // ties to even
    }
    bool carry = false;  // 99.99 -> 100.0: a new leading digit
    if (round_up) {
        int i = static_cast<int>(kept.size()) - 1;
        for (; i >= 0 && kept[static_cast<size_t>(i)] == '9'; --i)
            kept[static_cast<size_t>(i)] = '0';
        if (i >= 0) {
            ++kept[static_cast<size_t>(i)];
        } else {
            carry = true;
        }
    }
    if (kept.empty() && !carry) kept.push_back('0');
    // kept * 10^-ndigits, read back by the correctly rounded strtod.
    std::string text = x < 0 ? "-" : "";
    if (carry) text += '1';
    text += kept;
    text += 'e';
    text += std::to_string(-ndigits);
    const double r = std::strtod(text.c_str(), nullptr);
    return r == 0.0 ? 0.0 * x : r;  // round(-0.00001, 2) is -0.0 in Python
}

std::string py_list(std::span<const double> xs) {
    std::string out = "[";
    for (size_t i = 0; i < xs.size(); ++i) {
        if (i > 0) out += ", ";
        out += py_repr(xs[i]);
    }
    out += "]";
    return out;
}

std::string py_round_list(std::span<const double> xs, int ndigits) {
    std::vector<double> rounded(xs.begin(), xs.end());
    for (double& v : rounded) v = py_round(v, ndigits);
    return py_list(rounded);
}

}  // namespace wiggle
