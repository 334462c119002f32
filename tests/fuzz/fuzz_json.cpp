// libFuzzer: the JSON reader (safetensors headers, GPT-2's encoder.json).
#include "fuzz/fuzz_target.h"
#include "util/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return wiggle::fuzz::run(data, size, [](std::string_view bytes) {
        const wiggle::JsonParse p = wiggle::parse_json(bytes);
        if (p.value) {  // and every accessor on what it made
            for (const auto& [key, v] : p.value->members) {
                (void)v.as_int();
                (void)v.as_double();
                (void)p.value->find(key);
            }
            for (const wiggle::Json& v : p.value->items) (void)v.as_int();
        }
    });
}
