// Byte-pair encoding, byte-level (minbpe's and GPT-2's): a token is a string of bytes. The
// vocabulary starts with one token per byte and grows by merges, each joining two tokens into a new
// one; encoding applies the merges in the order they were learned (the lowest rank first, every
// occurrence left to right), so the same merges always give the same tokens.
//
//   Bpe bpe = Bpe::train(pieces, 512);        // 256 byte tokens + 256 merges (minbpe's train)
//   std::vector<int> ids;
//   bpe.encode("hello world", ids);
//   std::string bytes;
//   bpe.decode(ids, bytes);                   // "hello world"
//
// Training follows minbpe exactly, on "pieces" (the chunks a regex split the text into, or the
// whole text as one piece): each merge is the most frequent pair of adjacent tokens within the
// pieces, ties going to the pair that occurs first, and it gets the next free id. It counts the
// distinct pieces once each, weighted by how often they occur, and updates the pair counts at
// each merge instead of recounting, so it runs in seconds where minbpe takes hours; the merges
// are the same.
//
// Encoding keeps the adjacent pairs in a heap ordered by (merge rank, position): merging in that
// order is merging each rank everywhere, left to right, since a merge can only create pairs of
// later ranks. Not here: splitting text into pieces (split.h), special tokens, files (tokenizer.h).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wiggle {

class Bpe {
  public:
    struct Merge {
        int left, right, result;  // tokens left and right, side by side, become token result
    };

    // Every byte b is token b; no merges.
    Bpe();
    // Byte b is token byte_ids[b] (GPT-2 numbers them its own way); the merges in rank order.
    // Exits with an error naming `source` when the ids are out of range or a merge uses a token
    // that does not exist yet, or makes one twice.
    Bpe(const std::array<int, 256>& byte_ids, std::vector<Merge> merges, std::string_view source);

    // The number of ids: 1 + the largest token id.
    int vocab_size() const { return static_cast<int>(vocab_.size()); }
    // Whether id is a token (ids between the tokens may be unused: special tokens' places).
    bool has(int id) const { return id >= 0 && id < vocab_size() && defined_[id]; }
    const std::string& bytes_of(int id) const { return vocab_[id]; }
    const std::array<int, 256>& byte_ids() const { return byte_ids_; }
    const std::vector<Merge>& merges() const { return merges_; }

    // Appends the tokens of `bytes` to out: encode_plain for a short piece, encode_heap else.
    void encode(std::string_view bytes, std::vector<int>& out) const;
    // minbpe's encode, plainly: while some adjacent pair has a merge, merge the pair of the lowest
    // rank everywhere, left to right. O(n²) in the piece's length, with no allocation.
    void encode_plain(std::string_view bytes, std::vector<int>& out) const;
    // The same tokens in O(n log n): the pairs in a heap by (rank, position) (see above), for the
    // long pieces of a BPE without a split pattern.
    void encode_heap(std::string_view bytes, std::vector<int>& out) const;
    // The longest piece encode() gives to encode_plain.
    static constexpr size_t kPlainMax = 64;
    // Appends the bytes of tokens (which must all be tokens: has(id)).
    void decode(std::span<const int> ids, std::string& out) const;

    // Called after each merge: (merge index, the merge, its count).
    using Progress = std::function<void(int index, const Merge& merge, int64_t count)>;
    // minbpe's training on the pieces until the vocabulary has vocab_size tokens (fewer when no
    // pair is left to merge). The pieces are views into text the caller keeps.
    static Bpe train(std::span<const std::string_view> pieces, int vocab_size,
                     const Progress& progress = nullptr);

  private:
    void add_merge(const Merge& m, std::string_view source);
    static uint64_t key(int left, int right) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
               static_cast<uint32_t>(right);
    }
    // The rank of merging left and right, or −1.
    int rank_of(int left, int right) const;
    // Records rank for the pair `k`; false if the pair has one already.
    bool add_rank(uint64_t k, int rank);

    std::array<int, 256> byte_ids_{};
    std::vector<Merge> merges_;
    std::vector<std::string> vocab_;  // id → its bytes
    std::vector<uint8_t> defined_;    // id → 1 if it is a token
    // pair → rank: open addressing with linear probing, at most half full (encoding looks a pair
    // up for every adjacent pair of every new piece: a flat table, not a node per entry)
    static constexpr uint64_t kNoPair = ~uint64_t{0};
    std::vector<uint64_t> rank_keys_ = std::vector<uint64_t>(1024, kNoPair);
    std::vector<int> rank_values_ = std::vector<int>(1024, -1);
    size_t slot_of(uint64_t k) const {  // Fibonacci hashing onto the power-of-two table
        return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 32) & (rank_keys_.size() - 1);
    }
};

}  // namespace wiggle
