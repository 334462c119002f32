// Small made-up corpora for the ladder programs' tests: seeded, so every run trains on the same
// text, and tiny, so a program learns them in a blink.
#pragma once

#include <string>

#include "run_program.h"
#include "util/py_random.h"

namespace wiggle::testing {

// 2,000 words of a made-up language over 6 letters: each letter is followed by the next one, or
// the one after, with fixed odds (a first-order chain: the counting bigram is about the best
// model, ~1.39 nats on its dev split; ln 7 = 1.95 is guessing).
inline std::string word_chain_corpus() {
    PyRandom rng(5);
    const std::string letters = "abcdef";
    std::string out;
    for (int i = 0; i < 2000; ++i) {
        const int n = static_cast<int>(rng.randint(3, 8));
        std::string w(1, letters[rng.randbelow(6)]);
        const int steps[4] = {1, 1, 2, 3};
        while (static_cast<int>(w.size()) < n) {
            const size_t prev = letters.find(w.back());
            w += letters[(prev + steps[rng.randbelow(4)]) % 6];
        }
        out += w + "\n";
    }
    return out;
}

// Random sentences over ten words: ~30k characters, 14 symbols (11 letters, space, period,
// newline). Written to `file_name` in the temp folder; returns its path.
inline std::string sentence_corpus_file(const std::string& file_name) {
    const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "then", "ran", "home"};
    PyRandom rng(7);
    std::string text;
    while (text.size() < 30000) {
        const int n = static_cast<int>(rng.randint(3, 7));
        for (int i = 0; i < n; ++i) text += std::string(i ? " " : "") + words[rng.randbelow(10)];
        text += ".\n";
    }
    return write_temp_file(file_name, text);
}

}  // namespace wiggle::testing
