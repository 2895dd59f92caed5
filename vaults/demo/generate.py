"""Regenerate the demo vault's files from the Markdown sources in src/:

    python -m vaults.demo.generate

files/NDA.pdf (fpdf2; `<!-- page -->` in the source starts a new page, so clauses sit on known
pages), files/Master-Services-Agreement.docx (python-docx) and files/Office-Lease.md (a copy).
The generated files are committed, so the quickstart never needs this script or its libraries.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
OUT = HERE / "files"
PAGE_BREAK = "<!-- page -->"
FIXED_DATE = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)  # reproducible output


def blocks(markdown: str) -> Iterator[tuple[str, object]]:
    """("title" | "heading" | "paragraph" | "page", text) and ("table", rows)."""
    table: list[list[str]] = []
    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= {"-", " ", ":"} for c in cells):
                table.append(cells)
            continue
        if table:
            yield "table", table
            table = []
        if not line:
            continue
        if line == PAGE_BREAK:
            yield "page", ""
        elif line.startswith("# "):
            yield "title", line[2:]
        elif line.startswith("## "):
            yield "heading", line[3:]
        else:
            yield "paragraph", line
    if table:
        yield "table", table


def build_pdf(source: Path, target: Path, footer: str) -> int:
    from fpdf import FPDF

    class Document(FPDF):
        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "", 8)
            self.cell(0, 10, f"{footer} - Page {self.page_no()}", align="C")

    pdf = Document(format="Letter")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(footer)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(22, 20, 22)
    pdf.add_page()
    expected_pages = 1
    for kind, text in blocks(source.read_text()):
        if kind == "page":
            pdf.add_page()
            expected_pages += 1
        elif kind == "title":
            pdf.set_font("Helvetica", "B", 14)
            pdf.multi_cell(0, 8, str(text), align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        elif kind == "heading":
            pdf.set_font("Helvetica", "B", 10.5)
            pdf.multi_cell(0, 6, str(text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "paragraph":
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, str(text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2.5)
    if pdf.page_no() != expected_pages:
        raise SystemExit(f"{source.name}: text overflowed a page ({pdf.page_no()} pages)")
    pdf.output(str(target))
    return pdf.page_no()


def build_docx(source: Path, target: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.created = FIXED_DATE.replace(tzinfo=None)
    document.core_properties.modified = FIXED_DATE.replace(tzinfo=None)
    document.core_properties.author = "agentexec demo"
    for kind, value in blocks(source.read_text()):
        if kind == "title":
            document.add_heading(str(value), level=0)
        elif kind == "heading":
            document.add_heading(str(value), level=1)
        elif kind == "paragraph":
            document.add_paragraph(str(value))
        elif kind == "table":
            rows = value if isinstance(value, list) else []
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    document.save(str(target))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    pages = build_pdf(SRC / "nda.md", OUT / "NDA.pdf", "Mutual NDA - Northwind / Bluejay")
    build_docx(SRC / "msa.md", OUT / "Master-Services-Agreement.docx")
    shutil.copyfile(SRC / "lease.md", OUT / "Office-Lease.md")
    print(f"wrote {OUT}/NDA.pdf ({pages} pages), Master-Services-Agreement.docx, Office-Lease.md")


if __name__ == "__main__":
    main()
