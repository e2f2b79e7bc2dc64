"""What the MCP tools return: typed results, from which the SDK derives each tool's output
schema (and fills `structuredContent`; the same JSON also goes out as text for older clients).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Passage(BaseModel):
    rank: int
    path: str
    page: int | None = Field(description="1-based PDF page; null for unpaged files")
    line_start: int = Field(description="1-based first line, in the page's extracted text")
    line_end: int
    heading: str | None
    score: float
    text: str


class SearchResult(BaseModel):
    collection: str
    query: str
    passages: list[Passage]


class AnswerSource(BaseModel):
    n: int = Field(description="the number the answer cites it by, as [n]")
    path: str
    page: int | None
    line_start: int
    line_end: int
    heading: str | None
    score: float
    text: str
    cited: bool


class AnswerClaim(BaseModel):
    text: str = Field(description="a sentence or list item of the answer as the model wrote it")
    sources: list[int] = Field(description="the sources that support it, best first")
    marked: list[int] = Field(description="the sources the model cited in it")
    supported: bool
    score: float


class AskResult(BaseModel):
    answer: str
    sources: list[AnswerSource]
    cited: list[int] = Field(
        description="source numbers cited in the answer, in order (after the claim check: "
        "the sources that support its claims)"
    )
    abstained: bool = Field(
        description="true: nothing relevant was found (the model was not asked), or no claim "
        "of the model's answer is supported by the sources"
    )
    stopped: bool
    repeated: bool = Field(
        False,
        description="true: the model began to repeat itself and was stopped; the answer ends "
        "before the repetition",
    )
    query: str = Field(description="the search query (a follow-up's standalone rewrite)")
    model: str
    session: int | None
    claims: list[AnswerClaim] = Field(
        default_factory=list, description="the answer's claims, checked against the sources"
    )
    support: float | None = Field(None, description="the fraction of claims supported")


class CollectionSummary(BaseModel):
    name: str
    documents: int
    chunks: int
    model: str | None = Field(description="embedding model")
    size_bytes: int
    last_indexed: float | None = Field(description="unix time")


class CollectionList(BaseModel):
    collections: list[CollectionSummary]


class PassageText(BaseModel):
    path: str
    page: int | None
    line_start: int
    line_end: int
    text: str = Field(description="exactly lines line_start..line_end")
    before: str = Field(description="the lines just before")
    after: str = Field(description="the lines just after")
    changed_since_indexed: bool = Field(description="the file changed: lines may have moved")


class IndexResult(BaseModel):
    collection: str
    indexed: int
    unchanged: int
    skipped: int
    failed: int
    removed: int
    chunks_added: int
    chunks_removed: int
    seconds: float
    failed_files: list[dict[str, str]]
