#!/usr/bin/env python3
"""scripts/results_doc.py: a table script replaces only its own README section, and fails loudly."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import results_doc  # noqa: E402

README = "intro\n<!-- BEGIN t -->\nold table\n<!-- END t -->\nafter\n<!-- BEGIN u -->\nkept\n<!-- END u -->\n"


class ResultsDocTest(unittest.TestCase):
    def test_replaces_only_its_section(self):
        out = results_doc.replace_section(README, "t", "| new |\n")
        self.assertEqual(out, README.replace("old table", "| new |"))
        self.assertIn("kept", out)

    def test_missing_or_reversed_markers(self):
        with self.assertRaises(KeyError):
            results_doc.replace_section(README, "v", "x")
        with self.assertRaises(KeyError):
            results_doc.replace_section("<!-- END t -->\n<!-- BEGIN t -->\n", "t", "x")

    def test_write_files_and_readme(self):
        with tempfile.TemporaryDirectory() as d:
            readme = os.path.join(d, "README.md")
            open(readme, "w").write(README)
            results_doc.write(os.path.join(d, "res", "table"), "t", "header\n\n", "| a |\n", [{"a": 1}], readme)
            self.assertEqual(open(os.path.join(d, "res", "table.md")).read(), "header\n\n| a |\n")
            self.assertIn("1", open(os.path.join(d, "res", "table.json")).read())
            self.assertEqual(open(readme).read(), README.replace("old table", "header\n\n| a |"))
            with self.assertRaises(SystemExit) as e:
                results_doc.write(os.path.join(d, "res", "table"), "missing", "h\n", "| b |\n", [], readme)
            self.assertIn("missing", str(e.exception))
            self.assertEqual(open(readme).read(), README.replace("old table", "header\n\n| a |"))  # untouched


if __name__ == "__main__":
    unittest.main()
