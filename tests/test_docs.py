"""The documentation site builds with --strict and works offline.

The site is built once per session (a module fixture): broken links and references fail
the build; every page must load its scripts, stylesheets, images and fonts from the site
itself (MathJax is vendored, the theme's Google Fonts are off); the executed tutorials
show their outputs and figures. Hyperlinks (``<a href>``) to papers and projects are fine.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "docs" / "hooks"

#: An asset the browser fetches by itself: script/img/source/iframe src, link href, and in
#: CSS url(...) and @import. <a href> is a hyperlink the reader follows, not an asset.
_TAG = re.compile(r"<(script|img|link|source|iframe|embed|audio|video)\b[^>]*>", re.I)
_ATTR = re.compile(r"""\b(src|href|srcset|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", re.I)
_CSS = re.compile(r"""(?:url\(\s*["']?|@import\s+["']?)\s*((?:https?:)?//[^"')\s]+)""", re.I)


def remote_assets(site: Path) -> list[str]:
    """List ``file: url`` for every remote asset referenced by the built site."""
    found = []
    for p in sorted(site.rglob("*")):
        if p.suffix not in (".html", ".css") or not p.is_file():
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        rel = p.relative_to(site).as_posix()
        if p.suffix == ".html":
            for tag in _TAG.finditer(text):
                if tag.group(1).lower() == "link" and re.search(
                    r"""rel=["']?(canonical|alternate|author|license)""", tag.group(0), re.I
                ):
                    continue
                found += [f"{rel}: {m.group(2)}" for m in _ATTR.finditer(tag.group(0))]
            for style in re.findall(r"<style\b[^>]*>(.*?)</style>", text, re.S | re.I):
                found += [f"{rel}: {m.group(1)}" for m in _CSS.finditer(style)]
            for style in re.findall(r"""style=["']([^"']*)["']""", text, re.I):
                found += [f"{rel}: {m.group(1)}" for m in _CSS.finditer(style)]
        else:
            found += [f"{rel}: {m.group(1)}" for m in _CSS.finditer(text)]
    return found


def test_remote_asset_scanner_catches_every_kind(tmp_path):
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example.org/mathjax.js"></script>'
        "<link rel='stylesheet' href='//fonts.example.com/css?family=Roboto'>"
        '<img alt="x" src="http://example.org/x.png">'
        '<div style="background:url(https://example.org/bg.png)"></div>'
        "<style>@import 'https://example.org/a.css';</style>"
        '<a href="https://doi.org/10.1145/2652481">a paper is fine</a>'
        '<link rel="canonical" href="https://example.org/page/">'
        '<script src="assets/local.js"></script><img src="outputs/fig.png">'
    )
    (tmp_path / "b.css").write_text("@font-face{src:url('https://example.org/f.woff2')}")
    found = remote_assets(tmp_path)
    assert len(found) == 6, found
    assert not any("doi.org" in f or "canonical" in f or "local" in f for f in found)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("mkdocs not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.slow
def test_mkdocs_builds_strict(site):
    cli = (site / "reference" / "cli" / "index.html").read_text()
    assert "apc evaluate" in cli
    assert "synth:&lt;preset&gt;" in cli, "CLI help texts must escape <...>"


@pytest.mark.slow
def test_built_site_references_no_remote_asset(site):
    assert remote_assets(site) == []
    mathjax = site / "assets" / "mathjax"
    assert (mathjax / "tex-mml-chtml.js").is_file()
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    page = (site / "concepts" / "metrics" / "index.html").read_text()
    assert "assets/mathjax/tex-mml-chtml.js" in page and 'class="arithmatex"' in page
    assert "fonts.googleapis" not in page


@pytest.mark.slow
def test_tutorial_pages_show_outputs_and_figures(site):
    if os.environ.get("APC_DOCS_EXECUTE", "1") in ("0", "false", "no"):
        pytest.skip("APC_DOCS_EXECUTE=0: the tutorials were not executed")
    for page in sorted((ROOT / "docs" / "tutorials").glob("[0-9][0-9]-*.md")):
        built = (site / "tutorials" / page.stem / "index.html").read_text()
        assert built.count('class="apc-output"') >= 1, f"{page.name} shows no output"
    figures = sorted((site / "tutorials" / "outputs").rglob("*.png"))
    assert len(figures) >= 8
    assert (site / "tutorials" / "outputs" / "05-sequences").is_dir()


def _runner():
    spec = importlib.util.spec_from_file_location("tutorial_runner", HOOKS / "tutorial_runner.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tutorial_runner_records_prints_values_figures_and_errors(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```python\nx = 2\nprint('x is', x)\n```\n\ntext\n\n"
        "```python\nimport matplotlib.pyplot as plt\nplt.plot([0, x])\nx * 21\n```\n\n"
        "```bash\necho not run\n```\n\n```python\nraise ValueError('boom')\n```\n"
    )
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(HOOKS / "tutorial_runner.py"), str(page),
                           str(tmp_path / "out")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1  # the failing block fails the run (and so the build)
    import json

    recs = json.loads((tmp_path / "out" / "outputs.json").read_text())
    assert recs[0] == {"block": 0, "stdout": "x is 2"}
    assert recs[1]["text"] == "42" and recs[1]["figures"] == ["block02-fig1.png"]
    assert (tmp_path / "out" / "block02-fig1.png").read_bytes()[:4] == b"\x89PNG"
    assert "ValueError: boom" in recs[2]["error"]
    assert len(_runner().blocks(page.read_text())) == 3  # the bash block is not run


def test_outputs_are_inserted_after_their_blocks(tmp_path):
    import json
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("tutorial_outputs", HOOKS / "tutorial_outputs.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    (tmp_path / "outputs.json").write_text(json.dumps([
        {"block": 0, "stdout": "a < b"},
        {"block": 1, "html": "<table>\n<tr><td>1</td></tr>\n</table>",
         "figures": ["block02-fig1.png"]},
    ]))
    hook._RESULTS["tutorials/01-x.md"] = tmp_path
    page = SimpleNamespace(file=SimpleNamespace(src_uri="tutorials/01-x.md"))
    md = "intro\n\n```python\nprint('a < b')\n```\n\ntext\n\n```python\ndf\n```\n\nend\n"
    out = hook.on_page_markdown(md, page, None, None)
    marks = ["print('a < b')", '<div class="apc-output"><pre><code>a &lt; b</code></pre></div>',
             "\ntext\n", "\ndf\n", "<td>1</td>",
             "![output of the block above](outputs/01-x/block02-fig1.png)", "\nend\n"]
    where = [out.index(m) for m in marks]
    assert where == sorted(where), out
    other = SimpleNamespace(file=SimpleNamespace(src_uri="concepts/metrics.md"))
    assert hook.on_page_markdown(md, other, None, None) == md
