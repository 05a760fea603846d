"""The Qwen2 proof without a 7B download: `transformers` builds a small,
randomly initialised Qwen2 checkpoint (config.json, a byte-level BPE
tokenizer.json trained here on the ERP questions, sharded safetensors with
an index), runs fixed inputs and saves the reference ids, the logits of
every position and the greedy continuation; then PEFT adds a LoRA adapter
with random A and B, saves it in its format and records the adapted
logits. glrl's test crates/model/tests/qwen2.rs loads all of it and
compares logit for logit.

Usage: python tiny_qwen2.py OUT_DIR
(pip install transformers==5.24.0 torch peft==0.21.2)"""
import json, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
from peft import LoraConfig, get_peft_model

out = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
torch.manual_seed(0)
torch.set_num_threads(2)

# A small tokenizer of the same kind as Qwen2's (byte-level BPE, ChatML
# specials), trained on the ERP questions and their SQL.
corpus = []
with open(os.path.join(root, "crates/erp/data/dataset/train.jsonl")) as f:
    for line in f:
        p = json.loads(line)
        corpus += [p["question"], p["sql"]]
specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
bpe.train_from_iterator(corpus, trainers.BpeTrainer(
    vocab_size=512, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
tok.save_pretrained(out)

config = Qwen2Config(vocab_size=bpe.get_vocab_size(), hidden_size=64, intermediate_size=128,
                     num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                     max_position_embeddings=512, rope_theta=10000.0, rms_norm_eps=1e-6,
                     tie_word_embeddings=False)
model = Qwen2ForCausalLM(config).eval()
with torch.no_grad():
    # Random (not zero / one) biases and norms, so loading them is tested.
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.normal_(0.0, 0.1)
        elif "norm" in name:
            p.uniform_(0.5, 1.5)
model.save_pretrained(out, max_shard_size="200KB", safe_serialization=True)

texts = [
    "<|im_start|>user\nWhich suppliers in Germany have live contracts over budget?<|im_end|>\n<|im_start|>assistant\n",
    "SELECT COUNT(*) FROM PAC_MNT_PROJECTS WHERE STATUS = 'ACTIVE'",
]

def run(m, prefix):
    cases = []
    for i, t in enumerate(texts):
        ids = tok.encode(t, add_special_tokens=False)
        with torch.no_grad():
            logits = m(input_ids=torch.tensor([ids])).logits[0].float().numpy()
            gen = m.generate(input_ids=torch.tensor([ids]), max_new_tokens=8, do_sample=False,
                             pad_token_id=0, eos_token_id=None)[0, len(ids):].tolist()
        name = f"{prefix}_{i}.f32"
        logits.astype("<f4").tofile(os.path.join(out, name))
        cases.append({"text": t, "ids": ids, "logits_file": name, "greedy": gen})
    return cases

base_cases = run(model, "logits")
lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, init_lora_weights=False,
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
peft_model = get_peft_model(model, lora).eval()
peft_model.save_pretrained(os.path.join(out, "peft_adapter"))
lora_cases = run(peft_model, "lora_logits")
json.dump({"transformers": __import__("transformers").__version__, "peft": __import__("peft").__version__,
           "torch": torch.__version__, "base": base_cases, "lora": lora_cases},
          open(os.path.join(out, "reference.json"), "w"), indent=1)
print("ok", [len(c["ids"]) for c in base_cases], sorted(os.listdir(out)))
