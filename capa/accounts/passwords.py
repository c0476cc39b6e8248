"""What a new password must be, and the one form in which every password is hashed and checked.

Rules, the same wherever a password is set, the user pages or the command line (:mod:`capa.accounts.service`
applies them):

- **One form.** A password is hashed and checked in Unicode NFC, so the same password typed on two keyboards (an
  "é" sent as one character or as "e" and a combining accent) is one password. ASCII text is its own NFC, so a
  password stored before is checked exactly as before.
- **Length in visible characters.** At least ``CAPA_PASSWORD_MIN_LENGTH`` (10 by default; a setting below 10 or
  above 64 stops the start) and at most 200 characters. Format characters (zero-width spaces, joiners, the byte
  order mark: Unicode category Cf), control characters (Cc) and combining marks (M*, drawn on the letter before
  them) are not counted, nor white space at either end, and a run of white space counts as one: "password12"
  followed by ten zero-width spaces has 10 visible characters, and white space alone has none.
- **Not the user name.** The password must not be the user name nor contain it (a name of 3 characters or more,
  also with its dots, dashes and underscores left out: ``mei.lin`` and ``meilin``), whatever the case.
- **Not common, not guessable.** The password (its visible characters, whatever the case) must not be on the
  list of the 30,000 most common passwords that the zxcvbn package ships, and zxcvbn must not judge it guessable
  in fewer than 10^10 guesses (its score 3 of 4), which refuses common words and names, dates, keyboard rows,
  repeats and sequences, and common passwords with digits or symbols added (``password12``, ``Password2024!``).
  Only the first 72 visible characters are judged: a longer password is not guessable anyway.

Each refusal is a :class:`~capa.common.errors.ValidationError` naming the field ``password``.
"""

import unicodedata
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from capa.common.errors import ValidationError

DEFAULT_MIN_LENGTH = 10
#: The least and the most CAPA_PASSWORD_MIN_LENGTH may be: the minimum never goes below what it always was.
MIN_LENGTH_RANGE = (10, 64)
MAX_LENGTH = 200
#: zxcvbn's score out of 4 a password needs: 3 is "safely unguessable", at least 10^10 guesses.
MIN_SCORE = 3
#: zxcvbn refuses to judge longer text (its matching grows fast with the length).
JUDGED_LENGTH = 72
#: A user name shorter than this is only refused as the whole password: as a part it is too often a syllable.
NAME_PART_LENGTH = 3

_NOT_COUNTED = {"Cf", "Cc", "Mn", "Mc", "Me"}
_SEPARATORS = str.maketrans("", "", "._-")


class InvalidPasswordSetting(ValueError):
    """CAPA_PASSWORD_MIN_LENGTH is not a whole number in MIN_LENGTH_RANGE; the message names the setting."""


def check_settings(config: Any) -> None:
    """Raise InvalidPasswordSetting when ``CAPA_PASSWORD_MIN_LENGTH`` cannot be used (read at start)."""
    value = config.get("CAPA_PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH)
    low, high = MIN_LENGTH_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidPasswordSetting(f"CAPA_PASSWORD_MIN_LENGTH must be a whole number from {low} to {high}: {value!r}")


def min_length() -> int:
    return current_app.config.get("CAPA_PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH)


def normal(password: str) -> str:
    """The form ``password`` is hashed and checked in: NFC. A lone surrogate (only the command line can pass one,
    from bytes that are not UTF-8) becomes U+FFFD, so checking it answers "wrong password", never an error."""
    if _has_surrogates(password):
        password = "".join("\ufffd" if _has_surrogates(character) else character for character in password)
    return unicodedata.normalize("NFC", password)


def forms(password: str) -> list[str]:
    """The forms a typed password is checked in: its NFC form, and also as typed when that differs, for a
    password stored as typed before passwords were normalised (never an ASCII one: ASCII is its own NFC)."""
    normalised = normal(password)
    if password == normalised or _has_surrogates(password):
        return [normalised]
    return [normalised, password]


def _has_surrogates(text: str) -> bool:
    return any(0xD800 <= ord(character) <= 0xDFFF for character in text)


def visible(password: str) -> str:
    """The characters of ``password`` that count: no format, control or combining characters, no white space at
    the ends, each run of white space made one space."""
    kept = "".join(c for c in unicodedata.normalize("NFC", password) if unicodedata.category(c) not in _NOT_COUNTED)
    return " ".join(kept.split())


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def _refuse(message: Any, detail: Any) -> ValidationError:
    return ValidationError(str(message), fields={"password": str(detail)})


def check_new_password(password: str, username: str) -> None:
    """Refuse ``password`` as the new password of ``username`` unless it follows every rule of this module.

    Raises ValidationError naming ``password``: too short or too long (in visible characters), a character that
    cannot be stored, the user name in it, a common password, or too easy to guess.
    """
    if len(password) > MAX_LENGTH:
        raise _refuse(_l("The password is too long."), _l("At most %(n)d characters.", n=MAX_LENGTH))
    if _has_surrogates(password):
        raise _refuse(_l("The password cannot be stored."), _l("Contains a character that is not allowed."))
    shown = visible(password)
    needed = min_length()
    if len(shown) < needed:
        detail = (
            _l("At least %(n)d characters.", n=needed)
            if len(password) < needed
            else _l(
                "At least %(n)d visible characters: invisible characters, spaces at either end and repeated "
                "spaces do not count.",
                n=needed,
            )
        )
        raise _refuse(_l("The password is too short."), detail)
    folded = shown.casefold()
    name = username.casefold()
    names = {name, name.translate(_SEPARATORS)}
    if folded == name or any(len(part) >= NAME_PART_LENGTH and part in folded for part in names):
        raise _refuse(_l("The password contains the user name."), _l("Must not contain the user name."))
    if folded in _common():
        raise _refuse(
            _l("The password is too common."), _l("This is one of the most common passwords: choose another.")
        )
    judged = shown[:JUDGED_LENGTH]
    if zxcvbn(judged, user_inputs=sorted(names), max_length=JUDGED_LENGTH)["score"] < MIN_SCORE:
        raise _refuse(
            _l("The password is too easy to guess."),
            _l(
                "Avoid common words, names, dates, keyboard rows, repeats and common passwords with digits added: "
                "a few unrelated words make a good password."
            ),
        )
