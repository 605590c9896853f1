"""Sample artifacts of token sequences: generated vs real text as a table and an HTML page, and as text."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import torch

from ganforge.modalities.tokens.data import decode

TABLE_ROWS = 64


def decode_all(ids: torch.Tensor, info: dict[str, Any]) -> list[str]:
    vocab = info.get("vocab")
    return [decode(row, vocab, info.get("tokenizer", "ids"), info.get("pad_id")) for row in ids.tolist()]


def write_text(ids: torch.Tensor, out_dir: Path, info: dict[str, Any], name: str = "samples.txt") -> Path:
    """One decoded sequence per line (the format `dataset: text` / `token_ids` reads back)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text("\n".join(decode_all(ids, info)) + "\n", encoding="utf-8")
    return path


def text_table(fakes: torch.Tensor, reals: torch.Tensor, info: dict[str, Any]) -> dict[str, list[Any]]:
    n = min(TABLE_ROWS, len(fakes), len(reals))
    return {
        "index": list(range(n)),
        "generated": decode_all(fakes[:n], info),
        "real": decode_all(reals[:n], info),
    }


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 12px; color: #222; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }}
td {{ font-family: ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }}
th {{ position: sticky; top: 0; background: #f4f4f4; }}
col.index {{ width: 3.5em; }}
</style></head>
<body><p>{title}: generated sequences beside real ones (decoded; rows are not paired).</p>
<table><colgroup><col class="index"><col><col></colgroup>
<thead><tr><th>#</th><th>generated</th><th>real</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""


def write_html_table(
    fakes: torch.Tensor, reals: torch.Tensor, out_dir: Path, info: dict[str, Any], title: str = "samples"
) -> Path:
    """`samples.html`: the decoded table as a page MLflow's artifact viewer shows whole.

    MLflow's table view cuts each column at a fixed width; its viewer renders `.html`
    artifacts as pages, where long sequences wrap instead.
    """
    table = text_table(fakes, reals, info)
    rows = "\n".join(
        f"<tr><td>{i}</td><td>{html.escape(g)}</td><td>{html.escape(r)}</td></tr>"
        for i, g, r in zip(table["index"], table["generated"], table["real"], strict=True)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "samples.html"
    path.write_text(_PAGE.format(title=html.escape(title), rows=rows), encoding="utf-8")
    return path
