"""A small client for the GL-RL gateway (``glrl serve``), for notebooks.

Only the standard library is required; ``pandas`` is used when present to
return results as DataFrames.

    >>> from glrl_client import Client
    >>> c = Client("http://127.0.0.1:8080", api_key="...")
    >>> a = c.query("Which suppliers in Germany are blocked?")
    >>> a.sql, a.status, a.confidence
    >>> a.dataframe()          # pandas.DataFrame of the rows
    >>> for event, data in c.stream("How many projects are active?"):
    ...     print(data["text"] if event == "token" else event, end="")
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

__all__ = ["Client", "Answer", "GlrlError"]


class GlrlError(Exception):
    """An RFC 7807 problem returned by the gateway."""

    def __init__(self, status: int, code: str, detail: str, body: Optional[dict] = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body or {}


def _rows_to_records(result: Optional[dict]) -> tuple[list[str], list[list[Any]]]:
    if not result:
        return [], []
    cols = [c["name"] for c in result.get("columns", [])]
    return cols, [list(row) for row in result.get("rows", [])]


def _frame(result: Optional[dict]):
    cols, rows = _rows_to_records(result)
    try:
        import pandas as pd  # type: ignore
    except ImportError:
        return [dict(zip(cols, r)) for r in rows]
    return pd.DataFrame(rows, columns=cols)


@dataclass
class Answer:
    query_id: str
    cache: str
    raw: dict = field(repr=False)

    @property
    def status(self) -> str:
        return self.raw.get("status", "")

    @property
    def sql(self) -> Optional[str]:
        return self.raw.get("sql")

    @property
    def confidence(self) -> Optional[float]:
        return self.raw.get("confidence")

    @property
    def explanation(self) -> Optional[str]:
        return self.raw.get("explanation")

    @property
    def session(self) -> Optional[str]:
        return self.raw.get("session")

    def dataframe(self):
        """The rows as a pandas DataFrame (a list of dicts without pandas)."""
        return _frame(self.raw.get("result"))


class Client:
    def __init__(self, url: str, api_key: Optional[str] = None, token: Optional[str] = None, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["X-API-Key"] = api_key
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def _open(self, method: str, path: str, body: Optional[dict] = None):
        """The open response; a problem document is raised as GlrlError."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=self.headers)
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                p = json.loads(raw)
            except ValueError:
                raise GlrlError(e.code, "HTTP_ERROR", raw.decode(errors="replace")) from None
            raise GlrlError(e.code, p.get("code", "HTTP_ERROR"), p.get("detail", ""), p) from None

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        with self._open(method, path, body) as res:
            raw = res.read()
            return json.loads(raw) if raw else None

    @staticmethod
    def _question(question: str, session: Optional[str], candidates: Optional[int]) -> dict:
        body: dict = {"question": question}
        if session:
            body["session"] = session
        if candidates:
            body["candidates"] = candidates
        return body

    def query(self, question: str, session: Optional[str] = None, candidates: Optional[int] = None) -> Answer:
        r = self._call("POST", "/v1/query", self._question(question, session, candidates))
        return Answer(r["query_id"], r["cache"], r["answer"])

    def stream(self, question: str, session: Optional[str] = None, candidates: Optional[int] = None) -> Iterator[tuple[str, dict]]:
        """`POST /v1/query/stream`: yields `(event, data)` as the server sends
        them: `token` ({round, candidate, text}) as the model writes,
        `stage` ({stage, ms}) as each stage ends, then `answer` (the
        `/v1/query` body) or `error` (a problem document, also raised as
        GlrlError after it is yielded)."""
        with self._open("POST", "/v1/query/stream", self._question(question, session, candidates)) as res:
            event = None
            for raw in res:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: ") and event:
                    data = json.loads(line[len("data: "):])
                    yield event, data
                    if event == "error":
                        raise GlrlError(data.get("status", 500), data.get("code", "ERROR"), data.get("detail", ""), data)
                    event = None

    def validate(self, sql: str) -> dict:
        return self._call("POST", "/v1/sql/validate", {"sql": sql})

    def execute(self, sql: str):
        """Validated, read-only execution; the rows as a DataFrame."""
        return _frame(self._call("POST", "/v1/sql/execute", {"sql": sql})["result"])

    def schema(self) -> dict:
        return self._call("GET", "/v1/schema")

    def sessions(self) -> list:
        return self._call("GET", "/v1/sessions")

    def feedback(self, query_id: str, rating: str, corrected_sql: Optional[str] = None, comment: Optional[str] = None) -> dict:
        body = {"query_id": query_id, "rating": rating}
        if corrected_sql:
            body["corrected_sql"] = corrected_sql
        if comment:
            body["comment"] = comment
        return self._call("POST", "/v1/feedback", body)
