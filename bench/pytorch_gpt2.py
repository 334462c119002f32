"""PyTorch side of bench/gpt2-vs-pytorch: a GPT-2 of any size in Hugging Face's file layout,
written at random, sampled with a KV cache and fine-tuned, each printing one JSON line.

  write:  a randomly initialised GPT-2 (GPT-2's init: normal(0, 0.02), the residual projections
          c_proj at 0.02 / sqrt(2 n_layer), LayerNorms 1 and 0, biases 0) written as
          transformers' save_pretrained writes GPT2LMHeadModel: model.safetensors with
          "transformer.h.0.attn.c_attn.weight" etc., Conv1D weights (in, out), metadata
          {"format": "pt"}, the tied lm_head left out; no config.json (the shapes say it all)
  sample: greedy (or seeded) decoding of N tokens after a prompt of token ids, with a KV cache:
          one forward over the prompt, then one token at a time against the cached keys and
          values (transformers' GPT2 with use_cache, written out); fp32 or bf16 (weights and
          arithmetic). Reports tokens/s over the prompt and the N tokens (as `wiggle sample
          --stats` times them) and the tokens drawn.
  train:  fine-tuning steps on random (B, T) windows of a token file (AdamW with decay on 2-D
          weights, betas (0.9, 0.99), clip 1.0, as `wiggle train`); reports ms per step, the
          warm-up steps left out.

The model is bench/pytorch_gpt.py's nanoGPT GPT (fused attention, tied lm_head) with GELU's
tanh form and biases, its weights loaded from the file by transposing the Conv1D weights, as
nanoGPT's GPT.from_pretrained does.

    /usr/bin/python3 bench/pytorch_gpt2.py write --out /tmp/gpt2/model.safetensors
    /usr/bin/python3 bench/pytorch_gpt2.py sample -m /tmp/gpt2/model.safetensors \\
        --prompt-ids "5962 22307 25" -n 128 --dtype bf16 --threads 1
    /usr/bin/python3 bench/pytorch_gpt2.py train -m /tmp/gpt2/model.safetensors \\
        --tokens ids.txt --batch-size 4 --block-size 64 --iters 10 --skip 2
reference: huggingface/transformers models/gpt2/modeling_gpt2.py; karpathy/nanoGPT model.py.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_gpt as pg  # noqa: E402

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
SIZES = {"124M": (12, 12, 768), "350M": (24, 16, 1024), "774M": (36, 20, 1280),
         "1558M": (48, 25, 1600)}


def hf_weights(n_layer, n_embd, vocab, positions, seed):
    """A random GPT-2 in Hugging Face's names and shapes (float32)."""
    g = torch.Generator().manual_seed(seed)
    C = n_embd

    def normal(*shape, std=0.02):
        return torch.empty(*shape).normal_(0.0, std, generator=g)

    w = {"transformer.wte.weight": normal(vocab, C), "transformer.wpe.weight": normal(positions, C)}
    proj_std = 0.02 / math.sqrt(2 * n_layer)
    for l in range(n_layer):
        h = f"transformer.h.{l}."
        w[h + "ln_1.weight"], w[h + "ln_1.bias"] = torch.ones(C), torch.zeros(C)
        w[h + "attn.c_attn.weight"], w[h + "attn.c_attn.bias"] = normal(C, 3 * C), torch.zeros(3 * C)
        w[h + "attn.c_proj.weight"] = normal(C, C, std=proj_std)
        w[h + "attn.c_proj.bias"] = torch.zeros(C)
        w[h + "ln_2.weight"], w[h + "ln_2.bias"] = torch.ones(C), torch.zeros(C)
        w[h + "mlp.c_fc.weight"], w[h + "mlp.c_fc.bias"] = normal(C, 4 * C), torch.zeros(4 * C)
        w[h + "mlp.c_proj.weight"] = normal(4 * C, C, std=proj_std)
        w[h + "mlp.c_proj.bias"] = torch.zeros(C)
    w["transformer.ln_f.weight"], w["transformer.ln_f.bias"] = torch.ones(C), torch.zeros(C)
    return w


