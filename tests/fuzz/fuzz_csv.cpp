// libFuzzer: CSV data sets (ladder 03's --csv).
#include "data/csv.h"
#include "fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return wiggle::fuzz::run(data, size, [](std::string_view bytes) {
        wiggle::parse_csv(bytes, "fuzz.csv");
        wiggle::parse_csv(bytes, "fuzz.csv", "label");
    });
}
