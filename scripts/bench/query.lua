-- wrk: POST /v1/query with one fixed question (after a warm-up it is an
-- answer-cache hit: auth, rate-limit bypass off, L1 lookup, audit fsync).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "bench-key-0123456789abcdef"
wrk.body = '{"question": "How many projects are there?"}'
