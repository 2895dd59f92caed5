"""Small documents made in the test, in each format the extractors read."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from typing import IO


def make_pdf(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def make_encrypted_pdf(text: str, password: str = "s3cret") -> bytes:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(make_pdf([text])))
    writer = pypdf.PdfWriter(clone_from=reader)
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Test Agreement", level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def make_docx_with_body(write_body: Callable[[IO[bytes]], None], *, level: int = 6) -> bytes:
    """A valid DOCX (python-docx's own skeleton) whose word/document.xml body is written by
    `write_body`, streamed, so the XML can be far larger than memory would like."""
    import zipfile

    skeleton = zipfile.ZipFile(io.BytesIO(make_docx([])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for info in skeleton.infolist():
            if info.filename != "word/document.xml":
                archive.writestr(info, skeleton.read(info))
                continue
            with archive.open("word/document.xml", "w", force_zip64=True) as member:
                member.write(b'<?xml version="1.0" encoding="UTF-8"?><w:document ' + _W + b">")
                member.write(b"<w:body>")
                write_body(member)
                member.write(b"</w:body></w:document>")
    return out.getvalue()


def paragraph_xml(text: bytes) -> bytes:
    return b"<w:p><w:r><w:t>" + text + b"</w:t></w:r></w:p>"


def make_zip_bomb_docx(expanded_mib: int = 300) -> bytes:
    """A DOCX whose word/document.xml is `expanded_mib` MiB of empty paragraphs, compressed
    about 1000:1 (a few hundred KB on disk): deflate's best case is a short repeat."""
    megabyte = b"<w:p/>" * (1024 * 1024 // 6) + b" " * (1024 * 1024 % 6)

    def body(member: IO[bytes]) -> None:
        for _ in range(expanded_mib):
            member.write(megabyte)

    return make_docx_with_body(body, level=9)


def understate_member_size(data: bytes, name: str, declared: int) -> bytes:
    """The same ZIP with `name`'s uncompressed size in its local and central headers replaced
    by `declared`: a header that lies."""
    import struct
    import zipfile

    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    patched = bytearray(data)
    struct.pack_into("<I", patched, info.header_offset + 22, declared)
    central = patched.rfind(b"PK\x01\x02", 0, patched.rfind(name.encode()))
    struct.pack_into("<I", patched, central + 24, declared)
    return bytes(patched)


def make_large_docx(paragraphs: int, words_per_paragraph: int) -> bytes:
    """A legal DOCX of varied text (it compresses about 3:1, not like a bomb)."""
    rng = random.Random(2025)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = ["".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(3000)]
    pool = [
        paragraph_xml(" ".join(rng.choices(vocabulary, k=words_per_paragraph)).encode())
        for _ in range(40)
    ]

    def body(member: IO[bytes]) -> None:
        for n in range(paragraphs):
            member.write(pool[n % len(pool)])

    return make_docx_with_body(body, level=1)


def make_pdf_with_blank_pages(count: int) -> bytes:
    """A PDF of `count` blank pages in one flat page tree, written by hand: pypdf's writer takes
    seconds for thousands of pages."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets: list[int] = []

    def add(body: bytes) -> None:
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (len(offsets), body))

    kids = b" ".join(b"%d 0 R" % n for n in range(3, count + 3))
    add(b"<< /Type /Catalog /Pages 2 0 R >>")
    add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count))
    for _ in range(count):
        add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(offsets) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def render_page(lines: list[str]):
    """A page as a scanner would give it: black text on white, 150 dpi, letter size."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1275, 1650), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for i, line in enumerate(lines):
        draw.text((120, 150 + 80 * i), line, fill=0, font=font)
    return image


def make_scanned_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of page images and no text layer (Pillow writes each image as a page)."""
    images = [render_page(lines) for lines in pages]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=150)
    return out.getvalue()


def make_image(lines: list[str], format: str = "PNG") -> bytes:
    out = io.BytesIO()
    render_page(lines).save(out, format=format)
    return out.getvalue()


def make_pdf_with_a_scanned_page(text_page: str, scanned_lines: list[str]) -> bytes:
    """Page 1 has a text layer, page 2 is a scanned image only."""
    import pypdf

    writer = pypdf.PdfWriter()
    for data in (make_pdf([text_page]), make_scanned_pdf([scanned_lines])):
        for page in pypdf.PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
