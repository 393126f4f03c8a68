"""Read-only JSON trees: Billy's answers to reads, which callers may share.

The client hands every GET answer over frozen, cached or not, so a cache can give the same
answer to many calls without copying it, and a handler that tries to change an answer fails
at once instead of changing what the next call reads. Reading is plain ``dict`` and ``list``
reading (``isinstance`` holds, JSON encoders and pydantic take them as they are); building a
changed version (``{**record, "x": 1}``, ``list(rows) + more``, ``thaw(body)``) gives plain,
mutable containers.
"""

from __future__ import annotations

from typing import Any, NoReturn

READ_ONLY_HINT = (
    "Billy's answers to reads are shared and read-only; change a copy: "
    "{**record}, list(rows) or billy_core.frozen.thaw(body)"
)


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise TypeError(READ_ONLY_HINT)


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses every change. Made by :func:`freeze`, never by hand."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return thaw(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


class FrozenList(list[Any]):
    """A ``list`` that refuses every change. Made by :func:`freeze`, never by hand."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return thaw(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))


def freeze(value: Any) -> Any:
    """``value`` with every dict and list replaced by a read-only one (already frozen: as is)."""
    kind = type(value)
    if kind is dict or (kind is not FrozenDict and isinstance(value, dict)):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if kind is list:
        return FrozenList([freeze(item) for item in value])
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a frozen (or any JSON-like) tree."""
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(item) for item in value]
    return value