def load_model(path):
    """bench/pytorch_gpt.py's GPT with GPT-2's GELU, from a Hugging Face GPT-2 file."""
    tensors, _ = pg.read_safetensors(path)
    tensors = {(k if k.startswith("transformer.") or k == "lm_head.weight" else "transformer." + k): v
               for k, v in tensors.items() if not k.endswith((".attn.bias", ".attn.masked_bias"))}
    wte = tensors["transformer.wte.weight"]
    n_layer = 1 + max(int(k.split(".")[2]) for k in tensors if k.startswith("transformer.h."))
    n_embd = wte.shape[1]
    n_head = n_embd // 64  # every GPT-2 size has heads of 64 channels
    config = pg.GPTConfig(block_size=tensors["transformer.wpe.weight"].shape[0],
                          vocab_size=wte.shape[0], n_layer=n_layer, n_head=n_head, n_embd=n_embd,
                          dropout=0.0, bias=True)
    model = pg.GPT(config)
    for block in model.transformer.h:
        block.mlp.gelu = nn.GELU(approximate="tanh")  # gelu_new
    state = {k: (v.t().contiguous() if k.endswith(CONV1D) else v) for k, v in tensors.items()}
    state.setdefault("lm_head.weight", wte)
    model.load_state_dict(state, strict=True)
    return model


