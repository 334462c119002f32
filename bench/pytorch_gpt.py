"""A small reference GPT in PyTorch (nanoGPT's model.py, trimmed), the baseline `wiggle` is
compared with: the same architecture, state_dict names and shapes, init and optimizer groups.

- GELU is the exact erf form (nn.GELU()), like wiggle's kernel and nanoGPT's.
- Attention goes through torch's fused kernel when it has one: F.scaled_dot_product_attention
  (torch >= 2.0) or, in Debian's torch 1.13, torch.nn.functional._scaled_dot_product_attention
  (its private predecessor: returns (out, weights), takes need_attn_weights and is_causal).
  Otherwise the explicit masked softmax.
- lm_head.weight is tied to transformer.wte.weight.
- Checkpoints: save_safetensors / load_safetensors read and write wiggle's format
  (safetensors with the config and vocabulary in __metadata__) without the safetensors package.

Used by bench/gpt-vs-pytorch, tests/pytorch_roundtrip.py and scripts/fixtures/gpt_checkpoint.py.
reference: karpathy/nanoGPT model.py.
"""
import json
import math
import struct
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


def _fused_attention():
    if hasattr(F, "scaled_dot_product_attention"):
        return lambda q, k, v, p: F.scaled_dot_product_attention(q, k, v, dropout_p=p,
                                                                 is_causal=True)
    if hasattr(F, "_scaled_dot_product_attention"):  # torch 1.13
        return lambda q, k, v, p: F._scaled_dot_product_attention(
            q, k, v, None, p, need_attn_weights=False, is_causal=True)[0]
    return None


FUSED_ATTENTION = _fused_attention()


@dataclass
class GPTConfig:
    block_size: int = 64
    vocab_size: int = 65
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False


class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config, fused=True):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.fused = fused and FUSED_ATTENTION is not None
        if not self.fused:
            mask = torch.tril(torch.ones(config.block_size, config.block_size))
            # not a parameter: kept out of the state_dict (wiggle ignores it anyway)
            self.register_buffer("mask", mask.view(1, 1, config.block_size, config.block_size),
                                 persistent=False)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.fused:
            y = FUSED_ATTENTION(q, k, v, self.dropout if self.training else 0.0)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()  # exact erf form
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config, fused=True):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config, fused)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config, fused=True):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config, fused) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        nodecay = [p for p in params if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": nodecay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """nanoGPT's generate: a full forward over the (cropped) context for every token."""
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size else \
                idx[:, -self.config.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
            probs = F.softmax(logits, dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx


# ---- wiggle checkpoints (safetensors) ---------------------------------------------------------

_DTYPE_NAMES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
                torch.bfloat16: "BF16", torch.int32: "I32", torch.int64: "I64"}
_NAME_DTYPES = {v: k for k, v in _DTYPE_NAMES.items()}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = (t.view(torch.int16) if t.dtype in (torch.float16, torch.bfloat16) else t)
        raw = raw.numpy().tobytes()
        header[name] = {"dtype": _DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dtype = _NAME_DTYPES[e["dtype"]]
        raw = bytearray(data[base + b:base + end])
        if dtype in (torch.float16, torch.bfloat16):
            t = torch.frombuffer(raw, dtype=torch.int16).view(dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype)
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, metadata


def save_safetensors(model, vocab, path):
    """Writes `model` as a wiggle checkpoint: the state_dict (lm_head.weight included, as a copy)
    and the config and vocabulary (a string of the characters in token order) as metadata."""
    c = model.config
    meta = {"format": "wiggle-gpt", "n_layer": c.n_layer, "n_head": c.n_head,
            "n_embd": c.n_embd, "block_size": c.block_size, "vocab_size": c.vocab_size,
            "bias": "true" if c.bias else "false", "dropout": c.dropout, "vocab": vocab}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    write_safetensors(path, state, meta)


def load_safetensors(path):
    """Reads a wiggle checkpoint; returns (model, vocab)."""
    tensors, meta = read_safetensors(path)
    config = GPTConfig(block_size=int(meta["block_size"]), vocab_size=int(meta["vocab_size"]),
                       n_layer=int(meta["n_layer"]), n_head=int(meta["n_head"]),
                       n_embd=int(meta["n_embd"]), dropout=float(meta.get("dropout", 0.0)),
                       bias=meta.get("bias", "false") == "true")
    model = GPT(config)
    if "lm_head.weight" not in tensors:
        tensors["lm_head.weight"] = tensors["transformer.wte.weight"]
    model.load_state_dict(tensors, strict=True)
    return model, meta["vocab"]
