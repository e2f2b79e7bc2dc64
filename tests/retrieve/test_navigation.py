"""Navigation-like chunks and page-level evidence (issue 14): detection on real-looking
contents, index and "see also" text vs prose, code and option lists; the re-scoring."""

from __future__ import annotations

from typing import get_args

import pytest

from docchat.retrieve.navigation import (
    PAGE_SUPPORTS,
    ChunkFacts,
    Structure,
    navigation_score,
    restructure,
    title_matches,
)

# The Debian Reference PDF's contents page as pypdf extracts it (words run together).
PDF_CONTENTS = """DebianReference v
1.3.1 CustomizationofMC. . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 17
1.3.2 StartingMC. . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 17
1.3.3 FilemanagerinMC . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 17
1.4 ThebasicUnix-likeworkenvironment . . . . . . . . . . . . . . . . . . . . . . . . . 19
1.4.1 Theloginshell . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 19
2 Debianpackagemanagement 37"""

LIST_OF_TABLES = """DebianReference xviii
2.3 ListofDebianarchivearea . . . . . . . . . . . . . . . . . . . . . . . . . . . . 41
2.4 Therelationshipbetweensuiteandcodename . . . . . . . . . . . . . . . . . . . . 42
2.5 Listofkeywebsitetoresolvingproblemswithaspecificpackage . . . . . . . . . . 46"""

BOOK_INDEX = """Index
Locking, 13.3, 67
  advisory locks, 13.3.5
Logical replication, 31
  publication, 31.1, 702
Logging, 20.8, 590-612
Lost updates, 13.2.1"""

SEE_ALSO = """SEE ALSO
git-commit[1], git-diff[1]
git-log[1], git-show[1]
gitrevisions(7), gittutorial(7)"""

MARKDOWN_LINKS = """- [Installation](install.html)
- [Getting started](start.html)
- [Configuration](config.html)
- [Upgrading](upgrade.html)"""

PROSE = """CREATE INDEX constructs an index on the specified column(s) of the specified
relation, which can be a table or a materialized view. Indexes are primarily used to
enhance database performance (though inappropriate use can result in slower performance).
The key field(s) for the index are specified as column names, or alternatively as
expressions written in parentheses. Multiple fields can be specified if the index method
supports multicolumn indexes."""

PDF_PROSE = """DebianReference 45/ 233
2.1.7 The event flow of the package management
HereisasummaryofthesimplifiedeventflowofthepackagemanagementbyAPT.
Thedownloadedpackagesarekeptinthecachedirectoryuntiltheyarecleanedup.
Thisisdonebyaptautocleanoraptclean,whichyoushouldrunfromtimetotime."""

OPTIONS = """pg_upgrade accepts the following command-line arguments:
- `-b` *`bindir`*
`--old-bindir=`*`bindir`*
- the old PostgreSQL executable directory;
      environment variable `PGBINOLD`
- `-c`
`--check`
- check clusters only, don't change any data"""

CODE = """```
ALTER TABLE distributors
    ALTER COLUMN address TYPE varchar(80),
    ALTER COLUMN name TYPE varchar(100);
```"""


# PostgreSQL's ALTER TABLE page (sql-altertable.html, as the HTML parser writes it): the
# examples — "To ...:" lines introducing ``` blocks of short SQL lines — and the synopsis,
# indented keyword lines. Both once scored 0.15-0.16 (short title-like lines).
SQL_EXAMPLES = """To drop a column from a table:

ALTER TABLE distributors DROP COLUMN address RESTRICT;

To change the types of two existing columns in one operation:

```
ALTER TABLE distributors
    ALTER COLUMN address TYPE varchar(80),
    ALTER COLUMN name TYPE varchar(100);
```

To rename an existing column:

ALTER TABLE distributors RENAME COLUMN address TO city;

To rename an existing table:

ALTER TABLE distributors RENAME TO suppliers;

To add a check constraint to a table:"""

SQL_SYNOPSIS = """DISABLE RULE *`rewrite_rule_name`*
    ENABLE RULE *`rewrite_rule_name`*
    DISABLE ROW LEVEL SECURITY
    ENABLE ROW LEVEL SECURITY
    FORCE ROW LEVEL SECURITY
    NO FORCE ROW LEVEL SECURITY
    CLUSTER ON *`index_name`*
    SET WITHOUT CLUSTER
    SET WITHOUT OIDS
    SET TABLESPACE *`new_tablespace`*
    NOT OF
and *`partition_bound_spec`* is:"""

