"""glrl → PEFT: loads an adapter that glrl wrote (PEFT format) onto the
tiny Qwen2 fixture with Python PEFT and compares its logits with the ones
glrl computed.

  GLRL_PEFT_EXPORT=/tmp/x cargo test -p glrl-model --test qwen2 exports
  python peft_check.py crates/model/tests/fixtures/qwen2-tiny /tmp/x
(pip install transformers==5.24.0 torch peft==0.21.2)"""
import json, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel

base_dir, adapter_dir = sys.argv[1], sys.argv[2]
model = AutoModelForCausalLM.from_pretrained(base_dir, torch_dtype=torch.float32).eval()
model = PeftModel.from_pretrained(model, adapter_dir).eval()
ids = json.load(open(os.path.join(adapter_dir, "glrl_ids.json")))
with torch.no_grad():
    ours = model(input_ids=torch.tensor([ids])).logits[0].float().numpy().ravel()
glrl = np.fromfile(os.path.join(adapter_dir, "glrl_logits.f32"), dtype="<f4")
d = float(np.abs(ours - glrl).max())
print(f"PEFT loaded the glrl adapter: {len(ids)} positions, max |Δlogit| = {d:.3e}")
sys.exit(0 if d < 1e-4 else 1)
