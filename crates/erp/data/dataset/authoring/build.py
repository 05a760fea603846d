"""Usage: python3 build.py DEMO_DB OUT_DIR (DEMO_DB from `glrl demo-db`).

Assembles the hand-written ERP pairs into train/dev JSONL: ids, tables,
constructs, difficulty and a <think> reasoning derived from each SQL;
checks every SQL runs and returns rows on the demo DB, and that dev SQL
skeletons do not occur in train."""
import json, re, sqlite3, sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
import train1, train2, train3, train4, train5, train6, dev, extra_simple, extra_complex, extra_contacts
TABLES = ["PAC_MNT_PROJECTS","PAC_MNT_RESOURCES","SRM_COMPANIES","SRM_CONTACTS","PROJSTAFF","PROJCNTRTS"]
db = sqlite3.connect(sys.argv[1])

def tables_of(sql):
    return [t for t in TABLES if re.search(r"\b%s\b" % t, sql)]

def subqueries(sql):
    out, i = [], 0
    while True:
        i = sql.find("(SELECT", i)
        if i < 0: return out
        depth, j = 0, i
        while j < len(sql):
            if sql[j] == "(": depth += 1
            elif sql[j] == ")":
                depth -= 1
                if depth == 0: break
            j += 1
        out.append((i, j)); i += 1

def aliases(text):
    return set(re.findall(r"\b(?:%s)\s+(?:AS\s+)?([a-z]\w*)\b" % "|".join(TABLES), text))

def constructs(sql):
    u = sql.upper(); c = set()
    n = len(tables_of(sql))
    if " JOIN " in u or re.search(r"FROM \w+ \w+, \w+", sql): c.add("join")
    if n >= 3 and " JOIN " in u: c.add("multi_join")
    if re.search(r"\b(COUNT|SUM|AVG|MIN|MAX)\(", u): c.add("aggregation")
    if " GROUP BY " in u: c.add("group_by")
    if " HAVING " in u: c.add("having")
    if " OVER (" in u: c.add("window")
    if u.startswith("WITH "): c.add("cte")
    if " CASE " in u: c.add("case")
    if re.search(r"\b(UNION|INTERSECT|EXCEPT)\b", u): c.add("set_operation")
    if "NOT EXISTS" in u or "NOT IN (SELECT" in u or re.search(r"LEFT JOIN .* IS NULL", u): c.add("anti_join")
    for (a, b) in subqueries(sql):
        inner = sql[a:b+1]; outer = sql[:a] + sql[b+1:]
        refs = set(re.findall(r"\b([a-z]\w*)\.", inner))
        if refs - aliases(inner) & aliases(outer): c.add("correlated_subquery")
        else: c.add("subquery")
    if re.search(r"FROM \(SELECT", u): c.add("derived_table")
    return sorted(c)

def difficulty(sql, cons):
    n = len(tables_of(sql))
    if {"cte", "window", "set_operation", "correlated_subquery", "derived_table"} & set(cons) or n >= 4 or ("subquery" in cons and "join" in cons):
        return "complex"
    if n >= 2 or {"group_by", "having", "subquery", "case", "anti_join"} & set(cons):
        return "medium"
    return "simple"

TERMS = [
 (r"over[- ]budget|overr[au]n|exceed(ed|s)? (the |their )?budget|above budget", "'over budget' means Actual_Cost > Budget_Amount"),
 (r"remaining budget|budget (is )?left|unspent", "remaining budget is Budget_Amount - Actual_Cost"),
 (r"utili[sz]ation|burn rate|of their budget", "budget utilisation is Actual_Cost / Budget_Amount, with NULLIF to guard against a zero budget"),
 (r"outstanding|uninvoiced|left to invoice|still to be invoiced", "outstanding means Contract_Value - Invoiced_Amount"),
 (r"labour cost|staff(ing)? cost|personnel cost|labor", "labour cost is PROJSTAFF.Hours_Worked * PAC_MNT_RESOURCES.Hourly_Rate"),
 (r"margin|profit", "margin is Hours_Worked * (Bill_Rate - Hourly_Rate)"),
 (r"billable|billings|revenue|billed", "the billable amount is Hours_Worked * Bill_Rate"),
 (r"headcount|team size|how many (distinct )?people|distinct people", "headcount is COUNT(DISTINCT Resource_Code)"),
 (r"top-rated|highly rated|best[- ]rated|well-rated|high rated", "top-rated means Rating >= 4"),
 (r"live contract|active contract", "a live contract has Status = 'Active'"),
 (r"primary contact|main contact|key contact", "the primary contact has Is_Primary = 'Y'"),
 (r"vendor|supplier", "suppliers (vendors) are SRM_COMPANIES with Company_Type = 'Supplier'"),
 (r"client|customer", "clients are SRM_COMPANIES with Company_Type = 'Client'"),
 (r"\bmanag", "a project's manager is PAC_MNT_PROJECTS.Manager_Code = PAC_MNT_RESOURCES.Resource_Code"),
 (r"open project|not finished|ongoing", "open projects have Status IN ('Planned', 'Active', 'On Hold')"),
 (r"over-invoiced|over-billed|invoiced more", "over-invoiced means Invoiced_Amount > Contract_Value"),
]