# The same PDF's contents page as pypdfium2 reads it (the parser's text since session 23).
PDF_CONTENTS_SPACED = """Debian Reference iv
Contents
1 GNU/Linux tutorials 1
1.1 Console basics . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 1
1.1.1 The shell prompt . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 1
1.1.2 The shell prompt under GUI . . . . . . . . . . . . . . . . . . . . . . . . . . . . 2
1.1.3 The root account . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . 2"""


@pytest.mark.parametrize(
    "text",
    [PDF_CONTENTS, PDF_CONTENTS_SPACED, LIST_OF_TABLES, BOOK_INDEX, SEE_ALSO, MARKDOWN_LINKS],
)
def test_contents_index_and_link_lists_are_navigation(text: str) -> None:
    assert navigation_score(text) >= 0.7


@pytest.mark.parametrize("text", [PROSE, PDF_PROSE, OPTIONS, CODE, "One line.", ""])
def test_prose_code_and_option_lists_are_not(text: str) -> None:
    assert navigation_score(text) <= 0.3


@pytest.mark.parametrize("text", [SQL_EXAMPLES, SQL_SYNOPSIS], ids=["examples", "synopsis"])
def test_sql_examples_and_synopsis_are_not_navigation(text: str) -> None:
    assert navigation_score(text) < 0.05


def facts(**chunks: tuple[int, int | None, str]) -> dict[int, ChunkFacts]:
    return {int(k[1:]): ChunkFacts((doc, page), text) for k, (doc, page, text) in chunks.items()}


def test_navigation_penalty_moves_a_contents_chunk_below_the_section() -> None:
    ranked = [(1, 3.0), (2, 2.8), (3, 0.5), (4, 0.0)]
    f = facts(c1=(1, 6, PDF_CONTENTS), c2=(1, 40, PROSE), c3=(1, 41, PROSE), c4=(1, 42, PROSE))
    off, _ = restructure(ranked, f, Structure())
    assert [c for c, _ in off] == [1, 2, 3, 4]
    on, why = restructure(ranked, f, Structure(navigation_penalty=0.5))
    assert [c for c, _ in on][:2] == [2, 1]
    assert why[1]["navigation"] >= 0.7 and why[1]["navigation_penalty"] < 0
    assert why[2]["navigation_penalty"] == 0.0
    assert dict(on)[2] == pytest.approx(2.8)  # prose keeps its score


@pytest.mark.parametrize("rule", PAGE_SUPPORTS)
def test_page_with_three_matching_chunks_outranks_one_lucky_chunk(rule: str) -> None:
    # Page A (doc 1, 12 chunks): one chunk at 1.0. Page B (doc 2, 3 chunks): three chunks
    # at 0.9, 0.85, 0.8, none next to another (ordinals 0, 4, 8).
    ranked = [(1, 1.0), (2, 0.9), (3, 0.85), (4, 0.8), (5, 0.0)]
    f = {
        1: ChunkFacts((1, None), PROSE, ordinal=5, span=(5000, 6000), page_chunks=12),
        2: ChunkFacts((2, None), PROSE, ordinal=0, span=(0, 1000), page_chunks=9),
        3: ChunkFacts((2, None), PROSE, ordinal=4, span=(4000, 5000), page_chunks=9),
        4: ChunkFacts((2, None), PROSE, ordinal=8, span=(8000, 9000), page_chunks=9),
        5: ChunkFacts((3, None), PROSE, ordinal=0, span=(0, 1000), page_chunks=1),
    }
    off, _ = restructure(ranked, f, Structure())
    assert off[0][0] == 1
    on, why = restructure(ranked, f, Structure(page_weight=0.6, page_support=rule))
    assert on[0][0] == 2 and why[2]["page_boost"] > why[1]["page_boost"]
    # ... but not when the lone chunk is far better (the scores say so).
    ranked = [(1, 1.0), (2, 0.3), (3, 0.25), (4, 0.2), (5, 0.0)]
    on, _ = restructure(ranked, f, Structure(page_weight=0.6, page_support=rule))
    assert on[0][0] == 1


