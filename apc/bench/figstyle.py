"""House style of the benchmark figures: palette, legends, group order and file formats.

* **Colours.** The Okabe-Ito palette (Okabe & Ito 2008; Wong 2011), designed to stay
  distinguishable under the common forms of colour-vision deficiency, then Paul Tol's
  "muted" scheme for models beyond the eighth; each model keeps its colour, marker and
  line style in every figure of a report (:func:`model_styles`, by suite order).
* **Legends** sit outside the axes (right of the plot, or below a row of panels), so they
  never cover data.
* **Groups** are shown in numeric order where they are numbers (``1, 2, …, 10``, not
  ``1, 10, 2``), with a named axis (:func:`group_axis_name`).
* **Files.** Every figure is written three times: PNG at :data:`DPI` dpi, SVG and PDF
  (vector, for papers), each atomically and without time stamps, so the same run gives
  byte-identical vector files.

References
----------
M. Okabe and K. Ito, "Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people", J*Fly, 2008.

B. Wong, "Points of view: Color blindness", *Nature Methods* 8, 441, 2011,
doi:10.1038/nmeth.1618.

P. Tol, "Colour schemes", SRON technical note SRON/EPS/TN/09-002, 2021.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from apc._atomic import atomic_write_bytes

#: Resolution of the PNG files (the SVG and PDF beside them are vector).
DPI = 200
#: The formats every figure is written in, the first one being the one returned.
FORMATS = ("png", "svg", "pdf")

#: Okabe-Ito (black moved last), then Tol's muted scheme.
PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255",
    "#AA4499", "#DDDDDD",
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
LINESTYLES = ("-", "--", "-.", ":")


def model_styles(models: list[str]) -> dict[str, dict[str, str]]:
    """Give each model a colour, marker and line style, the same in every figure.

    Parameters
    ----------
    models : list of str
        Model names in suite order (the order fixes the assignment).

    Returns
    -------
    dict
        ``{model: {"color", "marker", "linestyle"}}``; colours repeat (with another line
        style) only beyond :data:`PALETTE`'s 18 entries.
    """
    n = len(PALETTE)
    return {
        m: {
            "color": PALETTE[i % n],
            "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[(i // n) % len(LINESTYLES)],
        }
        for i, m in enumerate(models)
    }


_NUMBER = re.compile(r"^-?\d+(\.\d+)?")


def group_sort_key(label: str) -> tuple:
    """Sort key putting numeric labels (``"2"``, ``"10"``, ``"3-4"``, ``"5+"``) in numeric order.

    Labels that start with a number come first, by that number; the others follow
    alphabetically.

    Examples
    --------
    >>> sorted(["10", "2", "1", "3-4", "5+"], key=group_sort_key)
    ['1', '2', '3-4', '5+', '10']
    """
    m = _NUMBER.match(str(label))
    if m:
        return (0, float(m.group(0)), str(label))
    return (1, 0.0, str(label))


#: Axis name of the ``category`` column of each protocol's queries.
GROUP_AXIS = {
    "next-track": "target position in the playlist (10 = 10 or later)",
    "continuation": "number of seed tracks",
    "cold-start": "number of seed tracks",
    "mpd-challenge": "MPD challenge category",
}


def group_axis_name(protocol: str | None, default: str = "category") -> str:
    """Name the axis of a by-group figure after what the protocol's categories are.

    Parameters
    ----------
    protocol : str or None
        The run's protocol name.
    default : str
        Name used for a protocol not in :data:`GROUP_AXIS`.

    Returns
    -------
    str
    """
    return GROUP_AXIS.get(protocol or "", default)


def legend_outside(ax_or_fig, handles=None, labels=None, *, below: bool = False, ncol: int = 1):
    """Place the legend outside the data area (right of an axes, or below a figure).

    Parameters
    ----------
    ax_or_fig : matplotlib Axes or Figure
        Where the legend belongs.
    handles, labels : list, optional
        Legend entries (default: the artists of ``ax_or_fig``).
    below : bool
        Put it below the panels (for a figure with several axes).
    ncol : int
        Number of legend columns.
    """
    kw = {"fontsize": 8, "frameon": False, "ncol": ncol}
    args = (handles, labels) if handles is not None else ()
    if below:
        ax_or_fig.legend(*args, loc="upper center", bbox_to_anchor=(0.5, 0.0), **kw)
    else:
        ax_or_fig.legend(*args, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                         borderaxespad=0.0, **kw)


def save_figure(fig, path: Path) -> list[Path]:
    """Write ``fig`` as PNG (:data:`DPI` dpi), SVG and PDF beside each other.

    Parameters
    ----------
    fig : matplotlib Figure
        The figure (legends outside the axes are kept by ``bbox_inches="tight"``).
    path : Path
        Target path; its suffix is replaced by each format's.

    Returns
    -------
    list of Path
        The files written, PNG first.
    """
    import matplotlib

    out = []
    for fmt in FORMATS:
        target = Path(path).with_suffix("." + fmt)
        buf = io.BytesIO()
        meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
        with matplotlib.rc_context({"svg.hashsalt": "apc", "svg.fonttype": "none"}):
            fig.savefig(buf, format=fmt, dpi=DPI, bbox_inches="tight", metadata=meta)
        atomic_write_bytes(target, buf.getvalue())
        out.append(target)
    return out
