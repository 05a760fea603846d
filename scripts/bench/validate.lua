-- wrk: POST /v1/sql/validate, all five layers, never cached.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "bench-key-0123456789abcdef"
wrk.body = '{"sql": "SELECT c.Company_Name, SUM(k.Contract_Value) AS total FROM SRM_COMPANIES c JOIN PROJCNTRTS k ON k.Company_Code = c.Company_Code WHERE c.Status = \'Active\' GROUP BY c.Company_Name ORDER BY total DESC LIMIT 10"}'