def clause(sql, kw, ends):
    m = re.search(r"\b%s\b(.*?)(?=\b(?:%s)\b|$)" % (kw, "|".join(ends)), sql)
    return m.group(1).strip() if m else None

def reasoning(q, sql):
    ts = tables_of(sql)
    parts = ["The question needs " + (ts[0] if len(ts) == 1 else ", ".join(ts[:-1]) + " and " + ts[-1]) + "."]
    joins = re.findall(r"JOIN (\w+) (\w+) ON ([\w.]+ = [\w.]+)", sql)
    for t, a, on in joins:
        parts.append(f"Join {t} as {a} on {on}.")
    outer = sql
    for (a, b) in reversed(subqueries(sql)):
        outer = outer[:a] + "(subquery)" + outer[b+1:]
    w = clause(outer, "WHERE", ["GROUP BY", "HAVING", "ORDER BY", "LIMIT", "UNION", "INTERSECT", "EXCEPT"])
    if w: parts.append(f"Filter with {w}.")
    g = clause(outer, "GROUP BY", ["HAVING", "ORDER BY", "LIMIT"])
    if g: parts.append(f"Group by {g}.")
    h = clause(outer, "HAVING", ["ORDER BY", "LIMIT"])
    if h: parts.append(f"Keep groups where {h}.")
    if "(subquery)" in outer: parts.append("A subquery computes the comparison set.")
    if outer.upper().startswith("WITH "): parts.append("A CTE computes the intermediate totals first.")
    if " OVER (" in sql: parts.append("A window function ranks or accumulates rows without collapsing them.")
    if re.search(r"\b(UNION|INTERSECT|EXCEPT)\b", sql): parts.append("A set operation combines the two lists.")
    o = clause(outer, "ORDER BY", ["LIMIT"])
    if o: parts.append(f"Order by {o}" + (f", limit {clause(outer, 'LIMIT', [])}." if " LIMIT " in outer else "."))
    hints = [t for rx, t in TERMS if re.search(rx, q, re.I)]
    if hints: parts.append("Vocabulary: " + "; ".join(dict.fromkeys(hints)) + ".")
    return " ".join(parts)

def skeleton(sql):
    s = re.sub(r"'[^']*'", "?", sql)
    return re.sub(r"\b\d+(\.\d+)?\b", "#", s)

EMPTY = []
def build(groups, follows, prefix):
    out = []
    for g in groups:
        for q, sql in g: out.append({"question": q, "sql": sql, "follows": None})
    for (q1, s1), (q2, s2) in follows:
        out.append({"question": q1, "sql": s1, "follows": None})
        out.append({"question": q2, "sql": s2, "follows": "PREV"})
    res = []
    for i, p in enumerate(out):
        pid = f"{prefix}-{i+1:04d}"
        if p["follows"] == "PREV": p["follows"] = res[-1]["id"]
        rows = db.execute(p["sql"]).fetchall()
        if not rows: EMPTY.append(p["sql"])
        cons = constructs(p["sql"])
        res.append({"id": pid, "question": p["question"], "sql": p["sql"], "difficulty": difficulty(p["sql"], cons),
                    "tables": tables_of(p["sql"]), "constructs": cons, "reasoning": reasoning(p["question"], p["sql"]), "follows": p["follows"]})
    return res

# Rebalancing the difficulty mix: three complex dev intents become train
# intents, four redundant single-table grouping intents leave the set.
MOVE = ["Total hours of contractors per project region.", "Average margin per role across all assignments.", "Dense rank of companies by credit limit within each country."]
DROP = ["How many people are in each cost center?", "Company count by industry.", "How many companies are in each industry?", "Contact count by job title.", "How many contacts have each title?", "Number of projects per department.", "How many projects does each department run?"]
moved = [g for g in dev.DEV if g[0][0] in MOVE]
assert len(moved) == len(MOVE)
dev_groups = [g for g in dev.DEV if g[0][0] not in MOVE]
train_groups = [g for g in train1.TRAIN if g[0][0] not in DROP] + moved
train = build(train_groups, train5.FOLLOW, "train")
devs = build(dev_groups, [], "dev")
if EMPTY:
    print("\n".join(EMPTY)); sys.exit(1)
tsk = {skeleton(p["sql"]) for p in train}
clash = [p["sql"] for p in devs if skeleton(p["sql"]) in tsk]
assert not clash, clash
tq = {p["question"].lower() for p in train}
assert not [p for p in devs if p["question"].lower() in tq]
for name, ds in [("train", train), ("dev", devs)]:
    n = len(ds); from collections import Counter
    d = Counter(p["difficulty"] for p in ds)
    print(name, n, {k: f"{v/n:.2f}" for k, v in d.items()})
    print("  tables", {t: f"{sum(t in p['tables'] for p in ds)/n:.2f}" for t in TABLES})
allp = train + devs
from collections import Counter
print("constructs", dict(Counter(c for p in allp for c in p["constructs"])))
with open(sys.argv[2] + "/train.jsonl", "w") as f:
    for p in train: f.write(json.dumps(p) + "\n")
with open(sys.argv[2] + "/dev.jsonl", "w") as f:
    for p in devs: f.write(json.dumps(p) + "\n")
