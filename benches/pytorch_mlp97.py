"""PyTorch reference for `grokscope bench` case mlp97, for side-by-side timing (not part of the tests).

The same model and step as grokscope's MLP: p = 97, a / b mod p, shared embedding 128 (a and b
concatenated), hidden 512 ReLU, read-out to 97 classes, full batch on floor(0.4 * 97 * 96) = 3724
examples, cross-entropy, AdamW (lr 1e-2, betas 0.9/0.98, wd 1). Two variants:
  naive:  embedding -> concat -> Linear -> ReLU -> Linear (how one writes it in PyTorch)
  lookup: the first layer applied to the p-row table once per step, then gathered (what grokscope does)
Prints one JSON line per variant: steps/s over about --secs seconds after a warm-up.
Run: python benches/pytorch_mlp97.py [--secs 5]
"""
import argparse, json, time
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--secs", type=float, default=5.0)
args = ap.parse_args()
torch.manual_seed(0)
p, e, h = 97, 128, 512
pairs = [(a, b) for a in range(p) for b in range(1, p)]
perm = torch.randperm(len(pairs))
n = int(0.4 * len(pairs))
idx = perm[:n]
A = torch.tensor([pairs[i][0] for i in idx])
B = torch.tensor([pairs[i][1] for i in idx])
Y = (A * torch.tensor([pow(int(b), p - 2, p) for b in B])) % p


class Mlp(torch.nn.Module):
    def __init__(self, lookup):
        super().__init__()
        self.lookup = lookup
        self.emb = torch.nn.Embedding(p, e)
        self.l1 = torch.nn.Linear(2 * e, h)
        self.l2 = torch.nn.Linear(h, p)

    def forward(self, a, b):
        if self.lookup:
            w = self.l1.weight  # [h, 2e]
            pa = self.emb.weight @ w[:, :e].T  # [p, h]
            pb = self.emb.weight @ w[:, e:].T
            z = pa[a] + pb[b] + self.l1.bias
        else:
            z = self.l1(torch.cat([self.emb(a), self.emb(b)], dim=1))
        return self.l2(torch.relu(z))


for lookup in (False, True):
    m = Mlp(lookup)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2, betas=(0.9, 0.98), weight_decay=1.0)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(m(A, B), Y)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < args.secs:
        step()
        steps += 1
    sps = steps / (time.perf_counter() - t0)
    print(json.dumps({"name": "pytorch_mlp97_" + ("lookup" if lookup else "naive"),
                      "steps_per_sec": round(sps, 3), "threads": torch.get_num_threads(),
                      "torch": torch.__version__}))