def two_halves(first: tuple[int, int], second: tuple[int, int]) -> dict[int, ChunkFacts]:
    """Doc 1: one chunk (a short abstract). Doc 2: two chunks with these spans, ordinals 0, 1.
    Doc 3: a filler chunk at the bottom of the head."""
    return {
        1: ChunkFacts((1, None), PROSE, ordinal=0, span=(0, 900), page_chunks=1),
        2: ChunkFacts((2, None), PROSE, ordinal=0, span=first, page_chunks=2),
        3: ChunkFacts((2, None), PROSE, ordinal=1, span=second, page_chunks=2),
        4: ChunkFacts((3, None), PROSE, ordinal=0, span=(0, 900), page_chunks=1),
    }


RANKED = [(1, 1.0), (2, 0.95), (3, 0.9), (4, 0.0)]


def test_any_support_lifts_a_page_on_its_own_other_half() -> None:
    f = two_halves((0, 800), (700, 1500))
    on, why = restructure(RANKED, f, Structure(page_weight=0.3, page_support="any"))
    assert on[0][0] == 2 and why[2]["page_boost"] > 0  # what the other rules prevent


@pytest.mark.parametrize("rule", ["several", "disjoint", "apart", "mean"])
def test_overlapping_halves_do_not_lift_each_other(rule: str) -> None:
    f = two_halves((0, 800), (700, 1500))  # chunk overlap: 100 characters shared
    on, why = restructure(RANKED, f, Structure(page_weight=0.3, page_support=rule))
    assert on[0][0] == 1
    if rule != "mean":
        assert why[2]["page_boost"] == 0 and why[3]["page_boost"] == 0


@pytest.mark.parametrize("rule", ["several", "apart"])
def test_adjacent_chunks_are_no_support(rule: str) -> None:
    f = two_halves((0, 800), (800, 1600))  # next to each other, no shared text
    on, why = restructure(RANKED, f, Structure(page_weight=0.3, page_support="disjoint"))
    assert on[0][0] == 2 and why[2]["page_boost"] > 0
    on, why = restructure(RANKED, f, Structure(page_weight=0.3, page_support=rule))
    assert on[0][0] == 1 and why[2]["page_boost"] == 0 and why[3]["page_boost"] == 0


def test_several_needs_two_separate_chunks_besides_the_lifted_one() -> None:
    # A three-chunk abstract: its first and last chunk are apart, the middle one overlaps
    # both. One separate chunk is support for "apart", not yet for "several".
    ranked = [(1, 1.0), (2, 0.95), (3, 0.9), (4, 0.1), (5, 0.0)]
    f = {
        1: ChunkFacts((1, None), PROSE, ordinal=0, span=(0, 900), page_chunks=1),
        2: ChunkFacts((2, None), PROSE, ordinal=0, span=(0, 800), page_chunks=3),
        3: ChunkFacts((2, None), PROSE, ordinal=2, span=(1400, 2000), page_chunks=3),
        4: ChunkFacts((2, None), PROSE, ordinal=1, span=(700, 1500), page_chunks=3),
        5: ChunkFacts((3, None), PROSE, ordinal=0, span=(0, 900), page_chunks=1),
    }
    on, why = restructure(ranked, f, Structure(page_weight=0.6, page_support="apart"))
    assert on[0][0] == 2 and why[2]["page_boost"] > 0 and why[4]["page_boost"] == 0
    on, why = restructure(ranked, f, Structure(page_weight=0.6))  # "several", the default
    assert on[0][0] == 1 and all(why[c]["page_boost"] == 0 for c in (2, 3, 4))
    # A long page with matches in three places, none next to another, is lifted.
    f[4] = ChunkFacts((2, None), PROSE, ordinal=7, span=(6000, 6800), page_chunks=9)
    on, why = restructure(ranked, f, Structure(page_weight=0.6))
    assert on[0][0] == 2 and why[2]["page_boost"] > 0 and why[4]["page_boost"] > 0


def test_the_default_rule_is_the_settings_default() -> None:
    from docchat.config import SearchSettings

    assert Structure().page_support == SearchSettings().page_support
    assert set(PAGE_SUPPORTS) == set(
        get_args(SearchSettings.model_fields["page_support"].annotation)
    )


def test_apart_chunks_of_a_page_support_each_other() -> None:
    f = two_halves((0, 800), (5000, 5800))
    f[3] = ChunkFacts((2, None), PROSE, ordinal=6, span=(5000, 5800), page_chunks=9)
    on, why = restructure(RANKED, f, Structure(page_weight=0.3, page_support="apart"))
    assert on[0][0] == 2 and why[2]["page_boost"] > 0 and why[3]["page_boost"] > 0


