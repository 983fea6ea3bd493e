r"""MkDocs hook: serve MathJax from the site itself, so equations render with no network.

The pages' maths (``pymdownx.arithmatex`` in generic mode: ``\\(...\\)`` and
``\\[...\\]`` inside ``.arithmatex`` elements) is typeset in the browser by MathJax 3.
MathJax is not fetched from a CDN at view time: it is copied at build time from the
``django-static-mathjax`` wheel on PyPI (a plain copy of the MathJax 3.2 distribution,
Apache-2.0; a dependency of the ``docs`` extra) into ``assets/mathjax/`` of the site, with
its CommonHTML web fonts. ``theme.font: false`` in ``mkdocs.yml`` keeps the theme off
Google Fonts. ``tests/test_docs.py`` fails on any remote asset in the built site.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

#: Where MathJax lands in the site (``extra_javascript`` in mkdocs.yml points here).
DEST = "assets/mathjax"
#: The combined component loaded by the pages, and the folders it loads from at run time
#: (fonts, TeX extensions, the context menu and its accessibility/speech parts).
ENTRY = "tex-mml-chtml.js"
FOLDERS = ("input", "output/chtml", "ui", "a11y", "sre", "adaptors")

#: MathJax's configuration, read before the component loads (arithmatex generic mode).
CONFIG_JS = """window.MathJax = {
  tex: {inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex"}
};
"""


def mathjax_root() -> Path:
    """Return the ``es5`` folder of the installed MathJax distribution.

    Raises
    ------
    PluginError
        If ``django-static-mathjax`` is not installed (``pip install -e '.[docs]'``).
    """
    try:
        import mathjax  # django-static-mathjax: a package holding only static files
    except ImportError:
        raise PluginError(
            "MathJax is served from the site itself: pip install -e '.[docs]' "
            "(it brings django-static-mathjax)"
        ) from None
    root = Path(next(iter(mathjax.__path__))) / "static" / "mathjax" / "es5"
    if not (root / ENTRY).is_file():
        raise PluginError(f"{root / ENTRY} missing: reinstall django-static-mathjax")
    return root


def on_files(files, config):
    """Add MathJax (entry script, fonts, extensions) and its configuration to the site."""
    root = mathjax_root()
    paths = [root / ENTRY, root.parent / "LICENSE"]
    for folder in FOLDERS:
        paths.extend(p for p in sorted((root / folder).rglob("*")) if p.is_file())
    for p in paths:
        rel = p.name if p.parent == root.parent else p.relative_to(root).as_posix()
        files.append(File.generated(config, f"{DEST}/{rel}", abs_src_path=str(p)))
    files.append(File.generated(config, "assets/mathjax-config.js", content=CONFIG_JS))
    return files
