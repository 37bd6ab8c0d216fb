"""The report page as HTML, without a Markdown package: the subset ``Page`` writes.

Blocks (separated by blank lines): ``#``..``######`` headings, GitHub-style
tables (a header row, a ``|---|`` rule, rows), images alone on their line
(``![alt](file)``), ``-`` lists, fenced code blocks (three backticks) and
paragraphs. Inline: ``code``, ``**bold**``, links ``[text](url)`` and
images. Everything else is text, HTML-escaped: a report's notes may hold
any Markdown, which then shows as written rather than breaking the page.
"""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_IMAGE_LINE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")
_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|!\[([^\]]*)\]\(([^)\s]+)\)"
                     r"|\[([^\]]+)\]\(([^)\s]+)\)")

STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
         "padding:0 1em;line-height:1.45;color:#222}"
         "table{border-collapse:collapse;font-size:13px;margin:1em 0;display:block;"
         "overflow-x:auto}"
         "th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;white-space:nowrap}"
         "th{background:#eee}tr:nth-child(even) td{background:#f8f8f8}"
         "img{max-width:100%;height:auto;display:block;margin:1em 0}"
         "code{background:#f2f2f2;padding:0 3px}pre{background:#f6f6f6;padding:8px;"
         "overflow-x:auto}")


def inline(text: str) -> str:
    """One line's inline Markdown (code, bold, images, links) as HTML; the rest escaped."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        code, bold, alt, src, label, url = m.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{html.escape(bold)}</strong>")
        elif src is not None:
            out.append(f'<img alt="{html.escape(alt)}" src="{html.escape(src)}">')
        else:
            out.append(f'<a href="{html.escape(url)}">{inline(label)}</a>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") else row
    return [c.strip() for c in row.split("|")]


def _table(lines: list[str]) -> str:
    head = "".join(f"<th>{inline(c)}</th>" for c in _cells(lines[0]))
    body = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in _cells(r)) + "</tr>\n"
                   for r in lines[2:])
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _is_table(lines: list[str]) -> bool:
    return len(lines) >= 2 and lines[0].lstrip().startswith("|") and bool(_RULE.match(lines[1]))


def _block(lines: list[str]) -> str:
    """One block of non-blank lines as HTML."""
    first = lines[0]
    heading = _HEADING.match(first)
    if heading:
        level = len(heading.group(1))
        rest = "\n" + _block(lines[1:]) if len(lines) > 1 else ""
        return f"<h{level}>{inline(heading.group(2))}</h{level}>{rest}"
    if _is_table(lines):
        return _table(lines)
    if len(lines) == 1 and (image := _IMAGE_LINE.match(first)):
        alt, src = html.escape(image.group(1)), html.escape(image.group(2))
        return f'<figure><img alt="{alt}" src="{src}"></figure>'
    if all(ln.lstrip().startswith(("- ", "* ")) for ln in lines):
        items = "".join(f"<li>{inline(ln.lstrip()[2:])}</li>\n" for ln in lines)
        return f"<ul>\n{items}</ul>"
    return "<p>" + "\n".join(inline(ln) for ln in lines) + "</p>"


def markdown_to_html(md: str) -> str:
    """The body of the page (block elements) for Markdown text ``md``."""
    parts: list[str] = []
    block: list[str] = []
    fence: list[str] | None = None
    for line in md.splitlines():
        if fence is not None:
            if line.strip().startswith("```"):
                parts.append("<pre><code>" + html.escape("\n".join(fence)) + "</code></pre>")
                fence = None
            else:
                fence.append(line)
            continue
        if line.strip().startswith("```"):
            if block:
                parts.append(_block(block))
                block = []
            fence = []
        elif not line.strip():
            if block:
                parts.append(_block(block))
                block = []
        elif _HEADING.match(line) and block:  # a heading right after text starts a block
            parts.append(_block(block))
            block = [line]
        else:
            block.append(line)
    if fence is not None:  # unclosed: show it as written
        parts.append("<pre><code>" + html.escape("\n".join(fence)) + "</code></pre>")
    if block:
        parts.append(_block(block))
    return "\n".join(parts)


def page(md: str, title: str) -> str:
    """A whole HTML document for the Markdown ``md``."""
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{markdown_to_html(md)}\n</body></html>\n")