def test_mean_support_does_not_favour_a_page_for_its_length() -> None:
    # Same best chunk (0.9) on a 1-chunk page and on a 2-chunk page whose other chunk is
    # weaker: the 2-chunk page is not lifted above (its mean is lower).
    ranked = [(2, 0.9), (1, 0.9), (3, 0.5), (4, 0.0)]
    f = two_halves((0, 800), (2000, 2800))
    on, why = restructure(ranked, f, Structure(page_weight=0.3, page_support="mean"))
    assert on[0][0] == 1 and why[1]["page_boost"] > why[2]["page_boost"]
    on, _ = restructure(ranked, f, Structure(page_weight=0.3, page_support="any"))
    assert on[0][0] == 2


def test_pages_of_one_pdf_are_separate() -> None:
    ranked = [(1, 1.0), (2, 0.9), (3, 0.85), (4, 0.0)]
    f = facts(c1=(1, 5, PROSE), c2=(1, 6, PROSE), c3=(1, 7, PROSE), c4=(1, 8, PROSE))
    on, why = restructure(ranked, f, Structure(page_weight=0.6))
    assert [c for c, _ in on] == [1, 2, 3, 4] and why[1]["page_boost"] == 0


def test_chunks_past_the_head_keep_their_place() -> None:
    ranked = [(1, 3.0), (2, 2.0), (3, 1.0), (9, 0.5)]
    f = facts(c1=(1, 1, PDF_CONTENTS), c2=(1, 2, PROSE), c3=(1, 3, PROSE), c9=(1, 4, PROSE))
    on, why = restructure(ranked, f, Structure(navigation_penalty=1.0, candidates=3))
    assert on[-1] == (9, 0.5) and 9 not in why


def test_title_match_weighs_rare_title_words() -> None:
    titles = {
        1: "git-clone(1) git-clone",
        2: "gitglossary(7) gitglossary",
        3: "git-pull(1) git-pull",
        4: "git-fetch(1) git-fetch",
    }
    got = title_matches("What does the --depth option of git clone do?", titles)
    assert got[1] == 1.0 and got[2] == 0.0
    assert 0 < got[3] < 0.5  # only "git", which most titles share
    assert title_matches("How do I load CSV files?", {1: "Files", 2: ""}) == {1: 1.0}
    assert title_matches("anything", {1: "12345", 2: ""}) == {}  # numbered files: no title


def test_title_weight_lifts_the_page_the_query_names() -> None:
    ranked = [(1, 1.0), (2, 0.9), (3, 0.0)]
    f = {
        1: ChunkFacts((1, None), PROSE, "gitglossary(7) gitglossary"),
        2: ChunkFacts((2, None), PROSE, "git-clone(1) git-clone"),
        3: ChunkFacts((3, None), PROSE, "git-pull(1) git-pull"),
    }
    query = "What does the --depth option of git clone do?"
    off, _ = restructure(ranked, f, Structure(), query)
    assert off[0][0] == 1
    on, why = restructure(ranked, f, Structure(title_weight=0.3), query)
    assert on[0][0] == 2 and why[2]["title_match"] == 1.0 and why[2]["title_boost"] > 0
    assert why[1]["title_boost"] == 0.0


def test_default_title_weight_does_not_let_a_word_named_in_passing_win() -> None:
    """Full dev set (session 22): with 0.6, "git-commit(1)" outranked "git-reset(1)" for a
    question about undoing a commit; the default lifts a named page without letting one
    title word jump a page clearly ahead on the fused score."""
    ranked = [(1, 1.0), (2, 0.6), (3, 0.0)]
    f = {
        1: ChunkFacts((1, None), PROSE, "git-reset(1) git-reset"),
        2: ChunkFacts((2, None), PROSE, "git-commit(1) git-commit"),
        3: ChunkFacts((3, None), PROSE, "git-pull(1) git-pull"),
    }
    from docchat.config import SearchSettings

    titles = {doc: facts.title for doc, facts in f.items()}
    query = "How do I undo my last commit but keep the changes in my working tree?"
    assert title_matches(query, titles)[2] > 0.6
    default = SearchSettings().title_weight
    on, why = restructure(ranked, f, Structure(title_weight=default), query)
    assert on[0][0] == 1 and why[2]["title_boost"] > 0
    old, _ = restructure(ranked, f, Structure(title_weight=0.6), query)
    assert old[0][0] == 2
