"""Instructions to act on the rows a request reads ('... and email them'): no read-only agent does that.

An action verb that is also a column name ('email', 'text', 'call') is read as an action, not a
projection, when it starts a clause (the request's start, or after 'and', 'then', a comma) and
is followed by an object: a pronoun ('them'), a determiner ('the drivers') or, given them, one
of the data's entity nouns, its table words ('text drivers'). 'customers and their email' or 'name, email and phone'
stay projections: there the verb ends its clause or follows a possessive.
"""

from __future__ import annotations

import re
from collections.abc import Collection

ACTION_VERBS = frozenset("""
email e-mail mail call phone ring text sms message contact notify remind invite thank warn ping
delete remove update change edit modify erase purge ban block suspend deactivate activate disable enable cancel
refund charge bill pay reimburse fire hire promote demote assign reassign transfer ship send archive close reopen
approve reject tag flag mark unsubscribe subscribe reset
""".split())
_OBJECTS = frozenset("""
them him her it those these everyone everybody all each every the a an our my their his its this that any some
""".split())
_DETERMINERS = frozenset("the a an our my their his its this that these those any some".split())
_CLAUSE = re.compile(r"[,;:.!?\n]+|\b(?:and|then|also|afterwards|after that|and then)\b")
_RETRIEVAL = re.compile(r"\b(?:list|show|find|get|count|how many|how much|which|what|who|select|pull|fetch|give me|"
                        r"total|average|top)\b")
_WORD = re.compile(r"[a-z][a-z'-]*")


def requested_action(text: str, nouns: Collection[str] = ()) -> str | None:
    """The first 'verb object' instruction to act in ``text`` ('email them'), or None.

    ``nouns``: lower-case words of the data's table names; a plural or singular form of one right
    after the verb counts as its object (column words do not: 'call volume' is a projection).
    """
    for clause in _CLAUSE.split((text or "").casefold()):
        words = _WORD.findall(clause or "")
        if len(words) >= 2 and words[0] in ACTION_VERBS and _is_object(words[1], nouns):
            return " ".join(words[:3] if words[1] in _DETERMINERS and len(words) > 2 else words[:2])
    return None


def action_on_rows(text: str, nouns: Collection[str] = ()) -> str | None:
    """An instruction to act on rows the same request reads, or None: the action follows a clause that
    retrieves them ('list customers in France and email them'), or its object is one of the data's ``nouns``
    in the plural ('text the drivers'). 'send the weekly report to the board' or 'notify the on-call team' act on no rows."""
    clauses = [c for c in _CLAUSE.split((text or "").casefold()) if c and c.strip()]
    for i, clause in enumerate(clauses):
        words = _WORD.findall(clause)
        if len(words) < 2 or words[0] not in ACTION_VERBS or not _is_object(words[1], nouns):
            continue
        target = words[2] if words[1] in _DETERMINERS and len(words) > 2 else words[1]
        plural_noun = target not in _OBJECTS and target.endswith("s") and _is_object(target, nouns)  # not 'call volume'
        if any(_RETRIEVAL.search(c) for c in clauses[:i]) or plural_noun:
            return " ".join(words[:3] if words[1] in _DETERMINERS and len(words) > 2 else words[:2])
    return None


def _is_object(word: str, nouns: Collection[str]) -> bool:
    if word in _OBJECTS:
        return True
    return bool(nouns) and (word in nouns or word.rstrip("s") in nouns or word.removesuffix("es") in nouns)
