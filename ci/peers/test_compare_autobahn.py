#!/usr/bin/env python3
"""Tests of ci/compare_autobahn.py and ci/peers/merge.py on small hand-made reports.

Run: python3 -m unittest discover -s ci/peers -p 'test_*.py'
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
COMPARE = os.path.join(HERE, "..", "compare_autobahn.py")
MERGE = os.path.join(HERE, "merge.py")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, ".."))

import compare_autobahn  # noqa: E402


def ours_case(cid, ab, verdict, close="OK", reason=None):
    return {"id": cid, "autobahn": ab, "verdict": verdict, "close_verdict": close, "reason": reason, "close": None}


def ours_report(*cases):
    return {"kind": "conformance", "target": {"url": "ws://127.0.0.1:1/"}, "complete": True, "cases": list(cases)}


def ab_result(behavior, close="OK", code=1000):
    return {"behavior": behavior, "behaviorClose": close, "remoteCloseCode": code, "reportfile": "x.json"}


class CompareTest(unittest.TestCase):
    def run_compare(self, ours, index, *args):
        with tempfile.TemporaryDirectory() as d:
            o, a, j = (os.path.join(d, n) for n in ("ours.json", "index.json", "out.json"))
            with open(o, "w") as f:
                json.dump(ours, f)
            with open(a, "w") as f:
                json.dump(index, f)
            p = subprocess.run([sys.executable, COMPARE, o, a, "--json", j, *args], capture_output=True, text=True)
            result = json.load(open(j)) if os.path.exists(j) else None
            return p, result

    def test_missing_close_judged_by_close_on_one_side_and_by_behavior_on_the_other_agrees(self):
        # Autobahn: nothing echoed (behavior OK) but the server never closed (close FAILED);
        # ours: the expect-close step failed (verdict FAILED) and the close phase found nothing more (close OK)
        ours = ours_report(ours_case("a", "3.1", "FAILED", "OK"))
        p, r = self.run_compare(ours, {"peer": {"3.1": ab_result("OK", "FAILED")}})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((r["agree"], r["mapped"]), (1, 1))
        self.assertEqual(r["behavior_agree"], 0)  # the halves alone disagree: that is why the headline combines them

    def test_unclean_close_makes_an_ok_behavior_fail(self):
        ours = ours_report(ours_case("a", "1.1.1", "OK", "OK"))
        p, r = self.run_compare(ours, {"peer": {"1.1.1": ab_result("OK", "UNCLEAN")}})
        self.assertEqual(r["agree"], 0)
        self.assertEqual(r["disagreements"][0]["kind"], "pass/fail")
        self.assertIn("Autobahn OK/close UNCLEAN", p.stdout)

    def test_grade_difference_is_a_disagreement_of_kind_grade(self):
        ours = ours_report(ours_case("a", "7.13.1", "OK", "OK"))
        _, r = self.run_compare(ours, {"peer": {"7.13.1": ab_result("INFORMATIONAL", "INFORMATIONAL")}})
        self.assertEqual(r["agree"], 0)
        self.assertEqual(r["disagreements"][0]["kind"], "grade")

    def test_errored_never_agrees_and_unmapped_cases_are_not_compared(self):
        ours = ours_report(
            ours_case("a", "1.1.1", "ERRORED", None, "cannot connect"),
            ours_case("b", None, "OK"),
            ours_case("c", "9.9.9", "OK"),
        )
        _, r = self.run_compare(ours, {"peer": {"1.1.1": ab_result("FAILED", "FAILED")}})
        self.assertEqual((r["agree"], r["mapped"]), (0, 1))
        self.assertEqual(r["ours_without_autobahn_id"], 1)
        self.assertEqual(r["autobahn_ids_not_run"], ["9.9.9"])

    def test_min_agreement_exits_1_below_the_bar_and_0_at_it(self):
        ours = ours_report(*(ours_case(f"c{i}", f"1.1.{i}", "OK") for i in range(1, 101)))
        index = {"peer": {f"1.1.{i}": ab_result("OK") for i in range(1, 101)}}
        index["peer"]["1.1.1"] = ab_result("FAILED")
        self.assertEqual(self.run_compare(ours, index, "--min-agreement", "99")[0].returncode, 0)
        self.assertEqual(self.run_compare(ours, index, "--min-agreement", "99.5")[0].returncode, 1)

    def test_unreadable_or_foreign_input_exits_2(self):
        p, _ = self.run_compare({"kind": "load"}, {"peer": {}})
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a wsharness conformance report", p.stderr)
        p, _ = self.run_compare(ours_report(), {"a": {}, "b": {}})
        self.assertEqual(p.returncode, 2)
        self.assertIn("--agent", p.stderr)
        p = subprocess.run([sys.executable, COMPARE, "/nonexistent.json", "/nonexistent2.json"], capture_output=True)
        self.assertEqual(p.returncode, 2)

    def test_outcome_is_the_worse_half(self):
        self.assertEqual(compare_autobahn.outcome("NON-STRICT", "OK"), "NON-STRICT")
        self.assertEqual(compare_autobahn.outcome("OK", "WRONG CODE"), "FAILED")
        self.assertEqual(compare_autobahn.outcome("OK", "FAILED BY CLIENT"), "FAILED")
        self.assertEqual(compare_autobahn.outcome("INFORMATIONAL", "INFORMATIONAL"), "INFORMATIONAL")
        self.assertEqual(compare_autobahn.outcome("OK", None), "OK")


class MergeTest(unittest.TestCase):
    def test_rerun_results_replace_refused_cases_and_the_summary_is_recounted(self):
        with tempfile.TemporaryDirectory() as d:
            p1 = ours_report(ours_case("a", None, "FAILED"), ours_case("b", None, "ERRORED", None, "cannot connect to x"))
            p1["summary"] = {"FAILED": 1, "ERRORED": 1, "total": 2}
            p2 = ours_report(ours_case("b", None, "OK"))
            paths = [os.path.join(d, n) for n in ("p1.json", "p2.json", "out.json")]
            for path, r in zip(paths, (p1, p2)):
                with open(path, "w") as f:
                    json.dump(r, f)
            refused = subprocess.run([sys.executable, MERGE, "refused", paths[0]], capture_output=True, text=True)
            self.assertEqual(refused.stdout.split(), ["b"])
            subprocess.run([sys.executable, MERGE, "wsharness", paths[2], paths[0], paths[1]], check=True)
            merged = json.load(open(paths[2]))
            self.assertEqual([c["verdict"] for c in merged["cases"]], ["FAILED", "OK"])
            self.assertEqual((merged["summary"]["ERRORED"], merged["summary"]["OK"]), (0, 1))

    def test_shards_are_merged_in_the_case_list_order(self):
        with tempfile.TemporaryDirectory() as d:
            s1 = ours_report(ours_case("c", None, "OK"), ours_case("a", None, "FAILED"))
            s2 = ours_report(ours_case("b", None, "NON-STRICT"))
            order = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
            paths = [os.path.join(d, n) for n in ("s1.json", "s2.json", "order.json", "out.json")]
            for path, r in zip(paths, (s1, s2, order)):
                with open(path, "w") as f:
                    json.dump(r, f)
            subprocess.run([sys.executable, MERGE, "wsharness", paths[3], "--order", paths[2], *paths[:2]], check=True)
            merged = json.load(open(paths[3]))
            self.assertEqual([c["id"] for c in merged["cases"]], ["a", "b", "c"])
            self.assertEqual(merged["summary"]["total"], 3)


if __name__ == "__main__":
    unittest.main()
