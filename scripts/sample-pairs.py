#!/usr/bin/env python3
"""Usage: sample-pairs.py SEED OUT FILE:N [FILE:N ...]

Writes N pairs drawn at random (Python's random, seeded) from each JSONL
file of question/SQL pairs, in order, to OUT. Follow-up pairs (those with
a "follows" id) are left out: without the pair they follow they would be
trained without their context. Made the rehearsal set of the shapes
adapter (docs/TRAINING.md):

    scripts/sample-pairs.py 42 mix300.jsonl \
        crates/erp/data/dataset/train.jsonl:200 gen500.jsonl:100
"""
import json
import random
import sys

if len(sys.argv) < 4:
    sys.exit(__doc__)
random.seed(int(sys.argv[1]))
out = []
for arg in sys.argv[3:]:
    path, n = arg.rsplit(":", 1)
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if not r.get("follows")]
    if int(n) > len(rows):
        sys.exit(f"{path} has {len(rows)} pairs without a follow-up link, fewer than {n}")
    out += random.sample(rows, int(n))
with open(sys.argv[2], "w") as f:
    for r in out:
        f.write(json.dumps(r) + "\n")
print(f"wrote {len(out)} pairs to {sys.argv[2]}")
