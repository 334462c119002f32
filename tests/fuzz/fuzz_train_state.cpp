// libFuzzer: training-state files (model.state), and the settings text they carry.
#include "fuzz/fuzz_target.h"
#include "train/config.h"
#include "train/train_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return wiggle::fuzz::run(data, size, [](std::string_view bytes) {
        const wiggle::TrainState s = wiggle::parse_train_state(bytes, "fuzz.state");
        wiggle::config_from_text(s.config_text, "fuzz.state settings");
    });
}
