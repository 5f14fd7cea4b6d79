"""Password rules (SPEC 8.4): at least 12 characters, not the username, not a common password.

The common passwords are the 30,000 most frequent ones in zxcvbn's frequency lists (the
``passwords`` list Dropbox built from leaked password sets), read from the installed package,
never typed by hand here.
"""

from __future__ import annotations

from functools import lru_cache

MIN_LENGTH = 12
MAX_LENGTH = 200


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Return zxcvbn's list of common passwords, lower-cased (loaded once, on first use)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def password_problem(password: str, username: str = "") -> str | None:
    """Return why ``password`` may not be used by ``username``, or ``None`` if it may."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    folded = password.strip().lower()
    name = username.strip().lower()
    if name and (folded == name or folded == name[::-1]):
        return "The password may not be the username."
    if folded in common_passwords() or len(set(folded)) < 3:
        return "That password is too common: choose a longer, less guessable one."
    return None
