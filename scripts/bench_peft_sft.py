"""The PyTorch + PEFT side of `glrl bench sft`: the same GGUF (dequantised
by transformers), LoRA on the same projections with the same rank, AdamW,
the same batch of token ids, the same thread count. Times whole optimizer
steps (forward, backward, update) and prints one JSON object.

Usage: python bench_peft_sft.py GGUF THREADS STEPS IDS_JSON R ALPHA
(IDS_JSON: {"batch": [[ids…], …]}; pip install transformers==5.24.0
gguf==0.19.0 torch peft==0.21.2 accelerate)"""
import json, os, statistics, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from transformers import AutoModelForCausalLM
from peft import LoraConfig, get_peft_model

gguf, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
batch = json.load(open(sys.argv[4]))["batch"]
r, alpha = int(sys.argv[5]), float(sys.argv[6])
torch.set_num_threads(threads)
torch.manual_seed(0)
d, f = os.path.dirname(os.path.abspath(gguf)), os.path.basename(gguf)
model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
model = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.1,
    target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
model.train()
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
ids = torch.tensor(batch)
times = []
for i in range(steps + 1):
    t0 = time.perf_counter()
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    opt.step()
    opt.zero_grad()
    if i > 0:  # the first step warms up
        times.append(time.perf_counter() - t0)
with open("/proc/self/status") as fh:
    hwm = next(l for l in fh if l.startswith("VmHWM:"))
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
tokens = sum(len(b) for b in batch)
print(json.dumps({"torch": torch.__version__, "step_s": statistics.median(times),
                  "tokens_per_s": tokens / statistics.median(times), "trainable": trainable,
                  "peak_rss_mib": int(hwm.split()[1]) / 1024.0, "threads": threads}))
