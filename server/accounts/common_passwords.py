"""Builds `data/common_passwords.txt`, the list of guessable passwords registration refuses.

The list is generated, not collected: the words people pick most (pets, teams, seasons, names,
"password" itself), keyboard walks and digit runs, each with the endings people add to meet a
length rule (digits, years, "!"), plus look-alike substitutions (p@ssw0rd). Only entries of at
least MIN_LENGTH characters are kept: shorter passwords are refused by the length rule anyway.
Entries are lower case; the check lowers the candidate too.

Regenerate after editing: `uv run python -m server.accounts.common_passwords`.
"""

from __future__ import annotations

from pathlib import Path

MIN_LENGTH = 10
LIST_PATH = Path(__file__).parent / "data" / "common_passwords.txt"

BASE_WORDS = (  # noqa: SIM905 (a word list reads better as text than as 140 quoted items)
    "password passwd passw0rd secret letmein welcome hello access login admin administrator "
    "root changeme default guest test testing qwerty trustno1 iloveyou loveme lovely "
    "dragon monkey tiger lion eagle falcon shadow master ninja killer hacker gamer matrix "
    "football baseball basketball soccer hockey tennis golf yankees cowboys eagles lakers "
    "liverpool arsenal chelsea manchester barcelona madrid juventus "
    "superman batman spiderman starwars pokemon minecraft fortnite zelda mario "
    "sunshine princess angel babygirl sweetheart butterfly rainbow flower blossom "
    "summer winter autumn spring monday friday sunday january december "
    "michael jennifer jordan charlie thomas jessica ashley daniel matthew andrew joshua "
    "hunter ranger buster tigger pepper ginger maggie bailey buddy max "
    "cookie chocolate cheese banana orange purple silver golden diamond "
    "freedom whatever computer internet samsung iphone google facebook "
    "mustang harley ferrari corvette mercedes porsche "
    "london paris newyork california america canada "
    "family friends forever heaven blessed jesus "
    "company office interview student teacher"
).split()

SEQUENCES = (
    "qwertyuiop",
    "qwertyuiop[]",
    "asdfghjkl",
    "asdfghjkl;",
    "zxcvbnm",
    "zxcvbnm,./",
    "1qaz2wsx",
    "1qaz2wsx3edc",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "q1w2e3r4t5",
    "qazwsx",
    "qazwsxedc",
    "zaq12wsx",
    "zaq1zaq1",
    "qweasdzxc",
    "abc123",
    "abcdefghij",
    "abcdefg123",
    "123456789",
    "1234567890",
    "0987654321",
    "987654321",
    "123123123",
    "123321123",
    "1234512345",
    "147258369",
    "159753",
    "741852963",
)

ENDINGS = (
    "",
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "123456",
    "1234567",
    "!",
    "1!",
    "123!",
    "!!",
    "01",
    "007",
    "69",
    "99",
    "@123",
    "#1",
    "_123",
    ".123",
)
YEARS = tuple(str(year) for year in range(1990, 2027))
LOOK_ALIKES = str.maketrans({"a": "@", "o": "0", "e": "3", "i": "1", "s": "$"})


def _variants(word: str) -> set[str]:
    found = {word + ending for ending in ENDINGS}
    found.update(word + year for year in YEARS)
    found.update(word + year + "!" for year in YEARS[-6:])
    found.update(word.translate(LOOK_ALIKES) + ending for ending in ENDINGS)
    found.update(word + word + ending for ending in ("", "1", "123", "!"))
    return found


def build_common_passwords() -> list[str]:
    candidates: set[str] = set()
    for word in BASE_WORDS:
        candidates.update(_variants(word))
    for sequence in SEQUENCES:
        candidates.update(sequence + ending for ending in ENDINGS)
        candidates.add(sequence + sequence)
    for digit in "0123456789":
        candidates.update(digit * count for count in range(MIN_LENGTH, 17))
    for letter in "abcdefghijklmnopqrstuvwxyz":
        candidates.add(letter * MIN_LENGTH)
    return sorted(entry for entry in candidates if len(entry) >= MIN_LENGTH)


def render(entries: list[str]) -> str:
    return "\n".join(entries) + "\n"


if __name__ == "__main__":
    LIST_PATH.parent.mkdir(parents=True, exist_ok=True)
    entries = build_common_passwords()
    LIST_PATH.write_text(render(entries), encoding="utf-8")
    print(f"wrote {len(entries)} entries to {LIST_PATH}")
