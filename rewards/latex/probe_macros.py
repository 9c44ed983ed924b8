"""Regenerate rewards/latex/names.py by asking pdflatex (needs a TeX install: Debian texlive-latex-base,
texlive-fonts-recommended; never needed at run time).

  .venv/bin/python -m rewards.latex.probe_macros --cache /tmp/latex_probe [--jobs 2]

1. Candidates: every letters-only control sequence name in latex.ltx, fontmath/fonttext, the encoding
   files, amsmath/amsfonts/amssymb and expl3 (what a document can reach); kept if defined in a document
   that loads amsmath and amssymb.
2. For each defined name and control symbol, in `\\[ .. \\]`: the least number of `{1pt}` arguments with
   which `x{\\cmd..}y` compiles (0-4), then `\\text{\\cmd..}` (text mode) and `x^\\cmd..` (bare after ^).
   Names that need no argument and whose meaning hints at it: `\\cmd\\limits` (an operator?) and
   `\\left\\cmd a\\right.` (a delimiter?); names failing in math with an error that points at text
   mode: `\\text{\\cmd{1pt}}`, `\\text{\\cmd{1pt}{1pt}}` (text-only commands with arguments).
3. Every Unicode character LaTeX's utf8 files declare (plus Latin-1 and a few common ones), in math and
   in \\text.
Each probe is one pdflatex run (-halt-on-error): about 8,000 runs, over an hour on 2 busy cores; results
are cached as JSON lines in --cache so an interrupted run resumes.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PREAMBLE = "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n"
OUT = Path(__file__).resolve().with_name("names.py")


def compile_ok(body: str, work: Path) -> tuple[bool, str]:
    """pdflatex on `\\[ body \\]`: (compiled, first error line)."""
    tmp = tempfile.mkdtemp(dir=work)
    Path(tmp, "a.tex").write_text(PREAMBLE + "\\begin{document}\n\\[\n" + body + "\n\\]\n\\end{document}\n")
    try:
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-draftmode", "a.tex"],
                              cwd=tmp, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        out = proc.stdout.decode("latin-1")
        return proc.returncode == 0, next((ln for ln in out.splitlines() if ln.startswith("!")), "")
    except subprocess.TimeoutExpired:
        return False, "timeout"
    finally:
        subprocess.run(["rm", "-rf", tmp], check=False)


def tex_file(name: str) -> str:
    return subprocess.run(["kpsewhich", name], capture_output=True, text=True).stdout.strip()


def defined_names(cache: Path) -> dict[str, str]:
    r"""Defined control sequence names -> their \meaning (and that of `\name ` for robust commands)."""
    target = cache / "defs.txt"
    if not target.exists():
        sources = [tex_file(n) for n in ("latex.ltx", "fontmath.ltx", "fonttext.ltx", "article.cls", "size10.clo",
                                         "ot1enc.def", "omsenc.def", "t1enc.def", "ts1enc.def", "utf8.def",
                                         "amsmath.sty", "amstext.sty", "amsbsy.sty", "amsopn.sty", "amsgen.sty",
                                         "amssymb.sty", "amsfonts.sty", "expl3-code.tex")]
        sources += glob.glob(os.path.dirname(tex_file("latex.ltx")) + "/*enc.dfu")
        names: set[str] = set()
        for src in filter(None, sources):
            names |= set(re.findall(r"\\([A-Za-z]+)(?![A-Za-z@_:])", Path(src).read_text(encoding="latin-1")))
        lines = [PREAMBLE, "\\newwrite\\qqout\\immediate\\openout\\qqout=defs.txt", "\\begin{document}",
                 "\\makeatletter"]
        lines += ["\\ifcsname %s\\endcsname\\immediate\\write\\qqout{%s\\space\\expandafter\\meaning\\csname %s\\endcsname"
                  "\\space\\expandafter\\meaning\\csname %s\\space\\endcsname}\\fi" % (n, n, n, n) for n in sorted(names)]
        lines += ["\\immediate\\closeout\\qqout", "\\end{document}"]
        (cache / "defs.tex").write_text("\n".join(lines))
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "defs.tex"], cwd=cache, capture_output=True)
    meanings = {}
    for line in target.read_text(encoding="latin-1").splitlines():
        name, _, meaning = line.partition(" ")
        if name.isascii() and name.isalpha():  # a \meaning may span lines: skip its continuation lines
            meanings[name] = meanings.get(name, "") + " " + meaning
    return meanings


def cached_map(path: Path, items: list, key, probe, jobs: int) -> list[dict]:
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            done[row["key"]] = row
    todo = [item for item in items if key(item) not in done]
    with ThreadPoolExecutor(jobs) as pool, path.open("a") as out:
        for row in pool.map(probe, todo):
            out.write(json.dumps(row) + "\n")
            out.flush()
            done[row["key"]] = row
    return [done[key(item)] for item in items]


# Only names whose meaning hints at it are probed for \limits and \left (to save ~2,000 runs); only names
# failing in math with an error that points at text mode are probed for text-mode arguments.
OP_HINT = re.compile(r'mathchar"1|\\mathop|qopname|limits|MultiIntegral|DOTSI|DOTSB|\\intop|\\ointop')
DELIM_HINT = re.compile(r"delimiter|->[][()<>/|.] *$|character [][()<>/|.]")
TEXT_HINT = re.compile(r"mathaccent|invalid in math|Missing \$|spacefactor|vertical mode|Misplaced")


def probe_all(cache: Path, jobs: int) -> dict:
    work = cache / "work"
    work.mkdir(parents=True, exist_ok=True)
    meanings = defined_names(cache)

    def probe_name(name: str) -> dict:
        row = {"key": name, "arity": None, "text": False, "script": False, "error": ""}
        for k in range(5):
            ok, err = compile_ok("x{\\%s%s}y" % (name, "{1pt}" * k), work)
            if ok:
                row["arity"] = k
                break
            row["error"] = row["error"] or err
        args = "{1pt}" * (row["arity"] or 0)
        row["text"] = compile_ok("\\text{\\%s%s}" % (name, args), work)[0]
        row["script"] = compile_ok("x^\\%s%s" % (name, args), work)[0]
        meaning = meanings.get(name, "")
        if row["arity"] == 0 and OP_HINT.search(meaning):
            row["op"] = compile_ok("\\%s\\limits" % name, work)[0]
        if row["arity"] == 0 and (DELIM_HINT.search(meaning) or len(name) == 1):
            row["delim"] = compile_ok("\\left\\%s a\\right." % name, work)[0]
        if row["arity"] is None and not row["text"] and TEXT_HINT.search(row["error"]):
            for k in (1, 2):
                if compile_ok("\\text{\\%s%s}" % (name, "{1pt}" * k), work)[0]:
                    row["text_arity"] = k
                    break
        return row

    symbols = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0123456789 ")
    rows = cached_map(cache / "names.jsonl", sorted(meanings) + symbols, lambda n: n, probe_name, jobs)
    cps: set[int] = set(range(0xA0, 0x180)) | {0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x2212}
    for dfu in glob.glob(os.path.dirname(tex_file("latex.ltx")) + "/*enc.dfu"):
        text = Path(dfu).read_text(encoding="latin-1")
        cps |= {int(m, 16) for m in re.findall(r"\\DeclareUnicodeCharacter\{([0-9A-F]+)\}", text)}

    def probe_char(cp: int) -> dict:
        char = chr(cp)
        return {"key": cp, "math": compile_ok("a" + char + "b", work)[0],
                "text": compile_ok("\\text{a" + char + "b}", work)[0]}

    chars = cached_map(cache / "unicode.jsonl", sorted(c for c in cps if c >= 0x80), lambda c: c, probe_char, jobs)
    return {"names": rows, "chars": chars}


def _wrap(words: list[str], indent: str = "    ") -> str:
    lines, line = [], ""
    for word in words:
        if len(line) + len(word) + 1 > 100 - len(indent) - 2:
            lines.append(line)
            line = ""
        line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(f'{indent}"{ln} "' for ln in lines[:-1]) + f'\n{indent}"{lines[-1]}"' if lines else ""


_FAILURES = [  # pdflatex's error -> the reason check_latex gives
    (r"Old form `(\\\w+)'", "old plain-TeX form {0}: amsmath wants an environment"),
    (r"only in preamble", "can be used only in the preamble"),
    (r"Missing number|Illegal unit|Missing \\endcsname|Missing control sequence", "a register or primitive, not usable here"),
    (r"You can't use|invalid in math mode|Missing \$ inserted|Not in vertical mode|Bad math environment",
     "not allowed in math mode"),
    (r"mathaccent", "a text accent, not allowed in math mode"),
    (r"Missing delimiter", "needs a delimiter"),
    (r"unavailable in encoding", "unavailable in the default font encoding"),
    (r"can't find file|File .* not found", "reads a file"),
]


def _failure(error: str) -> str:
    for pattern, reason in _FAILURES:
        match = re.search(pattern, error)
        if match:
            return reason.format(*match.groups())
    return "fails in display math"


def emit(result: dict) -> str:
    probed: dict[str, list[str]] = {}
    failing: dict[str, list[str]] = {}
    delimiters: list[str] = []
    for row in result["names"]:
        name, arity = row["key"], row["arity"]
        if not (name.isascii() and (name.isalpha() or (len(name) == 1 and name.isprintable()))):
            continue
        if arity is not None:
            code = f"{arity}m" + ("t" if row["text"] else "") + ("s" if row["script"] else "") + ("o" if row.get("op") else "")
            probed.setdefault(code, []).append(name)
            if row.get("delim"):
                delimiters.append(name)
        elif row["text"] or row.get("text_arity"):
            probed.setdefault(f"{row.get('text_arity', 0)}t", []).append(name)
        elif "Undefined control sequence" not in row["error"]:
            failing.setdefault(_failure(row["error"]), []).append(name)
    math = "".join(chr(r["key"]) for r in result["chars"] if r["math"])
    text = "".join(chr(r["key"]) for r in result["chars"] if r["text"])
    out = ['"""Generated by `python -m rewards.latex.probe_macros` from pdflatex (TeX Live 2022, article, amsmath, amssymb).',
           "", "Do not edit by hand: rerun the probe. PROBED maps a code to names (letters-only names separated by",
           "spaces; control symbols, one character each, in the `symbols` string): the number of mandatory",
           "arguments the command needs in display math, then m (works in math), t (works in \\\\text), s (works",
           "bare after ^), o (an operator: \\\\limits may follow). FAILING maps pdflatex's error to the commands",
           'that fail in display math with any argument tried.\n"""', "", "PROBED = {"]
    for code in sorted(probed):
        words = sorted(n for n in probed[code] if n.isalpha())
        symbols = "".join(sorted(n for n in probed[code] if not n.isalpha()))
        out.append(f'  "{code}": (\n{_wrap(words)}\n  ),' + (f"\n  {code + ' symbols'!r}: {symbols!r}," if symbols else ""))
    out.append("}\n\nFAILING = {")
    for message in sorted(failing):
        words = sorted(n for n in failing[message] if n.isalpha())
        symbols = "".join(sorted(n for n in failing[message] if not n.isalpha()))
        if words:
            out.append(f"  {message!r}: (\n{_wrap(words)}\n  ),")
        if symbols:
            out.append(f"  {message + ' symbols'!r}: {symbols!r},")
    out.append("}\n\nDELIMITERS = (\n" + _wrap(sorted(n for n in delimiters if n.isalpha())) + "\n)")
    out.append(f"DELIMITER_SYMBOLS = {''.join(sorted(n for n in delimiters if not n.isalpha()))!r}\n")
    for name, chars in (("MATH_UNICODE", math), ("TEXT_UNICODE", text)):
        # ASCII escapes, 15 characters a line: the source stays readable (no invisible characters)
        lines = [ascii(chars[k : k + 15]) for k in range(0, len(chars), 15)] or ["''"]
        out.append(f"{name} = (\n" + "\n".join(f"    {line}" for line in lines) + "\n)")
    out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/latex_probe"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    OUT.write_text(emit(probe_all(args.cache, args.jobs)))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
