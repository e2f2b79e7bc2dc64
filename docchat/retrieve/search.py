"""Query → hits: run the retrievers the mode asks for, fuse, fetch the chunk texts."""

from __future__ import annotations

from docchat.embed.base import Embedder
from docchat.retrieve.dense import dense_search
from docchat.retrieve.keyword import keyword_search
from docchat.store.collection import Collection
from docchat.types import Hit

RRF_K = 60


def search(
    coll: Collection, embedder: Embedder | None, query: str, k: int, mode: str = "hybrid"
) -> list[Hit]:
    fetch = max(k * 4, 20)
    dense = dense_search(coll, embedder, query, fetch) if mode != "keyword" and embedder else []
    keyword = keyword_search(coll, query, fetch) if mode != "dense" else []
    explain: dict[int, dict[str, float | int | None]] = {}
    fused: dict[int, float] = {}
    for name, results in (("dense", dense), ("keyword", keyword)):
        for rank, (cid, score) in enumerate(results, start=1):
            e = explain.setdefault(cid, {})
            e[f"{name}_rank"], e[f"{name}_score"] = rank, score
            fused[cid] = fused.get(cid, 0.0) + (score if mode != "hybrid" else 1 / (RRF_K + rank))
    order = sorted(fused, key=lambda c: -fused[c])
    rows = coll.chunks(order[: k * 2])
    hits: list[Hit] = []
    for cid in order:
        row = rows.get(cid)
        if row is None:
            continue
        hits.append(
            Hit(
                rank=len(hits) + 1,
                score=fused[cid],
                chunk_id=cid,
                path=row.path,
                page=row.page,
                line_start=row.line_start,
                line_end=row.line_end,
                heading=row.heading,
                text=row.text,
                explain=explain[cid],
            )
        )
        if len(hits) == k:
            break
    return hits
