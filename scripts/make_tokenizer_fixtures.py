"""Tokenizer fixtures from Hugging Face's BertTokenizer (the oracle for datasets/bert_tokenizer.h).

Writes to tests/fixtures/tokenizer/:
  <task>_dev.ids.gz   every dev example of CoLA, SST-2, MRPC, STS-B and RTE encoded with
                      max_length=128 truncation ('longest_first' for pairs). Line 1: "#<task> dev <n>";
                      then one line per example: space-separated input_ids, a tab, the token types as
                      one digit each.
  edge_cases.jsonl.gz hand-written hard cases (accents, CJK, control characters, special tokens, long
                      words, truncation ties) and seeded random strings over most of Unicode: per line
                      {"a", "b" (pairs only), "max_length", "basic" (words after the basic tokenizer),
                      "tokens" (word pieces of a), "ids", "types"}.

The oracle is the slow Python tokenizer: BertTokenizerLegacy in transformers 5, BertTokenizer in 4.x.
The script also runs the fast (Rust) tokenizer and prints where it differs. Rewrites a file only when
its content changed (gzip with mtime 0, so the bytes are reproducible).

Usage: python3 scripts/make_tokenizer_fixtures.py  (needs `pip install transformers`)
"""
import argparse
import csv
import gzip
import json
import os
import random
import sys
import unicodedata
import warnings

warnings.filterwarnings("ignore")
import transformers  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

try:  # transformers >= 5: BertTokenizer is the Rust one, the Python one was renamed
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as SlowBert
    from transformers import BertTokenizer as FastBert
except ImportError:
    from transformers import BertTokenizer as SlowBert
    from transformers import BertTokenizerFast as FastBert

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")

# (folder, file columns of text_a, text_b) as transformers' glue processors read dev.tsv.
TASKS = {
    "cola": ("CoLA", 3, None),
    "sst2": ("SST-2", 0, None),
    "mrpc": ("MRPC", 3, 4),
    "stsb": ("STS-B", 7, 8),
    "rte": ("RTE", 1, 2),
}


def read_tsv(path):
    # As transformers' DataProcessor._read_tsv: utf-8-sig (drops a BOM), tab-separated, no quoting.
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.reader(f, delimiter="\t", quotechar=None))


def dev_pairs(folder, ia, ib):
    rows = read_tsv(os.path.join(DATA, "glue", folder, "dev.tsv"))
    if folder != "CoLA":  # CoLA's train/dev files have no header
        rows = rows[1:]
    return [(r[ia], r[ib] if ib is not None else None) for r in rows]


def encode(tok, a, b, max_length):
    kw = dict(truncation=True, max_length=max_length) if max_length else {}
    enc = tok(a, b, return_token_type_ids=True, **kw)
    return enc["input_ids"], enc["token_type_ids"]


def basic_words(slow, text):
    # What BertTokenizer.basic_tokenize returns: the added-token split, then the basic tokenizer.
    specials = set(slow.all_special_tokens)
    words = []
    for piece in slow.tokens_trie.split(text):
        if piece in specials:
            words.append(piece)
        elif piece:
            words.extend(slow.basic_tokenizer.tokenize(piece, never_split=slow.all_special_tokens))
    return words


def write_if_changed(path, text):
    data = text.encode("utf-8")
    if os.path.exists(path):
        with gzip.open(path, "rb") as f:
            if f.read() == data:
                return False
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    os.chmod(path, 0o644)
    return True


HAND_CASES = [
    "Hello, World!", "naïve café résumé Ångström", "Crème Brûlée", "e\u0301 vs \u00e9", "ﬁne ﬀ Straße ẞ",
    "İstanbul ıi", "ΟΔΟΣ ΣΑΣ. Σ ΑΣ'Σ ªΣ Σª", "ǅemal ǈ Ǉ", "K Ω Å (Kelvin Ohm Angstrom signs)",
    "北京欢迎你 東京 中文字符", "你好world", "한국어 텍스트", "日本語のテキスト カタカナ", "\U00020000\U0002A6D6 \uF900\uFA6D",
    "tab\there\nnewline\rcr", "nul\x00byte", "bell\x07 esc\x1b del\x7f", "soft\u00adhyphen zero\u200bwidth",
    "\u2028line sep\u2029para sep\u0085nel", "nbsp\u00a0and\u3000ideographic\u2003em",
    "replacement \ufffd char", "private \ue000 use", "unassigned \u0378 code point", "emoji 😀👍🏽 ok",
    "^$`~ and «quotes» „German“ ‘single’ — dash … ellipsis", "¿Qué? ¡Sí!", "a-b_c.d,e;f:g", "$5.00 100% #1 @user",
    "don't won't it's", "[CLS] [SEP] [PAD] [UNK] [MASK]", "x[SEP]y[cls]z[MASK]", "[[SEP]] [SEP[SEP]]", "[UNK]x [unk]",
    "a" * 100, "a" * 101, "é" * 101, "supercalifragilisticexpialidocious", "unaffable", "qwxzqwxzqwxz",
    "ⓐⓑ ⒶⒷ Ⅻ ⅻ ½ ² ①", "ﾊﾝｶｸ ｶﾀｶﾅ ＡＢＣ１２３", "\u0301\u0302 marks alone", "", "   ", "\t\n",
    "Zalgo t̸̢̛e̷x̵t̴", "mixed ÉCOLE école", "ΑΒΓ αβγ άέή", "Привет, мир! ЁЖИК", "مرحبا بالعالم", "שלום עולם",
    "नमस्ते दुनिया", "สวัสดีชาวโลก", "ǲ ǳ Ǳ", "\U0001F130\U0001F150 enclosed", "a\u0307 i\u0307",
]

