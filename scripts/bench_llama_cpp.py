"""The llama.cpp side of `glrl bench model`: the same GGUF, the same prompt
token ids and thread count, measured by llama.cpp's own counters
(llama_perf_context: prompt-eval and eval time and token counts) through
llama-cpp-python's high-level API. Prints one JSON object.

Usage: python bench_llama_cpp.py GGUF THREADS RUNS IDS_JSON
(IDS_JSON: {"prompts": {"64": [...], "512": [...]}, "decode_prompt": "64",
"decode_tokens": 128}; llama-cpp-python from scripts/fetch-llama-cpp.sh)"""
import json, statistics, sys, time
import llama_cpp
from llama_cpp import Llama

gguf, threads, runs, spec = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.load(open(sys.argv[4]))
t0 = time.perf_counter()
llm = Llama(model_path=gguf, n_ctx=2048, n_batch=512, n_ubatch=512, n_threads=threads,
            n_threads_batch=threads, verbose=False, logits_all=False)
load_s = time.perf_counter() - t0
eos = llm.token_eos()

def run(ids, max_tokens):
    llm.reset()  # no KV reuse between runs
    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
    llm.create_completion(prompt=ids, max_tokens=max_tokens, temperature=0.0,
                          logit_bias={eos: -1e9} if max_tokens > 1 else None)
    return llama_cpp.llama_perf_context(llm._ctx.ctx)

out = {"llama_cpp_python": llama_cpp.__version__, "threads": threads, "load_s": load_s, "prompt": {}}
for name, ids in spec["prompts"].items():
    tps = []
    for _ in range(runs):
        p = run(ids, 1)
        tps.append(p.n_p_eval / (p.t_p_eval_ms / 1000.0))
    out["prompt"][name] = {"tokens": len(ids), "tokens_per_s": statistics.median(tps)}
dec = []
for _ in range(runs):
    p = run(spec["prompts"][spec["decode_prompt"]], spec["decode_tokens"])
    dec.append(p.n_eval / (p.t_eval_ms / 1000.0))
out["decode"] = {"tokens": spec["decode_tokens"], "tokens_per_s": statistics.median(dec)}
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child
# of glrl would report glrl's own peak.
with open("/proc/self/status") as f:
    hwm = next(l for l in f if l.startswith("VmHWM:"))
out["peak_rss_mib"] = int(hwm.split()[1]) / 1024.0
print(json.dumps(out))
