"""MkDocs hook: execute the course's tutorials at build time and show their outputs.

The tutorials under ``docs/tutorials/NN-*.md`` are stored without outputs (jupytext
Markdown notebooks). Before the build, each one runs in its own process in a fresh
temporary folder (``tutorial_runner.py`` beside this file: all python blocks of a page in
one namespace, as a notebook kernel runs them); pages run in parallel, ``APC_DOCS_JOBS``
at a time (default: 2, or 1 on a single CPU). The built page then shows, after each
block, what it printed, the value of its final expression (DataFrames as tables) and its
matplotlib figures (PNG files under ``tutorials/outputs/<page>/`` of the site).

Outputs are cached in ``.apc-cache/docs-tutorials/`` under a hash of the page, of every
``apc`` source file and of the runner, so a rebuild re-executes only what changed (any
change to ``apc`` re-executes every page); entries of other hashes are dropped once they
are an hour old.
A block that raises fails the build with its traceback. ``APC_DOCS_EXECUTE=0`` builds
the pages without running them (they then show the code only).
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNNER = HERE / "tutorial_runner.py"
CACHE = ROOT / ".apc-cache" / "docs-tutorials"
TIMEOUT_S = 1200

_spec = importlib.util.spec_from_file_location("_apc_tutorial_runner", RUNNER)
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)

#: page src_uri (``tutorials/05-sequences.md``) -> folder holding outputs.json and figures
_RESULTS: dict[str, Path] = {}


def _enabled() -> bool:
    return os.environ.get("APC_DOCS_EXECUTE", "1") not in ("0", "false", "no")


def _tutorials(docs_dir: Path) -> list[Path]:
    return sorted((docs_dir / "tutorials").glob("[0-9][0-9]-*.md"))


def _code_hash() -> str:
    h = hashlib.sha256(RUNNER.read_bytes())
    for p in sorted((ROOT / "apc").rglob("*")):
        if p.is_file() and p.suffix in (".py", ".toml", ".json", ".txt"):
            h.update(p.relative_to(ROOT).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _run(page: Path, key: str) -> tuple[Path, float]:
    """Execute ``page`` (or reuse its cached outputs); return the output folder and seconds."""
    out = CACHE / key
    if (out / "outputs.json").is_file():
        return out, 0.0
    tmp = Path(tempfile.mkdtemp(prefix="apc-docs-"))
    stage = CACHE / f".{key}.{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    env = dict(
        os.environ,
        MPLBACKEND="Agg",
        APC_PROGRESS="0",
        OMP_NUM_THREADS="1",
        PYTHONWARNINGS="ignore",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
    )
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(RUNNER), str(page), str(stage)],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - t0
    records = (
        json.loads((stage / "outputs.json").read_text()) if (stage / "outputs.json").is_file()
        else []
    )
    errors = [r["error"] for r in records if "error" in r]
    if proc.returncode != 0 or errors:
        shutil.rmtree(stage, ignore_errors=True)
        detail = errors[0] if errors else proc.stderr[-4000:]
        raise PluginError(f"tutorial {page.name} failed at build time:\n{detail}")
    shutil.rmtree(out, ignore_errors=True)
    stage.rename(out)
    return out, seconds


def on_pre_build(config):
    """Execute every tutorial (in parallel, cached) before the pages are read."""
    _RESULTS.clear()
    if not _enabled():
        return
    docs_dir = Path(config["docs_dir"])
    pages = _tutorials(docs_dir)
    code = _code_hash()
    CACHE.mkdir(parents=True, exist_ok=True)
    keys = [hashlib.sha256((code + p.read_text(encoding="utf-8")).encode()).hexdigest()[:24]
            for p in pages]
    jobs = int(os.environ.get("APC_DOCS_JOBS", min(2, os.cpu_count() or 1)))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(_run, pages, keys))
    ran = [f"{p.stem} {s:.0f}s" for p, (_, s) in zip(pages, done, strict=True) if s > 0]
    print(  # noqa: T201 - build log line
        f"INFO    -  tutorials: {len(ran)} executed ({', '.join(ran) or 'all cached'}), "
        f"{len(pages) - len(ran)} from cache, {time.perf_counter() - t0:.0f}s",
        file=sys.stderr,
    )
    for p, (out, _) in zip(pages, done, strict=True):
        _RESULTS[p.relative_to(docs_dir).as_posix()] = out
    _prune(set(keys))


def _prune(keep: set[str], max_age_s: float = 3600.0) -> None:
    """Drop cached outputs of other code or pages, once an hour old (not a parallel build's)."""
    now = time.time()
    for d in CACHE.iterdir():
        if d.name not in keep and now - d.stat().st_mtime > max_age_s:
            shutil.rmtree(d, ignore_errors=True)


def on_files(files, config):
    """Add the tutorials' figures and the outputs' stylesheet to the site."""
    files.append(File.generated(config, CSS_PATH, content=CSS))
    for src_uri, out in _RESULTS.items():
        stem = Path(src_uri).stem
        for fig in sorted(out.glob("*.png")):
            files.append(File.generated(
                config, f"tutorials/outputs/{stem}/{fig.name}", abs_src_path=str(fig)
            ))
    return files


#: Outputs are set off from the code by a left rule and an "output" tag.
CSS = """.md-typeset .apc-output{border-left:.2rem solid var(--md-accent-fg-color--transparent,
#ddd);padding-left:.6rem;margin:-.4em 0 1em;overflow-x:auto}
.md-typeset .apc-output::before{content:"output";display:block;font-size:.6rem;
color:var(--md-default-fg-color--light,#888)}
.md-typeset .apc-output pre{margin:.2em 0}.md-typeset .apc-output table{font-size:.7rem}
"""
CSS_PATH = "assets/apc-outputs.css"


def on_config(config):
    """Style the outputs (a small stylesheet of the site's own)."""
    if CSS_PATH not in config["extra_css"]:
        config["extra_css"].append(CSS_PATH)
    return config


def _pre(text: str) -> str:
    return f"<pre><code>{html.escape(text)}</code></pre>"


def _render(rec: dict, stem: str) -> str:
    parts = []
    if rec.get("stdout"):
        parts.append(f'<div class="apc-output">{_pre(rec["stdout"])}</div>')
    if rec.get("text"):
        parts.append(f'<div class="apc-output">{_pre(rec["text"])}</div>')
    if rec.get("html"):
        table = "\n".join(line for line in rec["html"].splitlines() if line.strip())
        parts.append(f'<div class="apc-output">\n{table}\n</div>')
    for fig in rec.get("figures", []):
        parts.append(f"![output of the block above](outputs/{stem}/{fig})")
    if not parts:
        return ""
    return "\n\n" + "\n\n".join(parts) + "\n"


def on_page_markdown(markdown, page, config, files):
    """Insert each block's outputs right after the block."""
    out = _RESULTS.get(page.file.src_uri)
    if out is None:
        return markdown
    records = {r["block"]: r for r in json.loads((out / "outputs.json").read_text())}
    stem = Path(page.file.src_uri).stem
    pieces, pos = [], 0
    for i, m in enumerate(runner.blocks(markdown)):
        pieces.append(markdown[pos:m.end()])
        pieces.append(_render(records.get(i, {}), stem))
        pos = m.end()
    pieces.append(markdown[pos:])
    return "".join(pieces)
