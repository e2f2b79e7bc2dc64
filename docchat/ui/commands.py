"""The command palette: every docchat action once, by name, with what it does.

Built from the bindings docchat gives an id (the app's, the current screen's and those of the
screen's own widgets, even when they are not focused, so "Open source" or "Next citation" can
be found from anywhere on the screen). Textual's text-editing bindings (an Input's
cursor moves) have no id and are left out, and so are the per-number citation keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

# What each action does, for the palette's second line (the key is added to it).
HELP: dict[str, str] = {
    "app.keys": "Show or hide the panel of keys for this screen",
    "app.collections": "List collections: open, rename, delete, create",
    "app.index": "Index folders into a collection (or watch the run in progress)",
    "app.sessions": "Chat sessions of this collection: reopen, export, start a new one",
    "app.settings": "Model, passages k, temperature, retrieval mode, theme, editor",
    "main.stop": "Stop the answer being written (or back to the input)",
    "main.toggle_mode": "Switch the input between asking and searching",
    "main.open_source": "Open the highlighted passage's file at its line",
    "main.new_session": "Start a new conversation",
    "main.export_session": "Write this conversation as Markdown with footnotes",
    "main.focus_results": "Move to the results list",
    "main.focus_chat": "Move to the chat (then 1–9 or ] pick a citation)",
    "main.focus_input": "Move to the input",
    "results.open": "Open the highlighted passage's file at its line",
    "results.preview": "Show the highlighted passage in context",
    "chat.next_cite": "Preview the next source the answer cites",
    "chat.prev_cite": "Preview the previous source the answer cites",
    "collections.open": "Open the highlighted collection",
    "collections.new": "Index folders into a new collection",
    "collections.rename": "Rename the highlighted collection",
    "collections.delete": "Delete the highlighted collection's index (asks first)",
    "sessions.open": "Reopen the highlighted session",
    "sessions.new": "Start a new conversation",
    "sessions.export": "Write the highlighted session as Markdown",
    "index.start": "Start indexing the listed folders",
    "index.stop": "Stop the run (or go back)",
    "index.remove": "Remove the highlighted folder from the list",
    "index.open": "Open the collection just indexed",
    "settings.save": "Save the settings to the config file",
    "settings.back": "Leave the settings (asks before discarding edits)",
    "preview.open": "Open this passage's file at its line",
}
# Palette titles where the footer's word is kept short (the footer must fit 80 columns).
TITLES: dict[str, str] = {
    "main.toggle_mode": "Ask/Search",
    "results.open": "Open source",
    "chat.next_cite": "Next citation",
    "index.stop": "Stop/Back",
}
# Actions already offered under another name, or too fine-grained to list.
SKIP = {"main.down_to_results", "main.focus_results", "main.focus_chat", "main.focus_input"}


def binding_commands(app: App[Any], screen: Screen[Any]) -> Iterator[SystemCommand]:
    seen: set[str] = set()
    for node, binding in _bindings(app, screen):
        binding_id = binding.id or ""
        if not binding_id or binding_id in SKIP or binding_id.startswith("chat.cite_"):
            continue
        title = TITLES.get(binding_id, binding.description)
        if not title or title in seen:
            continue
        if node.check_action(binding.action, ()) is False:
            continue
        seen.add(title)
        key = app.get_key_display(binding)
        help_text = HELP.get(binding_id, title)
        yield SystemCommand(
            title,
            f"{help_text} ({key})",
            partial(app.run_action, binding.action, node),
        )


def _bindings(app: App[Any], screen: Screen[Any]) -> Iterator[tuple[DOMNode, Binding]]:
    """The screen's bindings, its own widgets' (focused or not), then the app's."""
    nodes: list[DOMNode] = [screen]
    nodes += [w for w in screen.walk_children() if type(w).__module__.startswith("docchat.")]
    nodes.append(app)
    for node in nodes:
        for bindings in node._bindings.key_to_bindings.values():
            for binding in bindings:
                yield node, binding