HAND_PAIRS = [
    ("a " * 10, "b " * 10, 15), ("a " * 10, "b " * 10, 16), ("a " * 12, "b " * 10, 15), ("a " * 10, "b " * 12, 15),
    ("a " * 3, "b " * 20, 10), ("a " * 20, "b " * 3, 10), ("a " * 5, "b " * 5, 3), ("a", "", 3), ("", "", 3),
    ("hello world", "goodbye world", 128), ("a " * 200, "b " * 100, 128), ("x", "y " * 300, 128),
]


def random_pools():
    """Pools of code points to draw from, each with a weight: ASCII, hand-picked hard characters, and
    everything Python's Unicode database assigns in the BMP and in planes 1-2 (private-use planes
    and CJK extensions past plane 2 would otherwise swamp the draw)."""
    def assigned(lo, hi):
        return [c for c in range(lo, hi) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
    hard = [0, 9, 10, 13, 0x0B, 0x0C, 0x1C, 0x1F, 0x7F, 0x85, 0xA0, 0xAD, 0x130, 0x3A3, 0x307, 0x301, 0x2028, 0x2029,
            0x3000, 0x200B, 0x200D, 0xFEFF, 0xFFFD, 0xAA, 0xBA, 0x27, 0x2E, 0x3A, 0xB7, 0x2019, 0x1E9E, 0xDF, 0x212A,
            0x2126, 0x212B, 0xF900, 0x4E2D, 0x20000, 0x1F600, 0xE000, 0xF0000, 0xE0001, 0x1F130, 0x2160]
    return [(list(range(0x20, 0x7F)) + [0x20] * 20, 4), (hard, 1), (assigned(0x80, 0x10000), 4),
            (assigned(0x10000, 0x30000), 1)]


def random_string(rng, pools):
    lists, weights = zip(*pools)
    return "".join(chr(rng.choice(rng.choices(lists, weights)[0])) for _ in range(rng.randint(1, 40)))


def edge_cases(slow, fast, n_random, seed):
    rng = random.Random(seed)
    pools = random_pools()
    cases = [(t, None, 128) for t in HAND_CASES] + list(HAND_PAIRS)
    # Words that are in the vocabulary and their accented / upper-cased spellings.
    vocab = [t for t in slow.vocab if t.isalpha() and not t.startswith("##")]
    for _ in range(200):
        ws = [rng.choice(vocab) for _ in range(rng.randint(1, 8))]
        ws = [w.upper() if rng.random() < 0.3 else w for w in ws]
        cases.append((" ".join(ws) + rng.choice(["", ".", "!", " ?", "\u0301"]), None, 128))
    for i in range(n_random):
        if i % 4 == 3:
            cases.append((random_string(rng, pools), random_string(rng, pools), rng.randint(3, 30)))
        else:
            cases.append((random_string(rng, pools), None, 128))
    lines, fast_diff = [], []
    for a, b, max_length in cases:
        ids, types = encode(slow, a, b, max_length)
        rec = {"a": a, "max_length": max_length, "basic": basic_words(slow, a), "tokens": slow.tokenize(a),
               "ids": ids, "types": types}
        if b is not None:
            rec["b"] = b
        lines.append(json.dumps(rec, ensure_ascii=False))
        if encode(fast, a, b, max_length)[0] != ids:
            fast_diff.append((a, b, max_length))
    return "\n".join(lines) + "\n", len(cases), fast_diff


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", default=os.path.join(DATA, "vocab", "bert-base-uncased-vocab.txt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "tokenizer"))
    ap.add_argument("--random", type=int, default=2000, help="random strings in edge_cases")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    slow = SlowBert(args.vocab, do_lower_case=True)
    fast = FastBert(args.vocab, do_lower_case=True)
    print(f"transformers {transformers.__version__}: oracle {type(slow).__name__}, compared with {type(fast).__name__}")

    for task, (folder, ia, ib) in TASKS.items():
        pairs = dev_pairs(folder, ia, ib)
        out = [f"#{task} dev {len(pairs)}"]
        fast_diff, truncated = [], 0
        for a, b in pairs:
            ids, types = encode(slow, a, b, 128)
            full = encode(slow, a, b, 0)[0]
            truncated += len(full) > 128
            out.append(" ".join(map(str, ids)) + "\t" + "".join(map(str, types)))
            if encode(fast, a, b, 128)[0] != ids:
                fast_diff.append((a, b))
        path = os.path.join(args.out, f"{task}_dev.ids.gz")
        changed = write_if_changed(path, "\n".join(out) + "\n")
        print(f"{task}: {len(pairs)} dev examples, {truncated} truncated to 128, fast tokenizer differs on {len(fast_diff)}"
              f" -> {os.path.relpath(path, ROOT)}{'' if changed else ' (unchanged)'}")
        for a, b in fast_diff[:3]:
            print(f"  differs: {a[:80]!r} / {(b or '')[:80]!r}")

    text, n, fast_diff = edge_cases(slow, fast, args.random, args.seed)
    path = os.path.join(args.out, "edge_cases.jsonl.gz")
    changed = write_if_changed(path, text)
    print(f"edge cases: {n}, fast tokenizer differs on {len(fast_diff)} -> {os.path.relpath(path, ROOT)}"
          f"{'' if changed else ' (unchanged)'}")
    for a, b, m in fast_diff[:8]:
        print(f"  differs: {a[:60]!r} / {(b or '')[:60]!r} max_length={m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
