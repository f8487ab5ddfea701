"""Words for the offline NL→SQL composer: tokens, stems and generic English vocabulary.

Everything here is schema-independent: the vocabulary is ordinary English about
questions, quantities and time, never the names of any particular database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"|(?P<num>\$?\d+(?:,\d{3})*(?:\.\d+)?(?:[km](?![a-z]))?)"
    r"|(?P<quoted>'[^']+'|\"[^\"]+\")"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)?)"
    r"|(?P<sym>>=|<=|<>|!=|[<>=])"
)
_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman", "data": "data",
              "sold": "sell", "bought": "buy", "spent": "spend", "paid": "pay", "made": "make", "born": "birth"}


@dataclass(frozen=True)
class Token:
    """One word, number, ISO date, quoted string or comparison symbol of a question."""

    text: str
    raw: str
    stem: str
    kind: str
    value: Any = None


def stem(word: str) -> str:
    """A crude, consistent stem: 'categories'→'category', 'hired'→'hir', 'orders'→'order'."""
    w = word.lower()
    w = _IRREGULAR.get(w, w)
    if len(w) <= 3 or not w.isalpha():
        return w
    w = _strip_plural(w)
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
    elif w.endswith("ed") and len(w) > 4:
        w = w[:-2]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]
    return w[:-1] if w.endswith("e") and len(w) > 3 else w


def _strip_plural(w: str) -> str:
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("sses"):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def singular(name: str) -> str:
    """'line_items' → 'line_item', 'categories' → 'category'."""
    head, sep, last = name.rpartition("_")
    return head + sep + (_strip_plural(last.lower()) if len(last) > 3 else last.lower())


def split_identifier(name: str) -> list[str]:
    """'net_amount' → ['net', 'amount']; 'dueDate' → ['due', 'date']."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", re.sub(r"[_\-\s.]+", " ", name))
    return [p.lower() for p in parts]


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"(?i)\be-mail", "email", text)
    return re.sub(r"(?i)n't\b", " not", text)


def tokenize(text: str) -> list[Token]:
    """Split a question (or a sample value) into tokens, dropping punctuation."""
    tokens = []
    for match in _TOKEN.finditer(_normalize(text)):
        kind, raw = match.lastgroup, match.group()
        tokens.append(_token(kind, raw))
    return tokens


def _token(kind: str, raw: str) -> Token:
    if kind == "num":
        return Token(raw.lower(), raw, raw.lower(), "num", _number(raw))
    if kind == "quoted":
        return Token(raw[1:-1].lower(), raw[1:-1], raw[1:-1].lower(), "quoted", raw[1:-1])
    if kind == "word":
        base = re.sub(r"'(s|re|ve|ll|d|m)$", "", raw, flags=re.IGNORECASE)
        return Token(base.lower(), base, stem(base), "word")
    return Token(raw.lower(), raw, raw.lower(), kind, raw)


