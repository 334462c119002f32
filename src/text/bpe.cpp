// Byte-pair encoding (bpe.h). reference: minbpe (karpathy/minbpe) base.py, basic.py, regex.py;
// GPT-2's encoder.py bpe().
#include "text/bpe.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "util/check.h"

namespace wiggle {

Bpe::Bpe() {
    for (int b = 0; b < 256; ++b) byte_ids_[b] = b;
    vocab_.resize(256);
    defined_.assign(256, 1);
    for (int b = 0; b < 256; ++b) vocab_[b] = std::string(1, static_cast<char>(b));
}

Bpe::Bpe(const std::array<int, 256>& byte_ids, std::vector<Merge> merges, std::string_view source)
    : byte_ids_(byte_ids) {
    constexpr int kMaxId = 1 << 24;
    for (int b = 0; b < 256; ++b) {
        const int id = byte_ids[b];
        WIGGLE_CHECK(id >= 0 && id < kMaxId, "", "{}: byte {} has token id {}, out of [0, {})",
                     source, b, id, kMaxId);
        if (id >= vocab_size()) {
            vocab_.resize(static_cast<size_t>(id) + 1);
            defined_.resize(static_cast<size_t>(id) + 1, 0);
        }
        WIGGLE_CHECK(!defined_[id], "", "{}: bytes {} and another share token id {}", source, b,
                     id);
        vocab_[id] = std::string(1, static_cast<char>(b));
        defined_[id] = 1;
    }
    merges_.reserve(merges.size());
    for (const Merge& m : merges) add_merge(m, source);
}

void Bpe::add_merge(const Merge& m, std::string_view source) {
    constexpr int kMaxId = 1 << 24;
    WIGGLE_CHECK(has(m.left) && has(m.right), "",
                 "{}: merge {} joins tokens {} and {}, not both defined", source, merges_.size(),
                 m.left, m.right);
    WIGGLE_CHECK(m.result >= 0 && m.result < kMaxId && !has(m.result), "",
                 "{}: merge {} makes token {}, which is out of range or already exists", source,
                 merges_.size(), m.result);
    WIGGLE_CHECK(add_rank(key(m.left, m.right), static_cast<int>(merges_.size())), "",
                 "{}: merge {} joins tokens {} and {} again", source, merges_.size(), m.left,
                 m.right);
    if (m.result >= vocab_size()) {
        vocab_.resize(static_cast<size_t>(m.result) + 1);
        defined_.resize(static_cast<size_t>(m.result) + 1, 0);
    }
    vocab_[m.result] = vocab_[m.left] + vocab_[m.right];
    defined_[m.result] = 1;
    merges_.push_back(m);
}

int Bpe::rank_of(int left, int right) const {
    const uint64_t k = key(left, right);
    for (size_t s = slot_of(k);; s = (s + 1) & (rank_keys_.size() - 1)) {
        if (rank_keys_[s] == k) return rank_values_[s];
        if (rank_keys_[s] == kNoPair) return -1;
    }
}

bool Bpe::add_rank(uint64_t k, int rank) {
    if (2 * (merges_.size() + 1) > rank_keys_.size()) {  // grow to keep it at most half full
        std::vector<uint64_t> keys(2 * rank_keys_.size(), kNoPair);
        std::vector<int> values(keys.size(), -1);
        std::swap(keys, rank_keys_);
        std::swap(values, rank_values_);
        for (size_t i = 0; i < keys.size(); ++i) {
            if (keys[i] != kNoPair) add_rank(keys[i], values[i]);
        }
    }
    size_t s = slot_of(k);
    for (; rank_keys_[s] != kNoPair; s = (s + 1) & (rank_keys_.size() - 1)) {
        if (rank_keys_[s] == k) return false;
    }
    rank_keys_[s] = k;
    rank_values_[s] = rank;
    return true;
}

// ---- Encoding -----------------------------------------------------------------------------------

void Bpe::encode(std::string_view bytes, std::vector<int>& out) const {
    if (bytes.size() <= kPlainMax) {
        encode_plain(bytes, out);
    } else {
        encode_heap(bytes, out);
    }
}

void Bpe::encode_plain(std::string_view bytes, std::vector<int>& out) const {
    assert(bytes.size() <= kPlainMax);
    std::array<int, kPlainMax> ids;
    int n = static_cast<int>(bytes.size());
    for (int i = 0; i < n; ++i) ids[i] = byte_ids_[static_cast<uint8_t>(bytes[i])];
    while (n >= 2) {
        int best = -1;  // the lowest rank among the adjacent pairs
        for (int i = 0; i + 1 < n; ++i) {
            const int r = rank_of(ids[i], ids[i + 1]);
            if (r >= 0 && (best < 0 || r < best)) best = r;
        }
        if (best < 0) break;
        const Merge& m = merges_[best];
        int kept = 0;
        for (int i = 0; i < n; ++i) {
            const bool pair = i + 1 < n && ids[i] == m.left && ids[i + 1] == m.right;
            ids[kept++] = pair ? m.result : ids[i];
            i += pair;
        }
        n = kept;
    }
    out.insert(out.end(), ids.begin(), ids.begin() + n);
}

void Bpe::encode_heap(std::string_view bytes, std::vector<int>& out) const {
    const int n = static_cast<int>(bytes.size());
    if (n == 0) return;
    std::vector<int> ids(n), next(n), prev(n);
    for (int i = 0; i < n; ++i) {
        ids[i] = byte_ids_[static_cast<uint8_t>(bytes[i])];
        next[i] = i + 1 < n ? i + 1 : -1;
        prev[i] = i - 1;
    }
    // (rank, position) of every adjacent pair with a merge, lowest first
    using Entry = std::pair<int, int>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    for (int i = 0; i + 1 < n; ++i) {
        if (const int r = rank_of(ids[i], ids[i + 1]); r >= 0) heap.emplace(r, i);
    }
    std::vector<uint8_t> dead(n, 0);
    while (!heap.empty()) {
        const auto [rank, i] = heap.top();
        heap.pop();
        // stale entries: a token merged away, or a pair that changed since it was pushed
        if (dead[i] || next[i] < 0 || rank_of(ids[i], ids[next[i]]) != rank) continue;
        const int j = next[i];
        ids[i] = merges_[rank].result;
        dead[j] = 1;
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        if (prev[i] >= 0) {
            if (const int r = rank_of(ids[prev[i]], ids[i]); r >= 0) heap.emplace(r, prev[i]);
        }
        if (next[i] >= 0) {
            if (const int r = rank_of(ids[i], ids[next[i]]); r >= 0) heap.emplace(r, i);
        }
    }
    for (int i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

void Bpe::decode(std::span<const int> ids, std::string& out) const {
    for (int id : ids) out += vocab_[id];
}

// ---- Training -----------------------------------------------------------------------------------

namespace {

// A distinct piece: its tokens so far and how many times it occurs.
struct Word {
    std::vector<int> ids;
    int64_t count;
};

}  // namespace

Bpe Bpe::train(std::span<const std::string_view> pieces, int vocab_size, const Progress& progress) {
    WIGGLE_CHECK(vocab_size >= 256, "a byte-level vocabulary has at least the 256 bytes",
                 "vocabulary size {} is below 256", vocab_size);
    // The distinct pieces in order of first appearance, with their counts: the pair counts and
    // which pair occurs first are those of the whole sequence of pieces.
    std::vector<Word> words;
    {
        std::unordered_map<std::string_view, size_t> index;
        for (std::string_view p : pieces) {
            const auto [it, added] = index.emplace(p, words.size());
            if (added) {
                Word w{std::vector<int>(p.size()), 0};
                for (size_t i = 0; i < p.size(); ++i) w.ids[i] = static_cast<uint8_t>(p[i]);
                words.push_back(std::move(w));
            }
            ++words[it->second].count;
        }
    }
    std::unordered_map<uint64_t, int64_t> counts;
    // (count, pair) entries, the largest count on top; an entry is current when its count is the
    // pair's count now (updates push new entries, so old ones go stale)
    using Entry = std::pair<int64_t, uint64_t>;
    std::priority_queue<Entry> heap;
    for (const Word& w : words) {
        for (size_t i = 0; i + 1 < w.ids.size(); ++i)
            counts[key(w.ids[i], w.ids[i + 1])] += w.count;
    }
    for (const auto& [pair, count] : counts) heap.emplace(count, pair);
    auto change = [&](int left, int right, int64_t by) {
        const uint64_t k = key(left, right);
        const int64_t now = counts[k] += by;
        if (now > 0) {
            heap.emplace(now, k);
        } else {
            counts.erase(k);
        }
    };
    auto current = [&](const Entry& e) {
        const auto it = counts.find(e.second);
        return it != counts.end() && it->second == e.first;
    };

    Bpe bpe;
    std::vector<uint64_t> tied;
    for (int id = 256; id < vocab_size; ++id) {
        while (!heap.empty() && !current(heap.top())) heap.pop();
        if (heap.empty()) break;  // every piece is one token
        // every current pair with the largest count
        const int64_t best = heap.top().first;
        tied.clear();
        while (!heap.empty() && heap.top().first == best) {
            if (current(heap.top())) tied.push_back(heap.top().second);
            heap.pop();
        }
        std::sort(tied.begin(), tied.end());  // a pair may have been pushed more than once
        tied.erase(std::unique(tied.begin(), tied.end()), tied.end());
        uint64_t pair = tied[0];
        if (tied.size() > 1) {  // the one that occurs first (minbpe: dict order, max keeps first)
            const std::unordered_set<uint64_t> candidates(tied.begin(), tied.end());
            bool found = false;
            for (size_t w = 0; w < words.size() && !found; ++w) {
                const std::vector<int>& ids = words[w].ids;
                for (size_t i = 0; i + 1 < ids.size(); ++i) {
                    if (candidates.count(key(ids[i], ids[i + 1]))) {
                        pair = key(ids[i], ids[i + 1]);
                        found = true;
                        break;
                    }
                }
            }
        }
        for (uint64_t t : tied) {  // the others stay in the running
            if (t != pair) heap.emplace(best, t);
        }
        const Merge m{static_cast<int>(pair >> 32), static_cast<int>(pair & 0xFFFFFFFFu), id};
        // replace every occurrence, left to right, updating the counts around each
        for (Word& w : words) {
            std::vector<int>& ids = w.ids;
            size_t out = 0;
            for (size_t i = 0; i < ids.size();) {
                if (i + 1 < ids.size() && ids[i] == m.left && ids[i + 1] == m.right) {
                    if (out > 0) {
                        change(ids[out - 1], m.left, -w.count);
                        change(ids[out - 1], id, w.count);
                    }
                    if (i + 2 < ids.size()) {
                        change(m.right, ids[i + 2], -w.count);
                        change(id, ids[i + 2], w.count);
                    }
                    change(m.left, m.right, -w.count);
                    ids[out++] = id;
                    i += 2;
                } else {
                    ids[out++] = ids[i++];
                }
            }
            ids.resize(out);
        }
        bpe.add_merge(m, "training");
        if (progress) progress(id - 256, m, best);
    }
    return bpe;
}

}  // namespace wiggle
