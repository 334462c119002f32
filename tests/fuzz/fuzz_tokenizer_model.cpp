// libFuzzer: tokenizer .model files (minbpe's and wiggle's formats), then encoding and decoding
// with what loads.
#include "fuzz/fuzz_target.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return wiggle::fuzz::run(data, size, [](std::string_view bytes) {
        const wiggle::Tokenizer t = wiggle::Tokenizer::parse_model(bytes, "fuzz.model");
        const std::string text = "Hello, wörld <|endoftext|> 123";
        const std::vector<int> ids = t.encode(text, wiggle::SpecialTokens::Text);
        if (t.decode(ids) != text) __builtin_trap();
        (void)t.model_text();
    });
}
