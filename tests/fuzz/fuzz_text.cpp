// libFuzzer: text files as the character models read them (UTF-8 decoding, the vocabulary, the
// split), and the same bytes through a trained BPE and back.
#include "data/text.h"
#include "fuzz/fuzz_target.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return wiggle::fuzz::run(data, size, [](std::string_view bytes) {
        static const wiggle::Tokenizer bpe = wiggle::Tokenizer::train(
            "to be or not to be, that is the question; 日本語 and émoji 🙂", 300,
            std::string(wiggle::kGpt4Pattern));
        const std::vector<int> ids = bpe.encode(bytes, wiggle::SpecialTokens::Text);
        if (bpe.decode(ids) != bytes) __builtin_trap();  // the round trip must be exact
        const std::u32string text = wiggle::decode_utf8(bytes, "fuzz.txt");
        const wiggle::CharVocab vocab = wiggle::CharVocab::of_text(text);
        vocab.encode(text, "fuzz.txt");
    });
}
