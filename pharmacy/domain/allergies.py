"""Allergy screening (SPEC 5.1): parse what a prescriber wrote, match it against the drug.

An allergy list arrives as free text (``"Penicillin (rash); cobalt"``) or as a list of
strings. :func:`parse_allergies` splits it into entries; :func:`screen` compares every entry,
case-insensitively and as whole words, with the names of the drug and with the name of
every ingredient of the formulation the order would use.

Whole words, separators inside a name ignored: an entry is cut into phrases at punctuation
other than spaces and hyphens, each phrase into words, and a name matches when the words of
some run of a phrase, joined, spell the name without its spaces and hyphens. So
``vit B-12`` matches ``vitamin B12`` (``vit`` reads as ``vitamin``) and
``Cyanocobalamin (anaphylaxis)`` matches ``cyanocobalamin``, while ``cobalamin`` does not
match inside ``cyanocobalamin`` and ``cobalt`` does not match ``cobaltous``.

Sources of the name table (``../shared/research/domain.md``):

* cyanocobalamin, vitamin B12, B12: the product's own names (domain.md section 4, the US
  cyanocobalamin injection label, "Formulation (label DESCRIPTION)"); SPEC 5.1.
* cobalamin, hydroxocobalamin, methylcobalamin: the related cobalamins SPEC 5.1 lists
  (hydroxocobalamin: domain.md section 4, "Hydroxocobalamin (US label, for comparison)").
* cobalt: cyanocobalamin is 4.34 % cobalt (domain.md, USP powder table, "cobalt 4.34%").
* Ingredients: the formulation's own list (benzyl alcohol 1.5 % as the multiple-dose
  preservative, domain.md section 4 "Typical compounding formula").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The drug's names (SPEC 5.1), each row sourced in the module docstring.
DRUG_NAMES = (
    "cyanocobalamin",
    "vitamin B12",
    "B12",
    "cobalamin",
    "hydroxocobalamin",
    "methylcobalamin",
    "cobalt",
)
# Entries that say "no known allergies" (SPEC 5.1), compared without punctuation.
NONE_KNOWN = frozenset(
    {"nkda", "nka", "none", "no known allergies", "no known drug allergies", "nil known"}
)
MAX_ENTRIES = 50
MAX_ENTRY_LENGTH = 200
MAX_TEXT = 2000
SEPARATOR = "; "

# Grade and pharmacopoeia suffixes that are not part of a substance's name.
_GRADE = re.compile(r"\b(usp|nf|ep|bp|jp|ph\.?\s*eur\.?|fcc|acs)\b\.?", re.IGNORECASE)
_PARENS = re.compile(r"\([^)]*\)")
_VIT = re.compile(r"\bvit\b\.?", re.IGNORECASE)
_PHRASE_BREAK = re.compile(r"[^\w\s-]+")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class AllergyMatch:
    """One entry that names the drug or an ingredient.

    :param allergy: the entry as the prescriber wrote it.
    :param substance: the drug name or ingredient it matched (as the formulation spells it).
    :param ingredient: True when ``substance`` is a formulation ingredient (not a drug name).
    """

    allergy: str
    substance: str
    ingredient: bool = False


def _split_text(text: str) -> list[str]:
    """Split free text at ``;``, ``,`` and line breaks that are outside parentheses."""
    entries: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if depth == 0 and char in ";,\n\r":
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    entries.append("".join(current))
    return entries


def parse_allergies(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Return the entries of free text or a list, trimmed, blanks and repeats dropped.

    Shape (type, count, length) is checked at the edge; this only splits and cleans.
    """
    if value is None:
        return ()
    pieces = _split_text(value) if isinstance(value, str) else [str(v) for v in value]
    entries: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        entry = " ".join(piece.split())
        key = entry_key(entry)
        if entry and key not in seen:
            seen.add(key)
            entries.append(entry)
    return tuple(entries)


def entry_key(entry: str) -> str:
    """Return the form two entries are compared in: lower case, punctuation as spaces."""
    return " ".join(re.sub(r"[^\w\s]", " ", entry.lower()).split())


def is_none_known(entry: str) -> bool:
    """Return True when ``entry`` says the patient has no known allergies (``NKDA``...)."""
    return entry_key(entry).replace(" ", "") in {k.replace(" ", "") for k in NONE_KNOWN}


def allergy_status(entries: Sequence[str]) -> str:
    """Return ``unknown`` (nothing recorded), ``none_known`` (NKDA...) or ``listed``."""
    if not entries:
        return "unknown"
    if all(is_none_known(e) for e in entries):
        return "none_known"
    return "listed"


def merge_allergies(recorded: Sequence[str], added: Sequence[str]) -> tuple[str, ...]:
    """Return ``recorded`` plus the entries of ``added`` it lacks: an order only adds.

    A real allergy replaces a recorded "none known" (the patient now has one); a "none
    known" never removes a recorded allergy.
    """
    merged = list(recorded)
    keys = {entry_key(e) for e in merged}
    for entry in added:
        if entry_key(entry) not in keys:
            merged.append(entry)
            keys.add(entry_key(entry))
    if allergy_status(merged) == "listed":
        merged = [e for e in merged if not is_none_known(e)]
    return tuple(merged)


def format_allergies(entries: Sequence[str]) -> str:
    """Return entries as the stored text (``; `` between entries)."""
    return SEPARATOR.join(entries)


def substance_name(component: str) -> str:
    """Return an ingredient's substance name without grade or notes.

    ``Benzyl alcohol NF`` -> ``Benzyl alcohol``.
    """
    name = _GRADE.sub(" ", _PARENS.sub(" ", component))
    return " ".join(name.split()).strip(" ,;-")


def _compact(name: str) -> str:
    """Return a name as one lower-case word: no spaces or hyphens, ``vit`` read as vitamin."""
    return "".join(_WORD.findall(_VIT.sub("vitamin", name).lower()))


def _names_in(entry: str, longest: int = 64) -> set[str]:
    """Return every run of whole words of ``entry``, each joined into one compact word.

    Runs longer than ``longest`` characters cannot spell a name, so the work stays linear
    in the entry's length.
    """
    found: set[str] = set()
    text = _VIT.sub("vitamin", entry).lower()
    for phrase in _PHRASE_BREAK.split(text):
        words = _WORD.findall(phrase)
        for i in range(len(words)):
            joined = ""
            for word in words[i:]:
                joined += word
                if len(joined) > longest:
                    break
                found.add(joined)
    return found


def screen(entries: Sequence[str], ingredients: Iterable[str] = ()) -> tuple[AllergyMatch, ...]:
    """Return the entries that name the drug or one of ``ingredients``, one match each.

    :param entries: the patient's allergy entries (:func:`parse_allergies`).
    :param ingredients: component names of the formulation the order would use.
    """
    substances: list[tuple[str, str, bool]] = [(n, _compact(n), False) for n in DRUG_NAMES]
    for component in ingredients:
        name = substance_name(component)
        if name and _compact(name):
            substances.append((name, _compact(name), True))
    # The longest name wins: ``hydroxo-cobalamin`` names hydroxocobalamin, not cobalamin.
    substances.sort(key=lambda s: -len(s[1]))
    matches = []
    for entry in entries:
        if is_none_known(entry):
            continue
        runs = _names_in(entry, longest=max(len(c) for _, c, _ in substances))
        for name, compact, ingredient in substances:
            if compact in runs:
                matches.append(AllergyMatch(entry, name, ingredient))
                break
    return tuple(matches)
