// libFuzzer: safetensors files, then the checkpoint reader on what parses (config, tokenizer,
// tensor table, values).
#include "fuzz/fuzz_target.h"
#include "train/checkpoint.h"
#include "train/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return wiggle::fuzz::run(data, size, [](std::string_view bytes) {
        const wiggle::SafetensorsReader r =
            wiggle::SafetensorsReader::parse(std::string(bytes), "fuzz.safetensors");
        wiggle::read_checkpoint(r);
    });
}
