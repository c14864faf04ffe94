"""Writes a result table produced by a table script: OUT.md (header + markdown), OUT.json (rows), and,
when asked, the same markdown into the README between `<!-- BEGIN name -->` and `<!-- END name -->`,
so the README quotes exactly what the script measured."""
import json
import os


def replace_section(text, name, body):
    """text with the part between name's BEGIN/END markers replaced by body; KeyError if a marker is missing."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise KeyError(f"markers '{begin}' ... '{end}' not found in order")
    return text[:i + len(begin)] + "\n" + body.rstrip("\n") + "\n" + text[j:]


def write(out, name, header, md, rows, readme=None):
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".md", "w") as f:
        f.write(header + md)
    with open(out + ".json", "w") as f:
        json.dump(rows, f, indent=1)
    if readme:
        try:
            text = replace_section(open(readme).read(), name, header + md)
        except (OSError, KeyError) as e:
            raise SystemExit(f"{readme}: cannot update the {name} section: {e}")
        tmp = readme + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, readme)
    print(header + md)
