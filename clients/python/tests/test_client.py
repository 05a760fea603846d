"""Runs against a real `glrl serve`: GLRL_URL and GLRL_KEY name it (the
Rust test crates/cli/tests/serve.rs starts one and runs this file)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from glrl_client import Client, GlrlError  # noqa: E402

URL = os.environ.get("GLRL_URL")
KEY = os.environ.get("GLRL_KEY")


@unittest.skipUnless(URL and KEY, "GLRL_URL and GLRL_KEY name a running glrl serve")
class AgainstServer(unittest.TestCase):
    def setUp(self):
        self.c = Client(URL, api_key=KEY)

    def test_validate_and_execute(self):
        self.assertTrue(self.c.validate("SELECT Project_Code FROM PAC_MNT_PROJECTS")["valid"])
        self.assertFalse(self.c.validate("DROP TABLE PAC_MNT_PROJECTS")["valid"])
        rows = self.c.execute("SELECT Status, COUNT(*) AS n FROM PAC_MNT_PROJECTS GROUP BY Status ORDER BY Status")
        if isinstance(rows, list):
            self.assertTrue(rows and "Status" in rows[0])
        else:
            self.assertEqual(list(rows.columns), ["Status", "n"])
            self.assertGreater(len(rows), 0)

    def test_problem_documents_become_errors(self):
        with self.assertRaises(GlrlError) as e:
            self.c.execute("DELETE FROM PAC_MNT_PROJECTS")
        self.assertEqual(e.exception.status, 422)
        self.assertEqual(e.exception.code, "SQL_INVALID")
        with self.assertRaises(GlrlError) as e:
            Client(URL, api_key="wrong-key-000000000").schema()
        self.assertEqual(e.exception.status, 401)

    def test_query(self):
        a = self.c.query("How many projects are there?", candidates=1)
        self.assertIn(a.status, ("answered", "unsure", "abstained"))
        self.assertTrue(a.query_id)
        if a.status != "abstained":
            self.assertIn("SELECT", a.sql)
            self.assertGreaterEqual(len(a.dataframe()), 1)

    def test_stream(self):
        events = list(self.c.stream("How many companies are there in total?", candidates=1))
        kinds = [e for e, _ in events]
        self.assertEqual(kinds[-1], "answer")
        answer = events[-1][1]
        if answer["cache"] == "miss":
            self.assertIn("stage", kinds)
            # The model's text came token by token before the answer.
            text = "".join(d["text"] for e, d in events if e == "token" and d["candidate"] == 0 and d["round"] == 0)
            self.assertTrue(text.startswith("<think>"), text)
            self.assertGreater(kinds.count("token"), 5)


if __name__ == "__main__":
    unittest.main()
