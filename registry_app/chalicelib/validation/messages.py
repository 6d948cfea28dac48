"""How a rule's sentence quotes what the uploader controls: names cut short, lists cut with a count
of the rest, numbers too long to print given as a power of two, and no message past MAX_MESSAGE_BYTES.

Why: a rejection is recorded (the upload record is one DynamoDB item, 400 KB at most) and printed,
and an archive decides how long its names and lists are. 60,000 signature names quoted in full
made one 600 KB message; a 2**62-sized dimension made a number Python refuses to print.
"""
from __future__ import annotations

from collections.abc import Iterable

MAX_MESSAGE_BYTES = 1024  # UTF-8 bytes of one rule's sentence, cut marker included
LISTED = 10  # items a message names before "… and N more"
QUOTED_CHARS = 120  # characters of one name a message quotes
_CUT = "…"


def shown(name: str, limit: int = QUOTED_CHARS) -> str:
    """The name as a message quotes it, cut short: a name can be a megabyte long."""
    return repr(name if len(name) <= limit else name[:limit] + _CUT)


def listed(names: Iterable[str], most: int = LISTED) -> str:
    """'a, b, c' or 'a, b, … and 59,990 more': at most `most` names, each cut short."""
    names = list(names)
    quoted = ", ".join(shown(name, 40) for name in names[:most])
    rest = len(names) - most
    return f"{quoted}, … and {rest:,} more" if rest > 0 else quoted


def count(number: int) -> str:
    """1,234,567; or 'about 2^N' when the number is too long to print (int → str caps digits)."""
    return f"{number:,}" if number < 10**18 else f"about 2^{number.bit_length() - 1}"


def capped(message: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """The message cut to `limit` UTF-8 bytes (a last bound: rules quote names through `shown` already)."""
    data = message.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return message
    cut = data[: limit - len(_CUT.encode())].decode("utf-8", "ignore")
    return cut + _CUT
