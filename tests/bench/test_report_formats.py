"""Paper-ready report output: LaTeX/Markdown/CSV tables, figure files and house style."""

import io
import re
import struct

import pandas as pd
import pytest
from typer.testing import CliRunner

from apc.bench.export import csv_table, latex_tables, markdown_table, terminal_tables
from apc.bench.figstyle import PALETTE, group_axis_name, group_sort_key, model_styles
from apc.bench.plots import group_labels, wilson_interval
from apc.bench.report import write_report
from apc.bench.runner import run_suite
from apc.bench.suite import DatasetSpec, ModelEntry, Suite

MODELS = ["popularity", "markov", "random"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("fmt") / "run"
    suite = Suite(
        name="fmt_suite",
        datasets=[DatasetSpec("tiny", "synth:tiny")],
        protocol="next-track",
        protocol_options={},
        models=[ModelEntry(m, m) for m in MODELS],
        metrics=["hit@10", "recall@5", "recall@20", "mrr@20"],
        seeds=[0],
        cutoff=20,
        baseline="popularity",
        n_boot=100,
        n_perm=200,
        longtail_k=20,
    )
    run_suite(suite, out, cache=None, report=False)
    return write_report(out)


def _body_rows(tex: str) -> list[str]:
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0]
    return [line for line in body.strip().splitlines() if line.strip()]


def test_latex_table_is_booktabs_one_row_per_model_best_in_bold(report):
    tex = latex_tables(report["table"], report["suite"])
    for cmd in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{lrrrr}",
                r"\caption{", r"\label{tab:fmt-suite-tiny}"):
        assert cmd in tex, cmd
    rows = _body_rows(tex)
    assert [r.split(" & ")[0] for r in rows] == MODELS
    assert all(r.endswith(r"\\") and r.count(" & ") == 4 for r in rows)
    t = report["table"]
    best = t[(t["label"] == "hit@10") & t["best"]]["model"].tolist()
    hit_col = {r.split(" & ")[0]: r.split(" & ")[1] for r in rows}
    for m in MODELS:
        assert hit_col[m].startswith(r"\textbf{") == (m in best), (m, hit_col[m])
    assert r"\scriptsize [" in rows[0]  # the interval
    assert r"$^\dagger$" in tex and r"\blacktriangle" in tex and "bootstrap interval" in tex
    assert "fmt\\_suite" in tex  # escaped


def test_markdown_and_csv_forms_parse(report):
    md = markdown_table(report["table"], report["cells"], report["suite"])
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:5] == ["model", "hit@10", "recall@5", "recall@20", "mrr@20"]
    assert [ln.split("|")[1].strip() for ln in lines[2:]] == MODELS
    assert "†" in md and "▲ / ▼" in md
    csv = pd.read_csv(io.StringIO(csv_table(report["table"], report["suite"])))
    assert len(csv) == len(MODELS) * 4
    assert {"mean", "low", "high", "best", "p_base_adj", "vs_baseline"} <= set(csv.columns)
    assert ((csv["low"] <= csv["mean"] + 1e-12) & (csv["mean"] <= csv["high"] + 1e-12)).all()
    assert set(csv["vs_baseline"].fillna("")) <= {"", "better", "worse"}
    # the report wrote all three beside summary.md, the same text
    out = report["html"].parent
    assert (out / "summary_table.tex").read_text() == latex_tables(report["table"],
                                                                    report["suite"])
    assert pd.read_csv(out / "summary_table.csv").shape == csv.shape


def _png_dpi(data: bytes) -> float:
    i = data.index(b"pHYs")
    ppm_x, _, unit = struct.unpack(">IIB", data[i + 4: i + 13])
    assert unit == 1  # metres
    return ppm_x * 0.0254


def test_every_figure_is_written_as_png_svg_and_pdf(report):
    assert sorted(p.name for p in report["plots"]) == [
        "by_group_tiny.png", "longtail_tiny.png", "recall_curve_tiny.png"]
    for png in report["plots"]:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and _png_dpi(data) >= 199.5
        assert png.with_suffix(".svg").read_text().lstrip().startswith("<?xml")
        assert png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    svg = (report["html"].parent / "plots" / "by_group_tiny.svg").read_text()
    assert "target position" in svg  # the named axis (svg.fonttype none keeps text)
    # each model keeps its colour in every figure
    styles = model_styles(MODELS)
    for name in ("by_group_tiny", "recall_curve_tiny", "longtail_tiny"):
        text = (report["html"].parent / "plots" / f"{name}.svg").read_text().lower()
        for m in MODELS:
            assert styles[m]["color"].lower() in text, (name, m)


