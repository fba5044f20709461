"""A small cache of finished suggestions keyed by the text before the cursor.

Writers often delete a character and retype it, or type exactly what was suggested:
both land on a prompt already answered. ``lookup`` serves an exact prefix, or a longer
prefix that the writer produced by typing the start of a cached continuation (the rest
of that continuation is still the model's answer), so no request is needed.
"""

from __future__ import annotations

from collections import OrderedDict

from app.core.answer import Answer


class SuggestionCache:
    def __init__(self, capacity: int = 64) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, str], Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()

    def store(self, prefix: str, context_key: str, continuation: Answer) -> None:
        """Remember the model's answer ``continuation`` of ``prefix``.

        ``context_key`` separates results that depend on more than the prefix (the text
        after the cursor, the sampling settings, the model).
        """
        key = (prefix, context_key)
        self._items[key] = continuation
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def lookup(self, prefix: str, context_key: str) -> Answer | None:
        """The answer for ``prefix``, exact or reached by typing into a cached one (then
        the rest of it, with its confidence given what was typed)."""
        exact = self._items.get((prefix, context_key))
        if exact is not None:
            self._items.move_to_end((prefix, context_key))
            return exact
        best: tuple[int, Answer] | None = None
        for (cached_prefix, key), continuation in self._items.items():
            if key != context_key or not prefix.startswith(cached_prefix):
                continue
            typed = prefix[len(cached_prefix) :]
            raw = continuation.raw
            fits = raw.startswith(typed) and len(raw) > len(typed)
            if fits and (best is None or len(cached_prefix) > best[0]):
                best = (len(cached_prefix), continuation.after(len(typed)))
        return best[1] if best else None
