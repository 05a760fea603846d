#!/usr/bin/env python3
"""Turns `glrl eval --generate --save-answers A.jsonl` into the replay
file of the orchestration overhead bench: each question with the texts
its candidates had, batch by batch (one batch per generation round).

    glrl eval --dataset crates/erp/data/dataset/dev.jsonl --limit 40 \
        --generate --save-answers /tmp/answers.jsonl
    python3 scripts/record-replay.py /tmp/answers.jsonl \
        > crates/orchestrator/benches/replay.jsonl
"""
import json
import sys

CANDIDATES = 5  # per round, the default `generator.candidates`

with open(sys.argv[1]) as f:
    for line in f:
        answer = json.loads(line)["answer"]
        batches = []
        # The validator's rewrites (fixed_from) are the pipeline's work,
        # which the bench runs again; only the model's texts are replayed.
        written = [c for c in answer["candidates"] if c.get("fixed_from") is None]
        for i, c in enumerate(sorted(written, key=lambda c: c["index"])):
            if i % CANDIDATES == 0:
                batches.append([])
            reasoning = c.get("reasoning")
            text = (f"<think>{reasoning}</think>\n" if reasoning is not None else "") + c["sql"]
            batches[-1].append(
                {"text": text, "mean_logprob": c["mean_logprob"], "tokens": c["tokens"]}
            )
        print(json.dumps({"question": answer["question"], "batches": batches}))
