"""sqlglot's parse + qualify (+ annotate_types) over the same queries the
validator benchmark uses, with the ERP schema: the peer figure for
docs/BENCHMARKS.md. Prints the median and p90 per query in ms."""
import statistics, sys, time
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.annotate_types import annotate_types

schema_sql, corpus = sys.argv[1], sys.argv[2]
schema = {}
for stmt in sqlglot.parse(open(schema_sql).read(), read="sqlite"):
    if isinstance(stmt, exp.Create) and isinstance(stmt.this, exp.Schema):
        table = stmt.this.this.name
        schema[table] = {c.name: c.args["kind"].sql("sqlite") for c in stmt.this.expressions if isinstance(c, exp.ColumnDef)}
queries = [l for l in open(corpus).read().splitlines() if l.strip() and not l.startswith("-- ")]
times = []
for rnd in range(5):
    for q in queries:
        t = time.perf_counter()
        tree = sqlglot.parse_one(q, read="sqlite")
        annotate_types(qualify(tree, schema=schema, dialect="sqlite"), schema=schema)
        times.append(time.perf_counter() - t)
times.sort()
print(f"sqlglot {sqlglot.__version__}: {len(queries)} queries x 5, median {statistics.median(times)*1000:.3f} ms, p90 {times[int(len(times)*0.9)]*1000:.3f} ms")