def test_html_report_sorts_columns_and_loads_nothing_remote(report):
    html = report["html"].read_text()
    assert "<style>" in html and "aria-sort" in html and "addEventListener('click'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "recall_curve_tiny.svg" in html  # the figure captions name the vector files


def test_groups_are_in_numeric_order_with_a_named_axis():
    frame = pd.DataFrame({"category": ["10", "2", "1", "3", "10"], "seed_length": [9] * 5,
                          "protocol": "next-track"})
    _, order, what = group_labels(frame)
    assert order == ["1", "2", "3", "10"]
    assert what.startswith("target position")
    assert sorted(["5-9", "10-19", "2", "100+", "0"], key=group_sort_key) == [
        "0", "2", "5-9", "10-19", "100+"]
    assert group_axis_name("continuation") == "number of seed tracks"


def test_model_styles_are_stable_and_colour_blind_safe_first():
    a = model_styles(["x", "y", "z"])
    assert a["y"] == model_styles(["x", "y"])["y"]
    assert len({s["color"] for s in model_styles([f"m{i}" for i in range(18)]).values()}) == 18
    assert PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73")  # Okabe-Ito


def test_wilson_interval_edges_and_a_known_value():
    lo, hi = wilson_interval([0, 10, 3, 5], [10, 10, 0, 10])
    assert lo[0] == pytest.approx(0.0, abs=1e-12) and hi[1] == pytest.approx(1.0)
    assert 0 < hi[0] < 0.35 and pd.isna(lo[2])
    # 5/10 at 95%: centre 0.5, half-width z/(1+z^2/n) * sqrt(p(1-p)/n + z^2/4n^2) = 0.2634
    assert (lo[3], hi[3]) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))


def test_terminal_tables_never_cut_a_header(report):
    from rich.console import Console

    for width in (60, 200):
        con = Console(width=width, record=True, file=io.StringIO())
        for item in terminal_tables(report["table"], report["suite"], width):
            con.print(item)
        text = con.export_text()
        assert "…" not in text
        for label in ("hit@10", "recall@5", "recall@20", "mrr@20"):
            assert label in text
        if width == 60:
            assert "M1 = hit@10" in text


def test_cli_report_format_latex_prints_the_table(report):
    from apc.cli import app

    res = CliRunner().invoke(app, ["bench", "report", str(report["html"].parent),
                                   "--format", "latex"])
    assert res.exit_code == 0, res.output
    assert r"\toprule" in res.stdout and res.stdout.count(r"\textbf{") >= 1
    bad = CliRunner().invoke(app, ["bench", "report", str(report["html"].parent),
                                   "--format", "docx"])
    assert bad.exit_code == 2


def test_cli_frame_tables_wrap_long_headers_instead_of_cutting_them():
    from rich.console import Console

    from apc.cli._common import frame_table

    frame = pd.DataFrame({"recall@100": [0.1], "ndcg_mpd_rules@500": [0.2],
                          "my_apc_models:RecencyCoOccurrence": [0.3]}, index=["m"])
    con = Console(width=40, record=True, file=io.StringIO())
    con.print(frame_table(frame))
    text = con.export_text()
    assert "…" not in text
    header = [ln for ln in text.splitlines() if ln.startswith("┃")]
    last = "".join(ln.split("┃")[-2].strip() for ln in header)  # the last column, top down
    assert last == "my_apc_models:RecencyCoOccurrence"


def test_a_reported_run_can_be_overwritten(tmp_path):
    # the vector figures and the summary_table.* files count as the run's own files
    from apc.cli import app

    out = tmp_path / "run"
    suite_file = tmp_path / "ow.toml"
    suite_file.write_text('[suite]\nname = "ow"\nseeds = [0]\ncutoff = 10\nmetrics = ["hit@10"]\n'
                          'n_boot = 20\nn_perm = 20\n[[datasets]]\nname = "tiny"\n'
                          'source = "synth:tiny"\n[protocol]\nname = "next-track"\n'
                          '[[models]]\nname = "popularity"\n')
    args = ["bench", "run", str(suite_file), "--out", str(out), "--no-cache"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (out / "plots" / "longtail_tiny.pdf").is_file() and (out / "summary_table.tex").is_file()
    res = CliRunner().invoke(app, [*args, "--overwrite"])
    assert res.exit_code == 0, res.output
