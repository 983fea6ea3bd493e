"""Execute one tutorial page's python blocks in one namespace and record their outputs.

Run as ``python docs/hooks/tutorial_runner.py PAGE.md OUT_DIR`` by the
``tutorial_outputs`` hook at documentation build time, in a fresh working folder, with
matplotlib's Agg backend. Every fenced ``python`` block of the page (the code cells of
the jupytext notebook) runs in order in one namespace, as a notebook kernel would run
them; for each block the runner records what it printed, the value of a final bare
expression (a DataFrame as an HTML table, anything else as its ``repr``) and every open
matplotlib figure (saved as PNG and closed). ``OUT_DIR/outputs.json`` lists the records;
the figures lie beside it. A block that raises stops the run with exit status 1 and its
traceback in the record, so a broken tutorial fails the documentation build.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import sys
import traceback
from pathlib import Path

#: A fenced python block at the start of a line (a jupytext code cell).
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
#: Printed text kept per block (the rest is cut with a note).
MAX_LINES = 60


def blocks(markdown: str) -> list[re.Match]:
    """Return the fenced python blocks of a page, in order."""
    return list(BLOCK.finditer(markdown))


def _clip(text: str) -> str:
    lines = text.rstrip("\n").splitlines()
    if len(lines) > MAX_LINES:
        cut = len(lines) - MAX_LINES
        lines = lines[:MAX_LINES] + [f"... ({cut} more lines)"]
    return "\n".join(lines)


def _result(value) -> dict:
    if value is None:
        return {}
    to_html = getattr(value, "to_html", None)
    if callable(to_html) and type(value).__module__.startswith("pandas"):
        table = to_html(max_rows=20, max_cols=12, border=0)
        return {"html": table.replace(' class="dataframe"', "")}
    return {"text": _clip(repr(value))}


def run_block(source: str, ns: dict, name: str) -> tuple[str, object]:
    """Execute ``source`` in ``ns``; return printed text and the final expression's value."""
    tree = ast.parse(source, filename=name)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(tree, name, "exec"), ns)
        value = eval(compile(last, name, "eval"), ns) if last is not None else None
    return buf.getvalue(), value


def run_page(page: Path, out: Path) -> int:
    """Run every python block of ``page``; write ``out/outputs.json`` and the figures."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    ns: dict = {"__name__": "__main__"}
    records = []
    status = 0
    for i, m in enumerate(blocks(page.read_text(encoding="utf-8"))):
        rec: dict = {"block": i}
        try:
            printed, value = run_block(m.group(1), ns, f"<{page.name} block {i + 1}>")
        except BaseException:  # noqa: BLE001 - reported to the build, which fails
            rec["error"] = traceback.format_exc()
            records.append(rec)
            status = 1
            break
        if printed.strip():
            rec["stdout"] = _clip(printed)
        rec.update(_result(value))
        figures = []
        for j, num in enumerate(plt.get_fignums()):
            fig = plt.figure(num)
            fname = f"block{i + 1:02d}-fig{j + 1}.png"
            fig.savefig(out / fname, format="png", dpi=100, bbox_inches="tight")
            figures.append(fname)
        plt.close("all")
        if figures:
            rec["figures"] = figures
        records.append(rec)
    (out / "outputs.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(run_page(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
