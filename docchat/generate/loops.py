"""Stopping an answer that has started to repeat itself.

Small local models fall into loops: the bundled SmolLM2-135M answered the demo question with
the same three sentences four times over, until max_tokens — half a minute of text nobody
reads, each copy checked as a claim. llama.cpp's repeat penalty looks back 64 tokens, less
than one turn of such a loop. So the answer is watched as it streams: once two consecutive
sentences come again in the same order, the model is stopped and the answer ends before the
repeated pair. Text inside code fences is not watched (code repeats lines on purpose), nor
are short sentences (list items like "Run it." repeat legitimately). A list's markers are
not part of what is compared: the demo's answer once looped as a numbered list ("5. The
document can be edited…", "8. The document can be edited…"), where the numbers made every
copy look new and each "5." ended a sentence of its own between the items. (So two lists
whose items say the same thing in the same order — "Option B: 1. … 2. …" after "Option A" —
end at the second: as bulleted lists always did.)

What may be shown while the answer streams (`visible`) stops short of a possible repeat's
start: a finished sentence said before, and a sentence in progress that so far reads like one
said before (or a list marker still streaming in). A stopped loop then shows nothing of its
second copy (the terminal cannot take back what it printed), and a sentence that merely
starts like an earlier one is held only until it differs — a few words.
"""

from __future__ import annotations

import re

MIN_SENTENCE_CHARS = 24  # shorter sentences repeat in good answers too
_FENCE = "```"
_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A list item's marker at the start of a line: "12. ", "3) ", "b) ", "- ", "* ", "**5.** ",
# "### 5. " (a numbered heading).
_MARKER = re.compile(r"^(?:#{1,6}\s+)?(?:\*\*)?(?:\d{1,3}[.)]|[a-z]\)|[-*•+])(?:\*\*)?(?:\s+|$)")
# What a marker looks like before its last character has streamed in ("12", "**", "### 5").
_MARKER_SO_FAR = re.compile(
    r"(?:#{1,6}\s*)?(?:\*{1,2})?(?:\d{1,3}[.)]?|[a-z]\)?|[-*•+])?(?:\*{1,2})?"
)


class LoopGuard:
    """Feed it the streamed pieces; `feed` says when the answer has begun to loop, and
    `text` is then the answer without the repetition."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._checked = 0  # characters already split into whole sentences
        self._sentences: list[tuple[str, int]] = []  # (normalised, start offset)
        self._pairs: set[tuple[str, str]] = set()
        self._seen: set[str] = set()  # every watched sentence so far: where a repeat can start
        self._again = False  # the last sentence had been seen before
        self._in_fence = False
        self._marker_start: int | None = None  # where a list item's bare number began
        self.cut: int | None = None  # where the repetition begins, once found

    def feed(self, piece: str) -> bool:
        """True once the answer repeats a pair of sentences (the model should stop)."""
        if self.cut is not None:
            return True
        self._parts.append(piece)
        if not any(c.isspace() for c in piece):  # no sentence can have ended in it
            return False
        return self._scan()

    @property
    def visible(self) -> str:
        """The answer so far, less what could be the start of a repetition (see above)."""
        full = "".join(self._parts)
        if self.cut is not None:
            return full[: self.cut]
        held = len(full)
        if self._again:
            held = self._sentences[-1][1]
        if not self._in_fence:
            # The sentence under way (after a list item's number split off by its dot, if
            # one is pending: a cut before the item drops its number too).
            raw = " ".join(full[self._checked :].split())
            words = _MARKER.sub("", raw)
            if (
                not words
                or _MARKER_SO_FAR.fullmatch(raw)
                or any(seen.startswith(words) for seen in self._seen)
            ):
                start = self._checked if self._marker_start is None else self._marker_start
                held = min(held, start)
        return full[:held]

    @property
    def text(self) -> str:
        """The answer so far, without the repetition once one was found."""
        full = "".join(self._parts)
        return full if self.cut is None else full[: self.cut].rstrip()

    def _scan(self) -> bool:
        full = "".join(self._parts)
        self._parts = [full]
        pos = self._checked
        for match in _END.finditer(full, pos):
            if full[pos : match.start()].strip():  # (a newline streamed on its own: no sentence)
                self._sentence(full[pos : match.start()], pos)
            pos = match.end()
            if self.cut is not None:
                return True
        self._checked = pos
        return False

    def _sentence(self, raw: str, start: int) -> None:
        fences = raw.count(_FENCE)
        watched = not self._in_fence and not fences
        if fences % 2:
            self._in_fence = not self._in_fence
        words = " ".join(raw.split())
        if watched and words and not _MARKER.sub("", words):
            # A list item's number alone ("5.", split off by its dot): not a sentence; the
            # item's sentence starts here, so a cut before it drops its number too.
            self._marker_start = start if self._marker_start is None else self._marker_start
            return
        if self._marker_start is not None:
            start, self._marker_start = self._marker_start, None
        words = _MARKER.sub("", words)
        if not watched or len(words) < MIN_SENTENCE_CHARS:
            self._sentences.append(("", start))  # breaks a pair: nothing to compare
            self._again = False
            return
        self._again = words in self._seen
        self._seen.add(words)
        if self._sentences and self._sentences[-1][0]:
            previous, previous_start = self._sentences[-1]
            if (previous, words) in self._pairs:
                self.cut = previous_start
                return
            self._pairs.add((previous, words))
        self._sentences.append((words, start))
