"""Plain text, Markdown, reStructuredText and source code.

The text is kept byte-for-byte apart from decoding and newline normalisation, so the line
numbers docchat cites are the ones an editor or `grep -n` shows for the same file.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from docchat.errors import UnsupportedFile, missing
from docchat.ingest.parsers.common import normalize_newlines, read_bytes
from docchat.types import Heading, Page, ParsedDocument

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".mdx")
RST_SUFFIXES = (".rst", ".rest")
ORG_SUFFIXES = (".org",)
ASCIIDOC_SUFFIXES = (".adoc", ".asciidoc")
PLAIN_SUFFIXES = (".txt", ".text", ".log", ".csv", ".tsv", ".tex", ".srt", ".vtt")
CODE_SUFFIXES = (
    ".py", ".pyi", ".pyx", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".vue", ".svelte",
    ".go", ".rs", ".java", ".kt", ".kts", ".scala", ".groovy", ".gradle", ".swift",
    ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".m", ".mm", ".cs", ".fs",
    ".rb", ".php", ".pl", ".pm", ".lua", ".r", ".jl", ".dart", ".zig", ".nim", ".hs",
    ".ex", ".exs", ".erl", ".clj", ".ml", ".elm",
    ".sh", ".bash", ".zsh", ".fish", ".ps1", ".bat", ".cmd",
    ".sql", ".graphql", ".proto", ".css", ".scss", ".sass", ".less",
    ".yaml", ".yml", ".toml", ".json", ".jsonl", ".ini", ".cfg", ".conf", ".properties",
    ".xml", ".tf", ".hcl", ".cmake", ".mk", ".dockerfile", ".nix",
)  # fmt: skip
# Extension-less files people keep next to their code and expect to be searchable.
CODE_NAMES = (
    "Makefile", "GNUmakefile", "makefile", "Dockerfile", "Containerfile", "Jenkinsfile",
    "Vagrantfile", "Procfile", "Gemfile", "Rakefile", "Justfile", "justfile",
)  # fmt: skip
DOC_NAMES = ("README", "LICENSE", "COPYING", "AUTHORS", "CHANGELOG", "NOTICE", "CONTRIBUTING")

_SNIFF_BYTES = 8192
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
_BOMS = (  # longest first: the UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes) -> str:
    """Decode file bytes to text, or raise UnsupportedFile for binary and empty files.

    UTF-8 is tried first because it is by far the most common and charset-normalizer is slow
    on large files; a BOM is trusted before the NUL test since UTF-16 text is full of NULs.
    """
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise UnsupportedFile("binary file") from None
            break
    if text is None and b"\x00" in data[:_SNIFF_BYTES]:
        text = _utf16_without_bom(data)
        if text is None:
            raise UnsupportedFile("binary file")
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detect(data)
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise UnsupportedFile("empty file")
    return normalize_newlines(text)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a BOM (some Windows tools do), else None.

    Text in a Latin or common script has a NUL as every other byte, always on the same side;
    binary files have NULs anywhere. The decoded text must then look like text too.
    """
    sample = data[:_SNIFF_BYTES]
    if len(data) % 2 or len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.6 * len(zeros) and others.count(0) <= 0.01 * len(others):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            head = text[: _SNIFF_BYTES // 2]
            printable = sum(1 for c in head if c.isprintable() or c in "\n\r\t")
            return text if printable >= 0.95 * len(head) else None
    return None


def _detect(data: bytes) -> str:
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        raise missing("charset-normalizer", "reading text files that are not UTF-8") from None
    results = from_bytes(data)
    best = results.best()
    if best is None:
        raise UnsupportedFile("binary file")
    # Latin-script text often fits several 8-bit code pages equally well (è in Latin-1 is č in
    # cp1250); on a tie, the Western one is by far the likeliest for a user's documents.
    for match in results:
        same = match.chaos == best.chaos and match.coherence == best.coherence
        if same and match.encoding in _WESTERN:
            return str(match)
    return str(best)


def read_text(path: Path) -> str:
    """The decoded, newline-normalised text of a file (see `decode`)."""
    return decode(read_bytes(path))


# ---------------------------------------------------------------- headings

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST_OR_QUOTE = re.compile(r"^ {0,3}([-+*>]|\d+[.)])([ \t]|$)")


def markdown_headings(text: str) -> tuple[Heading, ...]:
    """ATX (`# Title`) and setext (underlined) headings outside fenced code and front matter."""
    lines = text.split("\n")
    headings: list[Heading] = []
    fence: str | None = None
    start = _front_matter_end(lines)
    for i in range(start, len(lines)):
        line = lines[i]
        m = _FENCE.match(line)
        if fence is not None:
            closing = m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)
            if closing and not line.strip().strip(fence[0]):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        if (m := _ATX.match(line)) and m.group(2):
            headings.append(Heading(i + 1, len(m.group(1)), m.group(2).strip()))
        elif i > start and _SETEXT.match(line) and _is_setext_text(lines[i - 1]):
            if headings and headings[-1].line == i:  # "# x" then "---" is a rule, not a title
                continue
            level = 1 if line.strip()[0] == "=" else 2
            headings.append(Heading(i, level, lines[i - 1].strip()))
    return tuple(headings)


