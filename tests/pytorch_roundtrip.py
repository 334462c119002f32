"""Round trip of GPT checkpoints between wiggle and PyTorch (run by hand, not in CI):

  1. `wiggle train` a small model on tinyshakespeare (or use --checkpoint);
  2. load its model.safetensors into bench/pytorch_gpt.py's nanoGPT model (strict load_state_dict)
     and check PyTorch's validation loss equals `wiggle eval`'s, and PyTorch's greedy text equals
     `wiggle sample --temperature 0 --exact`'s (nanoGPT's crop past the block);
  3. train the model a few AdamW steps further in PyTorch, write it back with PyTorch
     (no wiggle checksum), and check `wiggle eval` gives PyTorch's loss on it and
     `wiggle sample` reads it.

    /usr/bin/python3 tests/pytorch_roundtrip.py [--wiggle build/bin/wiggle] [--checkpoint FILE]

Exits non-zero on any mismatch. Needs Debian's python3-torch (no safetensors package needed).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import pytorch_gpt as pg  # noqa: E402


def run(cmd):
    print("$", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out.stdout


def split_tokens(text, vocab, split):
    stoi = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return data[n:] if split == "val" else data[:n]


@torch.no_grad()
def window_loss(model, seq, block):
    """The loss `wiggle eval` computes: non-overlapping windows, every character predicted once."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(seq) - 1, block):
        x = seq[start:start + block]
        y = seq[start + 1:start + 1 + block]
        x = x[:len(y)]
        _, loss = model(x[None], y[None])
        total += loss.item() * len(y)
        count += len(y)
    return total / count


@torch.no_grad()
def greedy(model, vocab, prompt, n):
    stoi = {c: i for i, c in enumerate(vocab)}
    idx = torch.tensor([[stoi[c] for c in prompt]], dtype=torch.long)
    model.eval()
    for _ in range(n):
        logits, _ = model(idx[:, -model.config.block_size:])
        idx = torch.cat((idx, logits[:, -1, :].argmax(-1, keepdim=True)), dim=1)
    return "".join(vocab[i] for i in idx[0].tolist())


def wiggle_eval(wiggle, ckpt, data):
    out = run([wiggle, "eval", "--checkpoint", ckpt, "--data", data, "--split", "val"])
    return float(out.split()[2])


def check(name, ok, detail):
    print(("ok   " if ok else "FAIL ") + name + ": " + detail, flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wiggle", default=os.path.join(ROOT, "build", "bin", "wiggle"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "tinyshakespeare.txt"))
    ap.add_argument("--checkpoint", help="a wiggle model.safetensors (default: train one)")
    args = ap.parse_args()
    torch.manual_seed(0)
    work = tempfile.mkdtemp(prefix="wiggle-roundtrip-")
    ckpt = args.checkpoint
    if ckpt is None:
        run([args.wiggle, "train", "--data", args.data, "--out", work, "--n-layer", "2",
             "--n-head", "2", "--n-embd", "64", "--block-size", "32", "--batch-size", "8",
             "--iters", "60", "--eval-interval", "60", "--eval-iters", "5", "--bias",
             "--progress", "quiet"])
        ckpt = os.path.join(work, "model.safetensors")
    with open(args.data, encoding="utf-8") as f:
        text = f.read()
    ok = True

    # wiggle -> PyTorch
    model, vocab = pg.load_safetensors(ckpt)
    val = split_tokens(text, vocab, "val")
    torch_loss = window_loss(model, val, model.config.block_size)
    wiggle_loss = wiggle_eval(args.wiggle, ckpt, args.data)
    ok &= check("wiggle checkpoint in PyTorch: val loss", abs(torch_loss - wiggle_loss) < 2e-4,
                f"PyTorch {torch_loss:.6f}, wiggle eval {wiggle_loss:.6f}")
    prompt = "ROMEO:"
    torch_text = greedy(model, vocab, prompt, 80)
    wiggle_text = run([args.wiggle, "sample", "--checkpoint", ckpt, "--prompt", prompt,
                       "--temperature", "0", "--exact", "-n", "80"])[:-1]
    ok &= check("greedy text", torch_text == wiggle_text,
                f"PyTorch {torch_text!r} / wiggle {wiggle_text!r}")

    # PyTorch -> wiggle: a few more steps in PyTorch, then written by PyTorch.
    model.train()
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    train = split_tokens(text, vocab, "train")
    T = model.config.block_size
    for _ in range(20):
        ix = torch.randint(len(train) - T, (8,))
        x = torch.stack([train[i:i + T] for i in ix])
        y = torch.stack([train[i + 1:i + 1 + T] for i in ix])
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    back = os.path.join(work, "from_torch.safetensors")
    pg.save_safetensors(model, vocab, back)
    torch_loss = window_loss(model, val, T)
    wiggle_loss = wiggle_eval(args.wiggle, back, args.data)
    ok &= check("PyTorch checkpoint in wiggle: val loss", abs(torch_loss - wiggle_loss) < 2e-4,
                f"PyTorch {torch_loss:.6f}, wiggle eval {wiggle_loss:.6f}")
    torch_text = greedy(model, vocab, prompt, 80)
    wiggle_text = run([args.wiggle, "sample", "--checkpoint", back, "--prompt", prompt,
                       "--temperature", "0", "--exact", "-n", "80"])[:-1]
    ok &= check("greedy text from the PyTorch file", torch_text == wiggle_text,
                f"PyTorch {torch_text!r} / wiggle {wiggle_text!r}")
    sample = run([args.wiggle, "sample", "--checkpoint", back, "-n", "200", "--seed", "1"])
    ok &= check("wiggle sample from the PyTorch file", len(sample) >= 200, repr(sample[:60]))
    print("round trip " + ("passed" if ok else "FAILED") + f" (files in {work})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
