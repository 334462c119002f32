// The GPT's next_row for generate() (gpt_generate.h).
#include "nn/gpt_generate.h"

namespace wiggle {

NextRow<float> cached_next_row(GptDecoder& decoder) {
    return [&decoder, first = true](std::span<const int> tokens, int added) mutable {
        if (first) decoder.clear();
        first = false;
        return decoder.append(tokens.last(static_cast<size_t>(added)));
    };
}

NextRows<float> cached_next_rows(GptDecoder& decoder) {
    return [&decoder, first = true](std::span<const int> tokens, int) mutable {
        if (first) decoder.clear();
        first = false;
        return decoder.append(tokens);
    };
}

NextRow<float> recomputed_next_row(GptActivations& acts, const GptWeights& weights,
                                   ContextWindow window) {
    return [&acts, &weights, window, len = 0](std::span<const int> tokens, int added) mutable {
        len = window.after(len, added);  // the last len tokens: the decoder's window
        return gpt_next_logits(acts, weights, tokens.last(static_cast<size_t>(len)).data(), len);
    };
}

}  // namespace wiggle
