"""Reference logits for the decoder parity test: `transformers` loads the
embedded GGUF (dequantised to f32) and runs fixed prompts; we save the
prompt ids, the last position's full logits (little-endian f32) and the
greedy continuation.

Usage: python logits.py GGUF_PATH OUT_DIR
(pip install transformers==5.24.0 gguf==0.19.0 torch accelerate)"""
import json, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

gguf, out = sys.argv[1], sys.argv[2]
d, f = os.path.dirname(os.path.abspath(gguf)), os.path.basename(gguf)
tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32).eval()
torch.set_num_threads(2)
prompts = [
    "<|im_start|>system\nYou write SQLite SQL.<|im_end|>\n<|im_start|>user\nCount the rows of table PROJECTS.<|im_end|>\n<|im_start|>assistant\n",
    "The capital of France is",
]
cases = []
for i, p in enumerate(prompts):
    ids = tok.encode(p, add_special_tokens=False)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1].float().numpy()
        gen = model.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False)[0, len(ids):].tolist()
    name = f"logits_{i}.f32"
    logits.astype("<f4").tofile(os.path.join(out, name))
    cases.append({"prompt": p, "ids": ids, "logits_file": name, "greedy": gen})
json.dump({"transformers": __import__("transformers").__version__, "torch": torch.__version__, "cases": cases},
          open(os.path.join(out, "logits.json"), "w"), indent=1)
print("ok", [len(c["greedy"]) for c in cases])
