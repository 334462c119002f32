// `wiggle tokenizer`: the subcommand's flags and its runner (tokenizer_command.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace wiggle {

struct TokenizerArgs {
    std::string data, out, pattern = "gpt4", tokenizer, file, special = "refuse";
    int vocab_size = 512;
    bool verbose = false, stats = false, offsets = false;
    std::vector<std::string> specials, words;
};

CLI::App* add_tokenizer_command(CLI::App& app, TokenizerArgs& args);
int run_tokenizer(CLI::App* cmd, const TokenizerArgs& args);

}  // namespace wiggle
