"""Checks every catalogue tool runs before it sends anything to Billy.

Argument types (ids, e-mail addresses, currency and country codes, amounts) refuse malformed
values while the arguments are parsed, with a rule name of their own. :class:`Problems`
collects the checks that need several fields or a read of Billy (does this account exist,
is this currency known) and reports them all at once, each naming its field and rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from billy_core.billy.client import singular
from billy_core.context import CallContext
from billy_core.danish import validate_ean
from billy_core.errors import InvalidArgument, NotFound, ToolError
from billy_core.listing import ListInput, window

ID_PATTERN = r"^[A-Za-z0-9_:.\-]{1,100}$"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()./\-]{3,28}[0-9]$")
MAX_AMOUNT = Decimal("1000000000000")


def _email(value: str) -> str:
    if value and not EMAIL.match(value):
        raise PydanticCustomError("email_format", "is not an e-mail address (name@domain.tld)")
    return value


def _phone(value: str) -> str:
    if value and not PHONE.match(value):
        raise PydanticCustomError(
            "phone_format", "a phone number has 5-30 digits, spaces, dashes and an optional leading +"
        )
    return value


def _ean(value: str) -> str:
    if not value:
        return value
    check = validate_ean(value)
    if not check.valid:
        raise PydanticCustomError("ean_checksum", "is not a valid EAN: {reason}", {"reason": check.reason})
    return check.number


BillyId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=ID_PATTERN,
        description="A Billy record id",
        examples=["EhZmX9g2SPvGFveh4IcsAg"],
    ),
]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(_phone)]
Ean = Annotated[str, Field(max_length=20), AfterValidator(_ean)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", examples=["DK"])]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", examples=["DKK"])]
Amount = Annotated[Decimal, Field(gt=0, lt=MAX_AMOUNT, decimal_places=2, examples=["1250.00"])]
Price = Annotated[Decimal, Field(ge=0, lt=MAX_AMOUNT, decimal_places=2, examples=["499.00"])]


class Problems:
    """Argument problems found by the handler, raised together as one ``invalid_argument``."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, rule: str, message: str) -> None:
        self.errors.append({"field": field, "rule": rule, "message": message})

    def __bool__(self) -> bool:
        return bool(self.errors)

    def error(self) -> InvalidArgument:
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in self.errors[:5])
        return InvalidArgument(
            f"invalid arguments: {summary}",
            details={"errors": self.errors},
            hint="Fix the named fields and call again; nothing was changed in Billy.",
        )

    def raise_if_any(self) -> None:
        if self.errors:
            raise self.error()


def invalid(field: str, rule: str, message: str) -> InvalidArgument:
    problems = Problems()
    problems.add(field, rule, message)
    return problems.error()


async def get_or_not_found(
    ctx: CallContext,
    plural: str,
    record_id: str,
    *,
    field: str,
    what: str,
    include: str | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """One record by id; an unknown id is ``not_found`` naming the argument. ``live`` reads past
    the cache, as an update must: it sends only what differs from what it read."""
    try:
        if not live:
            return await ctx.billy.get_record(plural, record_id, include=include)
        query = (("include", include),) if include else ()
        body = await ctx.billy.request(
            "GET", f"/{plural}/{record_id}", query=query, bypass_cache=True, live=True
        )
        record: dict[str, Any] = body[singular(plural)]
        return record
    except NotFound:
        raise NotFound(
            f"{field}: there is no {what} with id {record_id!r}",
            details={"errors": [{"field": field, "rule": "not_found", "message": f"no such {what}"}]},
            hint=f"Look the {what} up with the matching list tool and use its id.",
        ) from None


async def find_live(
    ctx: CallContext, plural: str, field: str, value: str, *, include: str | None = None
) -> dict[str, Any] | None:
    """The oldest record whose ``field`` equals ``value``, read live from Billy: a create looks its
    key up this way first, and a cached (stale) miss would let it create a second record."""
    query = [(field, value)] + ([("include", include)] if include else [])
    body = await ctx.billy.request("GET", f"/{plural}", query=query, bypass_cache=True, live=True)
    found = sorted(body.get(plural, []), key=lambda r: (str(r.get("createdTime") or ""), str(r["id"])))
    return found[0] if found else None


async def records_by_id(ctx: CallContext, plural: str) -> dict[str, dict[str, Any]]:
    """Every record of a small resource (accounts, tax rates, currencies, ...) by id."""
    return {str(record["id"]): record for record in await ctx.billy.list_all(plural)}


async def check_codes(
    ctx: CallContext, plural: str, wanted: Iterable[tuple[str, str]], problems: Problems, *, what: str
) -> None:
    """Each ``(field, code)`` must name a record of ``plural`` (currencies, countries)."""
    pairs = list(wanted)
    if not pairs:
        return
    known = await records_by_id(ctx, plural)
    for field, code in pairs:
        if code not in known:
            sample = ", ".join(sorted(known)[:12])
            problems.add(field, f"unknown_{what}", f"{code!r} is not a {what} Billy knows (such as {sample})")


def search_window(
    summaries: Iterable[dict[str, Any]],
    args: ListInput,
    *,
    search: str | None,
    include_archived: bool,
    matches: Callable[[dict[str, Any], str], bool],
) -> dict[str, Any]:
    """Filter summaries by archive flag and search text, sort them by name and page them."""
    chosen = [
        item
        for item in summaries
        if (include_archived or not item["is_archived"]) and (not search or matches(item, search))
    ]
    chosen.sort(key=lambda item: (item["name"].casefold(), item["id"]))
    return window(chosen, args)


def note_partial_failure(exc: ToolError, applied: list[str], get_tool: str) -> None:
    """An update of several Billy records failed part-way: say what was already applied."""
    if applied:
        exc.details["applied_before_failure"] = applied
        exc.hint = f"Part of the update was applied (see details); check with {get_tool} and retry the rest."
