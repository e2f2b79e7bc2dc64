"""Answers you can check: an answer cut into claims, each tied to the sources that support it.

`split.py` cuts the answer into claims (sentences, list items) and sources into sentences;
`support.py` scores each claim against each offered source (embedding similarity with the
already-loaded embedder, content-word and number overlap, exact quotes); `render.py` shows
the answer with citations corrected and unsupported claims marked, hidden or kept, and words
the "your documents don't say" abstention; `verify.py` runs it alongside generation.
Nothing is imported here: `docchat.claims.render` alone (for the CLI's marks) must not pull
in the checker.
"""
