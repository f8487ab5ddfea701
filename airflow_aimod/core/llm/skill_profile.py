"""Offline skill ``explain_profile``: a summary written from the profile's numbers and the verdict, nothing else.

It says how much was profiled (and whether on a sample), the verdict with the failed checks,
then the columns worth a look: the most NULLs, numeric ranges with median and mean, dates'
span, types inferred from values that differ from the declaration, and which columns' values
were withheld as PII. An ``unknown`` verdict or a missing profile gives "cannot judge".
"""

from __future__ import annotations

from typing import Any

SHOWN = 4


def answer(context: dict[str, Any]) -> dict[str, Any]:
    profile = context.get("profile") or {}
    assessment = context.get("assessment") or {}
    table = str(profile.get("table") or assessment.get("subject") or "the table")
    verdict = assessment.get("verdict")
    if not profile.get("columns") or verdict not in ("normal", "anomalous"):
        return {"summary": f"Cannot judge {table}: {assessment.get('summary') or 'no profile to read'}.",
                "confidence": 0.0}
    parts = [_scope(table, profile), _verdict(assessment)]
    parts += [p for p in (_nulls(profile), _ranges(profile), _types(profile), _pii(profile)) if p]
    return {"summary": " ".join(parts), "confidence": 0.8}


def _scope(table: str, profile: dict[str, Any]) -> str:
    rows, profiled = int(profile.get("row_count") or 0), int(profile.get("profiled_rows") or 0)
    sample = f", statistics on a sample of {profiled:,}" if profile.get("sampled") else ""
    skipped = profile.get("skipped_columns") or []
    extra = f" ({len(skipped)} more not profiled)" if skipped else ""
    return f"{table}: {rows:,} rows{sample}, {len(profile['columns'])} columns profiled{extra}."


def _verdict(assessment: dict[str, Any]) -> str:
    findings = assessment.get("findings") or []
    if not findings:
        return "Quality: normal, every threshold holds."
    listed = "; ".join(str(f.get("message")) for f in findings[:SHOWN])
    more = f" and {len(findings) - SHOWN} more" if len(findings) > SHOWN else ""
    return f"Quality: anomalous, {len(findings)} finding(s): {listed}{more}."


def _nulls(profile: dict[str, Any]) -> str:
    nulls = sorted((c for c in profile["columns"] if c.get("null_count")), key=lambda c: -float(c["null_rate"]))
    if not nulls:
        return "No column has NULLs."
    return "NULLs: " + ", ".join(f"{c['name']} {float(c['null_rate']):.1%}" for c in nulls[:SHOWN]) + "."


def _ranges(profile: dict[str, Any]) -> str:
    shown = []
    for c in profile["columns"]:
        if c.get("pii") or c.get("primary_key") or c.get("min") is None:
            continue
        if c.get("inferred_type") in ("integer", "float"):
            median = (c.get("quantiles") or {}).get("p50")
            centre = f", median {_num(median)}" if median is not None else ""
            mean = f", mean {_num(c['mean'])}" if c.get("mean") is not None else ""
            shown.append(f"{c['name']} {_num(c['min'])}–{_num(c['max'])}{centre}{mean}")
        elif c.get("inferred_type") in ("date", "datetime"):
            shown.append(f"{c['name']} from {c['min']} to {c['max']}")
    return ("Ranges: " + "; ".join(shown[:SHOWN]) + ".") if shown else ""


def _types(profile: dict[str, Any]) -> str:
    loose = [c for c in profile["columns"] if c.get("inferred_type") != "empty"
             and _declared_family(c) not in (None, c.get("inferred_type"))]
    if not loose:
        return ""
    return "Inferred from the values: " + ", ".join(
        f"{c['name']} ({c['declared_type'] or 'untyped'}) holds {c['inferred_type']}" for c in loose[:SHOWN]) + "."


def _pii(profile: dict[str, Any]) -> str:
    pii = [c["name"] for c in profile["columns"] if c.get("pii")]
    return f"Values withheld as PII (counts only): {', '.join(pii)}." if pii else ""


def _declared_family(column: dict[str, Any]) -> str | None:
    declared = str(column.get("declared_type") or "").lower()
    for word, family in (("bool", "boolean"), ("timestamp", "datetime"), ("date", "date"), ("int", "integer"),
                         ("char", "string"), ("text", "string"), ("real", "float"), ("double", "float")):
        if word in declared:
            return family
    return None


def _num(value: Any) -> str:
    return f"{value:,.6g}" if isinstance(value, (int, float)) else str(value)
