#include "util/log.h"

#include <fmt/format.h>

namespace wiggle {

std::string format_step(int step, int last_step, double loss,
                        std::initializer_list<LogField> extra) {
    const int width = static_cast<int>(fmt::formatted_size("{}", last_step < 0 ? 0 : last_step));
    std::string line = fmt::format("step {:{}d} loss {:.4f}", step, width, loss);
    for (const LogField& f : extra)
        line += fmt::format(" {} {:.{}f}", f.name, f.value, f.precision);
    return line;
}

}  // namespace wiggle
