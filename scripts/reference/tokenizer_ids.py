"""Reference token ids for the tokenizer parity test: Hugging Face
`transformers` reads the tokenizer from the embedded GGUF and encodes a
corpus of ERP questions, SQL and ChatML prompts.

Usage: python tokenizer_ids.py GGUF_PATH OUT_JSON
(pip install transformers==5.24.0 gguf==0.19.0; no torch needed)"""
import json, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
from transformers import AutoTokenizer

gguf, out = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(gguf)), gguf_file=os.path.basename(gguf))
corpus = [
    "Which suppliers in Germany have live contracts over budget?",
    "SELECT c.Company_Code, c.Company_Name FROM SRM_COMPANIES c WHERE c.Country = 'Germany' AND c.Company_Type = 'Supplier'",
    "What is the remaining budget of PRJ-0042 in EUR (2024-12-31)?",
    "SELECT SUM(s.Hours_Worked * r.Hourly_Rate) AS labour_cost FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code",
    "WITH ranked AS (SELECT Project_Code, ROW_NUMBER() OVER (PARTITION BY Region ORDER BY Budget_Amount DESC) AS rn FROM PAC_MNT_PROJECTS) SELECT * FROM ranked WHERE rn = 1;",
    "  Leading spaces, tabs\tand\nnewlines; unicode: Müller, café, 東京, emoji 🚀 — dashes.",
    "Contracts CTR-2023-0005 and CTR-2024-0001 invoiced 1,234,567.89 USD vs 99.5%",
    "<|im_start|>system\nYou write SQLite SQL for a finance ERP.<|im_end|>\n<|im_start|>user\nHow many projects are over budget?<|im_end|>\n<|im_start|>assistant\n",
    "<think>Suppliers are SRM_COMPANIES rows with Company_Type = 'Supplier'.</think>\nSELECT COUNT(*) FROM SRM_COMPANIES",
]
cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False)} for t in corpus]
meta = {"bos": tok.bos_token, "eos": tok.eos_token, "vocab_size": len(tok)}
json.dump({"transformers": __import__("transformers").__version__, "meta": meta, "cases": cases}, open(out, "w"), indent=1, ensure_ascii=False)
print(f"wrote {len(cases)} cases to {out}")
