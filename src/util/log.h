// The one log-line format every training program prints, from ladder part 1 to `wiggle train`:
//
//   step  40 loss 0.0389
//   step 120 loss 1.2345 val 1.3001 lr 0.000900 ms 12.3
//
// The step is right-aligned to the width of the last step's number, so the columns line up
// (part 1's Python prints f"step {step:3d} loss {loss:.4f}" for 200 steps, and so does this).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace wiggle {

struct LogField {
    std::string_view name;
    double value;
    int precision = 4;  // digits after the decimal point
};

// "step <step> loss <loss> [<name> <value>]..."; last_step is the largest step the run will print.
std::string format_step(int step, int last_step, double loss,
                        std::initializer_list<LogField> extra = {});

}  // namespace wiggle
