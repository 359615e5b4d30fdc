"""PyTorch reference for `grokscope bench` cases transformer97 and transformer_small (side-by-side timing,
not part of the tests).

The paper's transformer as grokscope defines it (spec section 1): tokens [a, OP, b, EQ], vocabulary p + 2,
token embedding (no learned positions), `depth` pre-norm blocks of causal self-attention (bias-free q, k, v,
o; rotary base 1e6, "rotate half") and SwiGLU W2(dropout(silu(W1 x) * W3 x)) with hidden 4d, RMSNorm
(eps 1e-5, learned scale), final RMSNorm, bias-free unembedding read at the last position; cross-entropy;
AdamW (lr 1e-3, betas 0.9/0.98, eps 1e-8, wd 1); minibatches of --batch from a / b mod p with half the pairs
training (a fresh permutation every epoch, as grokscope).
Two variants, printed as one JSON line each (steps/s over about --secs seconds after a warm-up):
  full: every block over all four positions (how one writes it in PyTorch)
  last: the final block computes its query, attention output and feed-forward for the last position only
        (what grokscope does; the same function)
Cases: --case transformer97 (p 97, d 128, depth 2, one head, dropout 0.2, batch 512) or
       --case transformer_small (p 47, d 16, ...); each size can be overridden.
Run:   python benches/pytorch_transformer.py --case transformer_small --threads 1 [--device cpu|cuda]
       [--secs 5] [--variant full|last|both]
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

CASES = {
    "transformer97": dict(p=97, d=128, depth=2, heads=1, dropout=0.2, batch=512),
    "transformer_small": dict(p=47, d=16, depth=2, heads=1, dropout=0.2, batch=512),
}

ap = argparse.ArgumentParser()
ap.add_argument("--case", choices=sorted(CASES), default="transformer97")
ap.add_argument("--p", type=int)
ap.add_argument("--d", type=int)
ap.add_argument("--depth", type=int)
ap.add_argument("--heads", type=int)
ap.add_argument("--dropout", type=float)
ap.add_argument("--batch", type=int)
ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: PyTorch's default)")
ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
ap.add_argument("--secs", type=float, default=5.0)
ap.add_argument("--variant", choices=["full", "last", "both"], default="both")
args = ap.parse_args()
cfg = dict(CASES[args.case])
for k in cfg:
    if getattr(args, k) is not None:
        cfg[k] = getattr(args, k)
if args.threads > 0:
    torch.set_num_threads(args.threads)
dev = torch.device(args.device)
p, d, depth, heads = cfg["p"], cfg["d"], cfg["depth"], cfg["heads"]
hd = d // heads
torch.manual_seed(0)

# data: a / b mod p (b != 0), half the pairs train
pairs = torch.tensor([(a, b) for a in range(p) for b in range(1, p)])
inv = torch.tensor([pow(int(b), p - 2, p) for b in pairs[:, 1]])
ys_all = (pairs[:, 0] * inv) % p
perm = torch.randperm(len(pairs))[: len(pairs) // 2]
seqs = torch.stack(
    [pairs[perm, 0], torch.full_like(perm, p), pairs[perm, 1], torch.full_like(perm, p + 1)], dim=1
).to(dev)
ys = ys_all[perm].to(dev)
n = len(perm)

# rotary tables [4, hd], halves repeated
inv_freq = 1e6 ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
ang = torch.arange(4, dtype=torch.float64)[:, None] * inv_freq[None, :]
COS = torch.cat([ang.cos(), ang.cos()], dim=1).float().to(dev)
SIN = torch.cat([ang.sin(), ang.sin()], dim=1).float().to(dev)


def rotary(x, pos):  # x [B, h, t, hd]
    x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
    return x * COS[pos] + torch.cat([-x2, x1], dim=-1) * SIN[pos]


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_norm = torch.nn.RMSNorm(d, eps=1e-5)
        self.q = torch.nn.Linear(d, d, bias=False)
        self.k = torch.nn.Linear(d, d, bias=False)
        self.v = torch.nn.Linear(d, d, bias=False)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.ffn_norm = torch.nn.RMSNorm(d, eps=1e-5)
        self.w1 = torch.nn.Linear(d, 4 * d, bias=False)
        self.w3 = torch.nn.Linear(d, 4 * d, bias=False)
        self.w2 = torch.nn.Linear(4 * d, d, bias=False)
        self.drop = torch.nn.Dropout(cfg["dropout"])

    def forward(self, x, last_only):
        b, t, _ = x.shape
        h = self.attn_norm(x)
        tq = 1 if last_only else t
        split = lambda y, L: y.view(b, L, heads, hd).transpose(1, 2)  # noqa: E731
        q = rotary(split(self.q(h[:, t - tq :]), tq), slice(t - tq, t))
        k = rotary(split(self.k(h), t), slice(0, t))
        v = split(self.v(h), t)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()[t - tq :]
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x[:, t - tq :] + self.o(ctx.transpose(1, 2).reshape(b, tq, d))
        h = self.ffn_norm(x)
        return x + self.w2(self.drop(F.silu(self.w1(h)) * self.w3(h)))


class Transformer(torch.nn.Module):
    def __init__(self, last_only):
        super().__init__()
        self.last_only = last_only
        self.embed = torch.nn.Embedding(p + 2, d)
        self.blocks = torch.nn.ModuleList([Block() for _ in range(depth)])
        self.final_norm = torch.nn.RMSNorm(d, eps=1e-5)
        self.unembed = torch.nn.Linear(d, p + 2, bias=False)

    def forward(self, s):
        x = self.embed(s)
        for i, blk in enumerate(self.blocks):
            x = blk(x, self.last_only and i + 1 == depth)
        return self.unembed(self.final_norm(x[:, -1]))


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


for variant in (["full", "last"] if args.variant == "both" else [args.variant]):
    m = Transformer(variant == "last").to(dev)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=1.0)
    batch = min(cfg["batch"], n)
    order, pos = torch.randperm(n, device=dev), 0

    def step():
        global order, pos
        if pos >= n:
            order, pos = torch.randperm(n, device=dev), 0
        idx = order[pos : pos + batch]
        pos += batch
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(seqs[idx]), ys[idx])
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    sync()
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < args.secs:
        step()
        steps += 1
    sync()
    sps = steps / (time.perf_counter() - t0)
    print(json.dumps({
        "name": f"pytorch_{args.case}_{variant}",
        "steps_per_sec": round(sps, 3),
        "threads": torch.get_num_threads(),
        "device": args.device,
        "torch": torch.__version__,
        **cfg,
    }), flush=True)