def write(args):
    n_layer, _, n_embd = SIZES[args.size]
    t0 = time.perf_counter()
    w = hf_weights(n_layer, n_embd, args.vocab, args.positions, args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    pg.write_safetensors(args.out, w, {"format": "pt"})
    n = sum(t.numel() for t in w.values())
    print(json.dumps({"path": args.out, "parameters": n, "seconds": time.perf_counter() - t0}),
          flush=True)


class Decoder:
    """GPT-2 with a KV cache over bench/pytorch_gpt.py's modules: keys and values of every
    position so far, preallocated for the whole block."""

    def __init__(self, model, dtype, matvec):
        self.m = model.to(dtype).eval()
        # One token's projections are matrix-vector products. In float32, torch.addmv (BLAS
        # sgemv) streams the weights about twice as fast as F.linear (an sgemm with one row, in
        # OpenBLAS 0.3.21); in bfloat16 F.linear (oneDNN) is the faster. "auto" takes the faster.
        self.mv = matvec == "addmv" or (matvec == "auto" and dtype == torch.float32)
        c = model.config
        self.H, self.hs = c.n_head, c.n_embd // c.n_head
        shape = (c.n_layer, 1, self.H, c.block_size, self.hs)
        self.k, self.v = torch.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)
        self.pos = 0

    def linear(self, layer, x):
        if not self.mv or x.shape[1] != 1:
            return layer(x)
        if layer.bias is None:
            return torch.mv(layer.weight, x.view(-1)).view(1, 1, -1)
        return torch.addmv(layer.bias, layer.weight, x.view(-1)).view(1, 1, -1)

    def mlp(self, mlp, x):
        return self.linear(mlp.c_proj, mlp.gelu(self.linear(mlp.c_fc, x)))

    @torch.inference_mode()
    def forward(self, idx):
        """Logits (V,) of the last of the tokens idx (1, T), their keys and values cached."""
        m, T, p = self.m.transformer, idx.shape[1], self.pos
        C = self.H * self.hs
        x = m.wte(idx) + m.wpe(torch.arange(p, p + T))
        for l, block in enumerate(m.h):
            q, k, v = self.linear(block.attn.c_attn, block.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(1, T, self.H, self.hs).transpose(1, 2) for t in (q, k, v))
            self.k[l, :, :, p:p + T] = k
            self.v[l, :, :, p:p + T] = v
            K, V = self.k[l, :, :, :p + T], self.v[l, :, :, :p + T]
            if T > 1:  # the prompt: causal among itself (the cache was empty)
                assert p == 0
                y = pg.FUSED_ATTENTION(q, K, V, 0.0) if pg.FUSED_ATTENTION else \
                    F.softmax((q @ K.transpose(-2, -1)).masked_fill(
                        ~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
                        / math.sqrt(self.hs), dim=-1) @ V
            else:  # one new token attends to every cached position
                y = F.softmax((q @ K.transpose(-2, -1)) / math.sqrt(self.hs), dim=-1) @ V
            x = x + self.linear(block.attn.c_proj, y.transpose(1, 2).reshape(1, T, C))
            x = x + self.mlp(block.mlp, block.ln_2(x))
        self.pos += T
        return self.linear(self.m.lm_head, m.ln_f(x[:, -1:])).view(-1)


def sample(args):
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    model = load_model(args.model)
    dec = Decoder(model, dtype, args.matvec)
    prompt = [int(t) for t in args.prompt_ids.split()]
    assert len(prompt) + args.n <= model.config.block_size, "prompt and tokens exceed the block"
    gen = torch.Generator().manual_seed(args.seed)
    out = []
    t0 = time.perf_counter()
    logits = dec.forward(torch.tensor([prompt]))
    for i in range(args.n):
        if args.temperature == 0:
            tok = int(torch.argmax(logits))
        else:
            probs = F.softmax(logits.float() / args.temperature, dim=-1)
            tok = int(torch.multinomial(probs, 1, generator=gen))
        out.append(tok)
        if i + 1 < args.n:
            logits = dec.forward(torch.tensor([[tok]]))
    s = time.perf_counter() - t0
    print(json.dumps({"threads": torch.get_num_threads(), "dtype": args.dtype,
                      "matvec": "addmv" if dec.mv else "linear", "tokens": args.n,
                      "seconds": s, "tokens_per_s": args.n / s, "ids": out}), flush=True)


def train(args):
    with open(args.tokens) as f:
        data = torch.tensor([int(t) for t in f.read().split()], dtype=torch.long)
    data = data[:int(0.9 * len(data))]  # the training split, as wiggle's
    B, T = args.batch_size, args.block_size
    torch.manual_seed(args.seed)
    model = load_model(args.model)
    # crop the context to the run's block (nanoGPT's crop_block_size)
    model.transformer.wpe.weight = nn.Parameter(model.transformer.wpe.weight[:T].clone())
    model.config.block_size = T
    opt = model.configure_optimizers(args.weight_decay, args.lr, (0.9, 0.99))
    model.train()
    times, losses = [], []
    for it in range(args.iters):
        t0 = time.perf_counter()
        ix = torch.randint(len(data) - T, (B,))
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + T] for i in ix])
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    timed = times[args.skip:]
    print(json.dumps({"threads": torch.get_num_threads(), "iters": args.iters, "skip": args.skip,
                      "ms_per_iter": 1e3 * sum(timed) / len(timed),
                      "ms": [round(1e3 * t, 1) for t in times],
                      "tokens_per_s": len(timed) * B * T / sum(timed), "losses": losses}),
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--out", required=True)
    w.add_argument("--size", default="124M", choices=sorted(SIZES))
    w.add_argument("--vocab", type=int, default=50257)
    w.add_argument("--positions", type=int, default=1024)
    w.add_argument("--seed", type=int, default=124)
    s = sub.add_parser("sample")
    s.add_argument("-n", type=int, default=128)
    s.add_argument("--prompt-ids", required=True, help="the prompt's token ids, space-separated")
    s.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"))
    s.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--matvec", default="auto", choices=("auto", "addmv", "linear"),
                   help="one token's projections: torch.addmv or F.linear (auto: the faster for "
                        "the dtype)")
    t = sub.add_parser("train")
    t.add_argument("--tokens", required=True, help="a file of token ids (wiggle tokenizer encode)")
    t.add_argument("--batch-size", type=int, default=4)
    t.add_argument("--block-size", type=int, default=64)
    t.add_argument("--iters", type=int, default=10)
    t.add_argument("--skip", type=int, default=2, help="untimed warm-up iterations")
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--weight-decay", type=float, default=0.1)
    t.add_argument("--seed", type=int, default=1337)
    for q in (s, t):
        q.add_argument("--model", "-m", required=True, help="model.safetensors (HF GPT-2)")
        q.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.cmd == "write":
        return write(args)
    torch.set_num_threads(args.threads)
    sample(args) if args.cmd == "sample" else train(args)


if __name__ == "__main__":
    main()
