"""Every binding of the current screen (and its focused widget, and the app) as a command in
the palette, so anything that has a key can also be found by name."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.screen import Screen

# Already offered by Textual's own system commands.
BUILT_IN = {"Theme", "Quit", "Keys", "Screenshot", "Maximize", "Minimize"}


def binding_commands(app: App[Any], screen: Screen[Any]) -> Iterator[SystemCommand]:
    seen = set(BUILT_IN)
    for active in screen.active_bindings.values():
        binding = active.binding
        title = binding.description
        if not title or title in seen or binding.action in ("quit", "command_palette"):
            continue
        seen.add(title)
        yield SystemCommand(
            title,
            f"{app.get_key_display(binding)} · {binding.id or binding.action}",
            partial(app.run_action, binding.action, active.node),
        )