def _front_matter_end(lines: list[str]) -> int:
    """Index of the first line after YAML front matter (its `---` would read as setext)."""
    if not lines or lines[0].rstrip() != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return i + 1
    return 0


def _is_setext_text(line: str) -> bool:
    stripped = line.strip()
    return (
        bool(stripped)
        and not line.startswith(("    ", "\t"))
        and not _LIST_OR_QUOTE.match(line)
        and not _SETEXT.match(line)
        and not _FENCE.match(line)
    )


_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:_.])\1+[ \t]*$")


def rst_headings(text: str) -> tuple[Heading, ...]:
    """Section titles: a line underlined (optionally also overlined) with punctuation.

    As in docutils, levels are given by the order in which adornment styles first appear.
    """
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    headings: list[Heading] = []
    for i in range(len(lines) - 1):
        title = lines[i].strip()
        under = _RST_ADORNMENT.match(lines[i + 1])
        if not under or not title or _RST_ADORNMENT.match(lines[i]):
            continue
        if len(lines[i + 1].rstrip()) < len(lines[i].rstrip()):
            continue
        above = lines[i - 1] if i > 0 else ""
        overlined = above.rstrip() == lines[i + 1].rstrip()
        if not overlined and (lines[i][0] in " \t" or above.strip()):
            continue  # an indented line or one inside a paragraph is not a title
        if overlined and i > 1 and lines[i - 2].strip():
            continue
        style = (under.group(1), overlined)
        if style not in styles:
            styles.append(style)
        headings.append(Heading(i + 1, styles.index(style) + 1, title))
    return tuple(headings)


_ORG = re.compile(r"^(\*+)[ \t]+(\S.*?)[ \t]*$")
_ASCIIDOC = re.compile(r"^(={1,6})[ \t]+(\S.*?)[ \t]*$")


def _prefix_headings(text: str, pattern: re.Pattern[str]) -> tuple[Heading, ...]:
    out = []
    for i, line in enumerate(text.split("\n")):
        if m := pattern.match(line):
            out.append(Heading(i + 1, len(m.group(1)), m.group(2)))
    return tuple(out)


# ---------------------------------------------------------------- parser


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in RST_SUFFIXES:
        return "rst"
    if suffix in ORG_SUFFIXES:
        return "org"
    if suffix in ASCIIDOC_SUFFIXES:
        return "asciidoc"
    if suffix in CODE_SUFFIXES or path.name in CODE_NAMES:
        return "code"
    return "text"


def headings_for(kind: str, text: str) -> tuple[Heading, ...]:
    """The headings of `text` written in the markup `kind` (none for code and plain text)."""
    if kind == "markdown":
        return markdown_headings(text)
    if kind == "rst":
        return rst_headings(text)
    if kind == "org":
        return _prefix_headings(text, _ORG)
    if kind == "asciidoc":
        return _prefix_headings(text, _ASCIIDOC)
    return ()


def title_from(headings: tuple[Heading, ...]) -> str | None:
    """The first top-level heading, which is what a reader calls the document's title."""
    if not headings:
        return None
    top = min(h.level for h in headings)
    return next(h.title for h in headings if h.level == top)


def parse_text(path: Path) -> ParsedDocument:
    """Parse a text-like file into one page (`number` None)."""
    text = read_text(path)
    kind = _kind(path)
    headings = headings_for(kind, text)
    title = title_from(headings) if kind != "code" else None
    return ParsedDocument(pages=(Page(text=text, headings=headings),), title=title, kind=kind)
