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


def svg_frame(size, margins, title, xlabel, xticks, yticks):
    """The start of a plot as SVG elements: white background, title, axes and tick labels.
    size (W, H), margins (left, right, top, bottom); ticks are (pixel position, label) pairs."""
    (W, H), (L, R, T, B) = size, margins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<text x="{L}" y="18">{title}</text>',
             f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
             f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
             f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">{xlabel}</text>']
    parts += [f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>' for y, label in yticks]
    parts += [f'<text x="{x:.1f}" y="{H - B + 16}" text-anchor="middle">{label}</text>' for x, label in xticks]
    return parts

