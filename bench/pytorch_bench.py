"""PyTorch side of bench/gpt-vs-pytorch: trains or samples bench/pytorch_gpt.py's nanoGPT model
the way `wiggle train` / `wiggle sample` do, and prints one JSON line of measurements.

  train:  nanoGPT's loop (random (B,T) batches, AdamW with decay on 2-D weights, cosine schedule
          with warmup, grad clip 1.0); reports ms/iteration and tokens/s of the training steps
          (evaluation excluded) and, with --eval-iters, the mean validation loss over that many
          random batches at the end (as `wiggle train` estimates it). --dtype bf16 runs the
          forward (and so the backward's matmuls) under torch.autocast("cpu", torch.bfloat16),
          PyTorch's mixed precision, as nanoGPT does with dtype='bfloat16'.
  sample: nanoGPT's generate (a full forward over the cropped context per token) from a wiggle
          checkpoint; reports tokens/s.

    /usr/bin/python3 bench/pytorch_bench.py train --preset baby --iters 200 --threads 1
    /usr/bin/python3 bench/pytorch_bench.py sample --checkpoint out/best.safetensors -n 500
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_gpt as pg  # noqa: E402

PRESETS = {
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.0,
                 iters=2000),
    "shakespeare-char": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64,
                             dropout=0.2, iters=5000),
}


def get_lr(it, lr, min_lr, warmup, decay_iters):
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup) / (decay_iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def train(args):
    p = dict(PRESETS[args.preset])
    B, T = p["batch_size"], p["block_size"]
    with open(args.data, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]

    def batch(split):
        d = train_data if split == "train" else val_data
        ix = torch.randint(len(d) - T, (B,))
        return (torch.stack([d[i:i + T] for i in ix]), torch.stack([d[i + 1:i + 1 + T] for i in ix]))

    torch.manual_seed(1337)
    config = pg.GPTConfig(block_size=T, vocab_size=len(chars), n_layer=p["n_layer"],
                          n_head=p["n_head"], n_embd=p["n_embd"], dropout=p["dropout"], bias=False)
    model = pg.GPT(config)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    decay_iters = p["iters"] if args.decay_iters is None else args.decay_iters
    model.train()

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bf16")

    step_s, losses = 0.0, []
    for it in range(args.iters):
        lr = get_lr(it, 1e-3, 1e-4, 100, decay_iters)
        for g in opt.param_groups:
            g["lr"] = lr
        t0 = time.perf_counter()
        x, y = batch("train")
        with autocast():
            _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lv = loss.item()
        dt = time.perf_counter() - t0
        if it >= args.skip:  # the first iterations warm up allocators and caches
            step_s += dt
        losses.append(lv)
    timed = args.iters - args.skip
    out = {"preset": args.preset, "dtype": args.dtype, "threads": torch.get_num_threads(),
           "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
           "iters": args.iters,
           "ms_per_iter": 1e3 * step_s / timed, "tokens_per_s": timed * B * T / step_s,
           "last_loss": losses[-1]}
    if args.eval_iters > 0:
        model.eval()
        with torch.no_grad(), autocast():
            out["val_loss"] = sum(model(*batch("val"))[1].item()
                                  for _ in range(args.eval_iters)) / args.eval_iters
    print(json.dumps(out), flush=True)


def sample(args):
    model, vocab = pg.load_safetensors(args.checkpoint)
    model.eval()
    torch.manual_seed(1337)
    idx = torch.tensor([[vocab.index("\n")]], dtype=torch.long)
    t0 = time.perf_counter()
    out = model.generate(idx, args.n)
    s = time.perf_counter() - t0
    print(json.dumps({"threads": torch.get_num_threads(), "tokens": args.n,
                      "seconds": s, "tokens_per_s": args.n / s,
                      "text": "".join(vocab[i] for i in out[0].tolist())[:80]}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--preset", default="baby", choices=sorted(PRESETS))
    t.add_argument("--iters", type=int, default=200)
    t.add_argument("--decay-iters", type=int, default=None, help="default: the preset's iters")
    t.add_argument("--skip", type=int, default=2, help="untimed warm-up iterations")
    t.add_argument("--eval-iters", type=int, default=0)
    t.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"],
                   help="bf16: torch.autocast on the CPU (mixed precision)")
    t.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "data", "tinyshakespeare.txt"))
    s = sub.add_parser("sample")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("-n", type=int, default=500)
    for q in (t, s):
        q.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    train(args) if args.cmd == "train" else sample(args)


if __name__ == "__main__":
    main()
