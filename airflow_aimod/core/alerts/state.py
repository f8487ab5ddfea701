"""``AlertState``: dedup, throttle, digest, acknowledgement and escalation state in the AiMod store.

One row per fingerprint (table ``aimod_alerts``, migration 4). ``observe`` reads the row, asks
the policy and writes the outcome in one transaction holding the fingerprint's lock, so two
tasks raising the same alert at once send it once and count both. Every occurrence is counted
(``occurrences``); those held back since the last message are ``suppressed`` and reported by the
next message, so nothing is lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from airflow_aimod.core.alerts.policy import Alert, AlertPolicy, AlertRow, Decision

_COLUMNS = ("fingerprint", "severity", "status", "first_seen", "last_seen", "first_sent", "last_sent", "occurrences",
            "suppressed", "pending_digest", "acked_at", "escalated_at", "title", "group_key", "body", "acked_by")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM aimod_alerts"


def _key(fingerprint: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"alert\0{fingerprint}".encode(), digest_size=8).digest(), "big",
                          signed=True)


def _row(values: Iterable[Any]) -> AlertRow:
    data = dict(zip(_COLUMNS, values))
    data["pending_digest"] = bool(data["pending_digest"])
    data["occurrences"], data["suppressed"] = int(data["occurrences"]), int(data["suppressed"])
    return AlertRow(**data)


class AlertState:
    """Alert state kept in an ``EventStore`` (SQLite or Postgres)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def get(self, fingerprint: str) -> AlertRow | None:
        rows = self.store.fetch(f"{_SELECT} WHERE fingerprint = ?", (fingerprint,))
        return _row(rows[0]) if rows else None

    def observe(self, alert: Alert, policy: AlertPolicy, *, now: float) -> Decision:
        """Count one occurrence of ``alert`` and return what to do with it (a send is recorded as sent)."""
        with self.store.locked(_key(alert.fingerprint)) as conn:
            found = conn.execute(self.store.sql(f"{_SELECT} WHERE fingerprint = ?"), (alert.fingerprint,)).fetchone()
            row = _row(found) if found else None
            decision = policy.decide(alert, row, now=now)
            self._write(conn, alert, row, decision, now)
        return decision

    def _write(self, conn: Any, alert: Alert, row: AlertRow | None, decision: Decision, now: float) -> None:
        sql = self.store.sql
        if decision.action == "ignore":
            return
        if decision.action == "resolve":
            conn.execute(sql("UPDATE aimod_alerts SET status = 'resolved', last_seen = ?, last_sent = ?, "
                             "suppressed = 0, pending_digest = 0 WHERE fingerprint = ?"), (now, now, alert.fingerprint))
            return
        new_episode = row is None or row.status != "firing"
        sent = decision.action == "send"
        if new_episode:
            conn.execute(sql("DELETE FROM aimod_alerts WHERE fingerprint = ?"), (alert.fingerprint,))
            conn.execute(sql(
                f"INSERT INTO aimod_alerts ({', '.join(_COLUMNS)}, source) VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})"),
                (alert.fingerprint, alert.severity, "firing", now, now, now if sent else None, now if sent else None,
                 1, 0, int(decision.action == "digest"), None, None, alert.title, alert.group, alert.body[:4000],
                 None, alert.source))
            return
        if decision.action == "suppress":
            conn.execute(sql("UPDATE aimod_alerts SET occurrences = occurrences + 1, suppressed = suppressed + 1, "
                             "last_seen = ?, body = ? WHERE fingerprint = ?"), (now, alert.body[:4000], alert.fingerprint))
            return
        conn.execute(sql(
            "UPDATE aimod_alerts SET occurrences = occurrences + 1, suppressed = 0, last_seen = ?, severity = ?, "
            "body = ?, pending_digest = ?, first_sent = COALESCE(first_sent, ?), last_sent = ? WHERE fingerprint = ?"),
            (now, alert.severity, alert.body[:4000], int(decision.action == "digest"), now if sent else None,
             now if sent else row.last_sent, alert.fingerprint))

    def unsent(self, fingerprint: str, repeats: int) -> None:
        """A send that failed: count it back as held back, so the next occurrence goes out and reports it."""
        with self.store.locked(_key(fingerprint)) as conn:
            conn.execute(self.store.sql("UPDATE aimod_alerts SET last_sent = NULL, suppressed = suppressed + ? "
                                        "WHERE fingerprint = ?"), (repeats + 1, fingerprint))

    def pending_digest(self) -> list[AlertRow]:
        return [_row(r) for r in self.store.fetch(f"{_SELECT} WHERE pending_digest = 1 ORDER BY first_seen")]

    def digest_sent(self, fingerprints: Iterable[str], *, now: float) -> None:
        for fingerprint in fingerprints:
            with self.store.locked(_key(fingerprint)) as conn:
                conn.execute(self.store.sql(
                    "UPDATE aimod_alerts SET pending_digest = 0, suppressed = 0, last_sent = ?, "
                    "first_sent = COALESCE(first_sent, ?) WHERE fingerprint = ?"), (now, now, fingerprint))

    def acknowledge(self, fingerprint: str, *, by: str, now: float) -> bool:
        """Mark a firing alert acknowledged (no escalation then); False when there is none."""
        with self.store.locked(_key(fingerprint)) as conn:
            done = conn.execute(self.store.sql("UPDATE aimod_alerts SET acked_at = ?, acked_by = ? WHERE "
                                               "fingerprint = ? AND status = 'firing'"), (now, by[:200], fingerprint))
            return bool(done.rowcount)

    def due_escalations(self, policy: AlertPolicy, *, now: float) -> list[AlertRow]:
        rows = self.store.fetch(f"{_SELECT} WHERE status = 'firing' AND severity = 'critical' AND acked_at IS NULL "
                                "AND escalated_at IS NULL")
        return [row for row in map(_row, rows) if policy.escalation_due(row, now=now)]

    def escalated(self, fingerprint: str, *, now: float) -> bool:
        """Claim the escalation of a firing, unacknowledged alert once; False when it was acknowledged,
        resolved or escalated (by another task) first. Claim before sending; release if no channel took it."""
        with self.store.locked(_key(fingerprint)) as conn:
            done = conn.execute(self.store.sql("UPDATE aimod_alerts SET escalated_at = ? WHERE fingerprint = ? AND "
                                               "escalated_at IS NULL AND acked_at IS NULL AND status = 'firing'"),
                                (now, fingerprint))
            return bool(done.rowcount)

    def unescalated(self, fingerprint: str) -> None:
        """Release a claimed escalation that no channel took, so the next run tries again."""
        with self.store.locked(_key(fingerprint)) as conn:
            conn.execute(self.store.sql("UPDATE aimod_alerts SET escalated_at = NULL WHERE fingerprint = ?"),
                         (fingerprint,))