def _number(raw: str) -> float | int:
    text = raw.lower().lstrip("$").replace(",", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    text = text.rstrip("km")
    value = float(text) * factor
    return int(value) if value.is_integer() else value


def stems(*words: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words)


# Words that carry no meaning for the query (never counted as content).
STOP = frozenset("""
a an the of in on at to for from with and or is are was were be been being am do does did done have has had
having there here it its this that these those i me my we us our you your they them their he she his her please
can could would will shall should may might must what which who whom whose where how why as than into onto via
through about only just also so such up out ever currently now all any some give show list display tell find
get got return see want need know let lets compute calculate fetch retrieve report look much many s if whether
thanks thank hi hello ok okay kindly across within among overall whole entire same one ones
""".split())

# Content words that need no schema grounding (verbs of ordinary transactions, generic nouns).
TOLERATED = stems(*"""
place make create submit register record log open file issue add receive buy purchase sell sold selling spend
come live base located belong contain include hold generate bring ship have appear exist happen occur take
data record row entry information info detail result figure database table column field value values thing
stuff dollar dollars euro euros usd eur gbp pound pounds currency unit units amount number numbers count
distribution breakdown split overview summary statistic statistics stats metric metrics kpi total so far
popular common frequent often new existing
""".split())

# Creation verbs: after an auxiliary ("were placed") they describe the event, never a status filter.
EVENT_VERBS = stems("place", "placed", "make", "made", "create", "created", "submit", "submitted", "register",
                    "registered", "record", "recorded", "log", "logged", "open", "opened", "issue", "issued",
                    "receive", "received", "file", "filed", "add", "added")
AUXILIARIES = frozenset("is are was were be been being get got gets has have had".split())

# Nouns that may follow an attribute without adding meaning ("email addresses", "phone number").
GENERIC_HEADS = stems("address", "addresses", "number", "numbers", "name", "names", "info", "information",
                      "detail", "details", "data", "field", "fields", "value", "values", "list", "level")

# Predicates: irregular past forms (regular ones end in -ed), prepositions, pronouns and do-auxiliaries.
# A word in verb position ('trips *started* in', 'did each doctor *handle*') describes, never names data.
IRREGULAR_PAST = frozenset("""went gone made did done drove driven ran took taken gave given sent got gotten held kept
left brought bought sold paid spent won lost wrote written taught met built saw seen began begun grew grown flew
flown rode ridden came became become fell fallen put set cost hit read led lent paid shown told thought
found""".split())
PREPOSITIONS = frozenset("in on at to from by for with during per into after before since between under over "
                         "across through within".split())
PRONOUNS = frozenset("we they you i he she it who people".split())
# Words that are never a harmless predicate: they negate part of the question or ask for an action beyond
# reading ('ignoring the totals', 'do what they say'); left unknown, the engine says it cannot do them.
NEVER_PREDICATES = frozenset("""
ignoring ignore ignored excluding exclude excluded omitting omit skipping skip disregarding disregard except
say says said tell follow following obey obeying execute executing run running delete deleting update updating
drop dropping insert inserting send sending email emailing notify grant revoke
""".split())
DO_AUXILIARIES = frozenset("do does did".split())

# Direction: words before a value that say which of a column pair it belongs to ('to Lyon' → destination),
# and the identifier parts that name each side of such a pair.
DIRECTION_WORDS = {
    "to": frozenset("to into towards toward arriving arrived arrive arrives reaching reached reach ending ended "
                    "delivered bound".split()),
    "from": frozenset("from leaving left departing departed depart departs starting started originating "
                      "originated began beginning".split()),
}
DIRECTION_PARTS = {
    "to": frozenset("to destination dest dst arrival arrive end target receiver recipient".split()),
    "from": frozenset("from origin orig src source departure depart start sender".split()),
}

DML_WORDS = frozenset("delete drop truncate insert update alter create grant revoke merge upsert replace remove "
                      "erase wipe modify rename overwrite purge".split())
NON_DATA = frozenset("poem poems poetry joke jokes story stories song songs essay weather forecast translate recipe "
                     "news haiku limerick meaning life advice opinion feel feeling love".split())

# Generic synonym groups: any member may stand for another.
SYNONYM_GROUPS = (
    ("customer", "client", "buyer", "shopper", "consumer", "patron", "user", "account"),
    ("employee", "staff", "worker", "personnel", "colleague"),
    ("product", "item", "article", "good", "merchandise", "sku"),
    ("order", "purchase", "transaction"),
    ("department", "dept", "division", "team"),
    ("member", "borrower", "reader", "subscriber"),
    ("loan", "borrowing", "checkout", "rental", "lending"),
    ("author", "writer"),
    ("supplier", "vendor"),
    ("category", "type", "kind", "class", "genre", "group"),
    ("city", "town"),
    ("country", "nation"),
    ("location", "site", "office"),
    ("email", "mail"),
    ("phone", "telephone", "tel", "cellphone"),
    ("quantity", "qty", "unit", "piece"),
    ("status", "state"),
    ("name", "title"),
    ("date", "day", "time", "when"),
    ("segment", "tier"),
    ("salary", "wage", "pay", "compensation", "earn", "earning"),
)
SYNONYMS: dict[str, frozenset[str]] = {}
for _group in SYNONYM_GROUPS:
    for _word in _group:
        SYNONYMS[stem(_word)] = SYNONYMS.get(stem(_word), frozenset()) | (stems(*_group) - {stem(_word)})

# Measure concepts: question words → the column-name parts that realise them.
CONCEPT_WORDS = {
    "money": stems("revenue", "revenues", "sales", "turnover", "income", "spend", "spent", "spending", "gmv",
                   "earnings", "money", "value", "worth", "takings", "paid"),
    "price": stems("price", "prices", "cost", "costs", "priced", "expensive", "cheap", "pricey", "priciest"),
    "pay": stems("salary", "salaries", "wage", "wages", "pay", "paid", "earn", "earns", "earning", "compensation"),
}
CONCEPT_PARTS = {
    "money": frozenset({"amount", "total", "revenue", "revenues", "sales", "sale", "value", "spend", "spent", "paid",
                        "payment", "income", "turnover", "gmv", "subtotal"}),
    "price": frozenset({"price", "cost", "fee", "rate"}),
    "pay": frozenset({"salary", "wage", "wages", "pay", "compensation", "earnings", "income"}),
}
QUANTITY_PARTS = frozenset({"quantity", "qty", "units", "pieces"})
GENERIC_PARTS = frozenset({"id", "no", "num", "nr", "code", "key", "is", "has", "at", "on", "flag", "fk", "pk"})
LABEL_PARTS = ("name", "title", "label", "description")

# Keyword phrases (lower-case surface words) → marks.
MARK_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = tuple(sorted((
    (("how", "many"), "agg:count"), (("how", "much"), "agg:sum"), (("number", "of"), "agg:count"),
    (("total", "number", "of"), "agg:count"), (("count", "of"), "agg:count"), (("count",), "agg:count"),
    (("total",), "agg:sum"), (("combined",), "agg:sum"), (("sum", "of"), "agg:sum"), (("sum",), "agg:sum"), (("average",), "agg:avg"),
    (("avg",), "agg:avg"), (("mean",), "agg:avg"), (("maximum",), "agg:max"), (("max",), "agg:max"),
    (("minimum",), "agg:min"), (("min",), "agg:min"),
    (("highest",), "rank:desc"), (("largest",), "rank:desc"), (("biggest",), "rank:desc"), (("greatest",), "rank:desc"),
    (("most",), "rank:desc"), (("top",), "rank:desc"), (("best",), "rank:desc"), (("lowest",), "rank:asc"),
    (("smallest",), "rank:asc"), (("longest",), "rank:desc"), (("shortest",), "rank:asc"),
    (("heaviest",), "rank:desc"), (("lightest",), "rank:asc"), (("farthest",), "rank:desc"),
    (("furthest",), "rank:desc"), (("fastest",), "rank:desc"), (("slowest",), "rank:asc"),
    (("busiest",), "rank:desc"), (("costliest",), "rank:desc"),
    (("least",), "rank:asc"), (("fewest",), "rank:asc"), (("bottom",), "rank:asc"),
    (("worst",), "rank:asc"), (("cheapest",), "rank:asc+price"), (("priciest",), "rank:desc+price"),
    (("by",), "group"), (("per",), "group"), (("for", "each"), "group"), (("for", "every"), "group"),
    (("each",), "group"), (("grouped", "by"), "group"), (("group", "by"), "group"), (("broken", "down", "by"), "group"),
    (("breakdown", "by"), "group"), (("split", "by"), "group"), (("in", "each"), "group"),
    (("distinct",), "distinct"), (("different",), "distinct"), (("unique",), "distinct"),
    (("not",), "not"), (("no",), "not"), (("without",), "not"), (("except",), "not"), (("excluding",), "not"),
    (("other", "than"), "not"), (("never",), "not"),
    (("latest",), "recent:desc"), (("newest",), "recent:desc"), (("most", "recent"), "recent:desc"),
    (("recent",), "recent:desc"), (("last",), "recent:desc"), (("first",), "recent:asc"),
    (("oldest",), "recent:asc"), (("earliest",), "recent:asc"),
    (("which",), "which"), (("what",), "which"), (("who",), "which"),
    (("monthly",), "unit:month"), (("yearly",), "unit:year"), (("annual",), "unit:year"), (("annually",), "unit:year"),
    (("daily",), "unit:day"), (("quarterly",), "unit:quarter"),
), key=lambda pair: -len(pair[0])))
TIME_UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
              "quarter": "quarter", "quarters": "quarter", "year": "year", "years": "year"}


def abbreviates(part: str, word: str) -> bool:
    """``part`` abbreviates ``word``: same first letter, its letters in order, the word at most 3x longer."""
    if part.endswith("s") and len(part) > 2 and abbreviates(part[:-1], word):  # 'hrs' → 'hour'
        return True
    if not len(part) < len(word) <= 3 * len(part) or word[0] != part[0]:
        return False
    rest = iter(word[1:])
    return all(ch in rest for ch in part[1:])


def abbreviation_like(part: str) -> bool:
    """Short, and no vowel after the first letter: 'acct', 'qty', 'hrs', 'inv', 'kg' (not 'city', 'plan')."""
    return 2 <= len(part) <= 4 and part.isalpha() and part not in GENERIC_PARTS \
        and not any(ch in "aeiou" for ch in part[1:])


def expanded(parts: list[str]) -> list[str]:
    """``parts`` with the concept words their abbreviations stand for ('amt' → also 'amount')."""
    wanted = sorted({w for words in CONCEPT_PARTS.values() for w in words} | QUANTITY_PARTS)
    return parts + [w for p in parts if abbreviation_like(p) for w in wanted if w not in parts and abbreviates(p, w)]
