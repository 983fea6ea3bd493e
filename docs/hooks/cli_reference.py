"""MkDocs hook: generate the CLI reference page from the Typer app at build time.

The page is produced from the live click command tree, so it can never drift from the
code: every command, argument, option, default and help text comes from ``apc.cli``.
"""

from __future__ import annotations

import click
from mkdocs.structure.files import File

PAGE = "reference/cli.md"


def _escape(text: str) -> str:
    """Escape ``<``, ``>`` and ``&`` outside code spans (``synth:<preset>`` is no HTML tag)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even pieces lie outside backticks
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _render(cmd: click.Command, path: list[str], depth: int, out: list[str]) -> None:
    name = " ".join(path)
    out.append(f"{'#' * min(depth, 6)} `{name}`\n")
    if cmd.help:
        out.append(_escape(cmd.help.strip()) + "\n")
    ctx = getattr(cmd, "context_class", click.Context)(cmd, info_name=path[-1])
    pieces = cmd.collect_usage_pieces(ctx)
    out.append(f"```text\n{name} {' '.join(pieces)}\n```\n")
    rows = []
    for p in cmd.get_params(ctx):
        if p.name == "help":
            continue
        if getattr(p, "param_type_name", "") == "argument":
            label, kind = (p.name or "").upper(), "argument"
        else:
            label, kind = ", ".join(p.opts + p.secondary_opts), "option"
        default = "" if p.default in (None, (), []) or callable(p.default) else f"`{p.default}`"
        help_text = _escape(getattr(p, "help", None) or "").replace("|", "\\|").replace("\n", " ")
        # the value an option takes: its metavar or choices (<a|b>), nothing for a flag
        shown = p.display_type_rich(ctx) if hasattr(p, "display_type_rich") else None
        value = f"`{shown}`" if shown and kind == "option" else ""  # a | in code: no escape
        rows.append(f"| `{label}` | {kind} | {value} | {help_text} | {default} |")
    if rows:
        out.append("| name | kind | value | help | default |\n|---|---|---|---|---|")
        out.extend(rows)
        out.append("")
    if hasattr(cmd, "list_commands"):  # a group (typer may vendor its own click)
        for sub_name in cmd.list_commands(ctx):
            _render(cmd.get_command(ctx, sub_name), path + [sub_name], depth + 1, out)


def cli_markdown() -> str:
    """Markdown for the whole ``apc`` command tree."""
    import typer

    from apc.cli import app

    root = typer.main.get_command(app)
    out = [
        "# CLI reference\n",
        "Generated from the Typer app at documentation build time. Every error a user can "
        "cause (a missing, unreadable or non-UTF-8 file, a malformed record, TOML, JSON, "
        "parquet or pickle, an unknown option or model, an output that cannot be written or "
        "would destroy an input, a full or read-only disk) prints one line "
        "`apc: error: ...` naming the file, record and field, writes nothing, and exits with "
        "status 2; outputs are checked before the work starts. A usage error (a missing or "
        "malformed option) shows click's box under `Try 'apc COMMAND --help' for help.` and "
        "exits with status 2. Warnings print as one line `apc: warning: ...`; anything else "
        "is a bug in apc and keeps its traceback.\n",
    ]
    _render(root, ["apc"], 2, out)
    return "\n".join(out)


def on_files(files, config):
    """Add the generated page to the site."""
    files.append(File.generated(config, PAGE, content=cli_markdown()))
    return files
