"""Self-contained HTML pages (figures embedded as PNG data, styles inline, no script or network):
the fit report of a calibration and the report of a comparison are written with these."""

from __future__ import annotations

import base64
import html
import io

import pandas as pd

STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}"
         "table.data{border-collapse:collapse;font-size:12px;margin:0.5em 0}"
         "table.data td,table.data th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
         "table.data th{background:#f4f4f4}table.data td:first-child,table.data th:first-child{text-align:left}"
         "img{max-width:100%}p.note{color:#555;font-size:13px}details{margin:0.5em 0}"
         "nav a{margin-right:1em}")


def png(fig, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes, without the software stamp (the bytes depend on the
    figure only), and the figure closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def image(data: bytes, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{base64.b64encode(data).decode()}'>"


def table(df: pd.DataFrame, index: bool = False, digits: int = 4) -> str:
    return df.to_html(index=index, float_format=lambda v: f"{v:,.{digits}g}", classes="data", border=0,
                      na_rep="–")


def text(s: str) -> str:
    return html.escape(s)


def page(title: str, body: list[str]) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")
