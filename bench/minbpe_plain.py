"""minbpe's algorithm, written plainly in Python: the baseline wiggle's BPE is measured and checked
against (bench/bpe-vs-python, scripts/fixtures/bpe.py).

Training, as minbpe's BasicTokenizer (the whole text) and RegexTokenizer (the pieces of a split
pattern): each merge, count every adjacent pair (dict order: first occurrence first), take the
most frequent (max keeps the first of equal counts), replace it everywhere, left to right.
Encoding: repeatedly merge the present pair with the lowest merge rank.
reference: karpathy/minbpe base.py, basic.py, regex.py.
"""
import regex

GPT4_SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""


def get_stats(ids, counts=None):
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, idx):
    out, i = [], 0
    while i < len(ids):
        if ids[i] == pair[0] and i < len(ids) - 1 and ids[i + 1] == pair[1]:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train(text, vocab_size, pattern=None):
    """The merges [(left, right)] in order; token 256 + i is merge i."""
    chunks = regex.findall(pattern, text) if pattern else [text]
    ids = [list(c.encode("utf-8")) for c in chunks]
    merges = []
    for i in range(vocab_size - 256):
        stats = {}
        for chunk in ids:
            get_stats(chunk, stats)
        if not stats:
            break
        pair = max(stats, key=stats.get)
        ids = [merge(chunk, pair, 256 + i) for chunk in ids]
        merges.append(pair)
    return merges


def encode(text, merges, pattern=None):
    ranks = {pair: i for i, pair in enumerate(merges)}
    out = []
    for chunk in (regex.findall(pattern, text) if pattern else [text]):
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            stats = get_stats(ids)
            pair = min(stats, key=lambda p: ranks.get(p, float("inf")))
            if pair not in ranks:
                break
            ids = merge(ids, pair, 256 + ranks[pair])
        out.extend(ids)
    return out
