"""Tier 4 alert manager: alerts without the noise, sent through the channels the envelope allows.

Graph: ``triage`` (every alert counted in the store: dedup by fingerprint, throttle, severity
routes, resolves; critical alerts past their acknowledgement timeout are escalated; the info
digest is flushed when asked) → ``compose`` (one LLM call, task ``compose_alert``, writes a
headline per message; the facts are rendered from the alerts) → ``send`` (each message through
``notify.send`` to a channel = an Airflow connection; a channel outside the envelope is blocked)
→ ``acknowledge`` (with ``ask_ack``: a person acknowledges the critical alerts on Required Actions;
"Escalate", or no answer before the request's timeout (enforced by Airflow's scheduler), escalates
them then, on the request's own timer). An escalation is claimed in the store before it is sent, so an
alert is escalated once even when the timer and a later run's triage race, and never once acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.graph import StateGraph

from airflow_aimod.core.agents.edges import chain
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.alerts import Alert, AlertPolicy, AlertState, render
from airflow_aimod.core.approval import ApprovalOption, ApprovalRequest, request_body
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import alert_messages
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.exceptions import PermissionDenied, StepFailed

ACK_OPTIONS = (ApprovalOption("Acknowledge", "approve"), ApprovalOption("Escalate", "reject"))


class AlertTools:
    """The alerts, where their state lives, the policy, the channels per route kind and the sender."""

    def __init__(self, *, alerts: Sequence[Mapping[str, Any] | Alert], state: AlertState, policy: AlertPolicy,
                 channels: Mapping[str, Sequence[str]], send: Callable[[str, Any], None],
                 now: Callable[[], float], flush_digest: bool = False, ask_ack: bool = False) -> None:
        self.alerts = [Alert.of(a) for a in alerts]
        self.state, self.policy, self.send, self.now = state, policy, send, now
        self.channels = {kind: tuple(ids) for kind, ids in channels.items()}
        self.flush_digest, self.ask_ack = flush_digest, ask_ack


def build_graph(runtime: AgentRuntime, tools: AlertTools) -> StateGraph:
    """The alert manager graph, uncompiled."""
    nodes = _AlertNodes(runtime, tools)
    return chain(nodes, ("triage", "compose", "send", "acknowledge"))


def approval_request(state: AgentState, agent: str) -> ApprovalRequest:
    """Acknowledge the critical alerts just sent, or escalate them now."""
    criticals = state["work"]["criticals"]
    reasons = (f"{len(criticals)} critical alert(s) went out; unacknowledged they are escalated",)
    lines = ["**Critical alerts:**", ""] + [f"- {a['title']} (`{a['fingerprint']}`): {a.get('body') or ''}"[:400]
                                            for a in criticals]
    body = request_body(reasons=reasons, question="Acknowledge (you are on it) or escalate now?",
                        sections=[*lines, ""], trace_id=state.get("trace_id"), options=ACK_OPTIONS)
    return ApprovalRequest(agent=agent, action="notify.send", action_id="ack-" + "+".join(a["fingerprint"]
                                                                                          for a in criticals),
                           subject=f"{agent}: acknowledge {len(criticals)} critical alert(s)?", body=body,
                           reasons=reasons, trace_id=state.get("trace_id"), options=ACK_OPTIONS)


class _AlertNodes:
    def __init__(self, runtime: AgentRuntime, tools: AlertTools) -> None:
        self.rt, self.tools = runtime, tools

    def triage(self, state: AgentState) -> dict[str, Any]:
        t, now = self.tools, self.tools.now()
        outbox: list[dict[str, Any]] = []
        counts = {"suppressed": 0, "digested": 0, "resolved": 0, "ignored": 0}
        for alert in t.alerts:
            decision = t.state.observe(alert, t.policy, now=now)
            key = {"suppress": "suppressed", "digest": "digested", "resolve": "resolved", "ignore": "ignored"}
            if decision.action in key:
                counts[key[decision.action]] += 1
            if decision.action in ("send", "resolve"):
                outbox += [{"kind": decision.action, "route": r, "alert": alert.to_dict(), "repeats": decision.repeats}
                           for r in decision.routes]
        for row in t.state.due_escalations(t.policy, now=now):
            outbox.append({"kind": "escalation", "route": "escalation", "alert": _row_alert(row), "repeats": 0})
        if t.flush_digest:
            outbox += [{"kind": "digest", "route": "digest", "alert": _row_alert(row), "repeats": row.suppressed}
                       for row in t.state.pending_digest()]
        return self.rt.update("triage", work={"outbox": outbox, "counts": counts})

    def compose(self, state: AgentState) -> dict[str, Any]:
        batches = _batches(state["work"]["outbox"])
        if not batches:
            return self.rt.update("compose", work={"batches": []})
        shown = [{"id": i, "kind": b["kind"], "group": b["group"],
                  "alerts": [{k: it["alert"][k] for k in ("title", "severity", "source", "body")} | {
                      "repeats": it["repeats"]} for it in b["items"][:20]]} for i, b in enumerate(batches)]
        try:
            reply = self.rt.ask_json(state, alert_messages(state["request"], shown))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("compose", exc)
        headlines = reply.data.get("headlines") if isinstance(reply.data.get("headlines"), Mapping) else {}
        for i, batch in enumerate(batches):
            batch["headline"] = str(headlines.get(str(i)) or headlines.get(i) or "")[:300]
        return self.rt.update("compose", events=reply.events, token_usage=reply.usage, work={"batches": batches})

    def send(self, state: AgentState) -> dict[str, Any]:
        work, events = state["work"], []
        sent, blocked, failed, escalated, unrouted = [], [], [], [], []
        reached: dict[str, tuple[bool, int]] = {}
        for batch in work["batches"]:
            channels = self._channels(batch["route"])
            if not channels:
                unrouted.append(batch["route"])
                continue
            if batch["kind"] == "escalation" and not self._claim(batch):
                continue  # acknowledged, resolved or escalated by another task since triage
            message = render(batch["kind"], batch["items"], headline=batch.get("headline", ""))
            ok = False
            for channel in channels:
                outcome, evts = self._deliver(channel, batch, message)
                events += evts
                if outcome is None:
                    ok = True
                    sent.append({"channel": channel, "route": batch["route"], "kind": batch["kind"],
                                 "group": batch["group"], "alerts": len(batch["items"]), "subject": message.subject})
                else:
                    (blocked if outcome[0] == "blocked" else failed).append({"channel": channel, "reason": outcome[1]})
            escalated += self._settle(batch, ok)
            for item in batch["items"] if batch["kind"] == "send" else ():
                fp = item["alert"]["fingerprint"]
                reached[fp] = (reached.get(fp, (False, item["repeats"]))[0] or ok, item["repeats"])
        for fp, (ok, repeats) in reached.items():
            if not ok:  # no channel took it: count it back, the next message reports it
                self.tools.state.unsent(fp, repeats)
        criticals = [it["alert"] for b in work["batches"] for it in b["items"]
                     if b["kind"] == "send" and it["alert"]["severity"] == "critical" and b["route"] != "escalation"]
        criticals = list({a["fingerprint"]: a for a in criticals}.values())
        result = {"received": len(self.tools.alerts), "sent": sent, **work["counts"], "escalated": escalated,
                  "blocked": blocked, "failed": failed, "unrouted": sorted(set(unrouted)), "acknowledged": []}
        if failed or blocked:
            why = "; ".join(f"{x['channel']}: {x['reason']}" for x in (failed + blocked)[:5])
            status = Status.FAILED if failed else Status.REFUSED
            return self.rt.finish("send", status, f"not every alert was delivered: {why}"[:1000], events=events,
                                  result=result)
        reason = f"{len(sent)} message(s) sent, {work['counts']['suppressed']} repeat(s) held back"
        if criticals and self.tools.ask_ack:
            return self.rt.update("send", events=events, work={"criticals": criticals, "result": result,
                                                               "reason": reason})
        return self.rt.finish("send", Status.ANSWERED, reason, events=events, result=result)

    def acknowledge(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        decision = self.rt.ask_person(approval_request(state, self.rt.spec.name))
        decided = self.rt.decided(decision, "ack-" + "+".join(a["fingerprint"] for a in work["criticals"]))
        result, now = dict(work["result"]), self.tools.now()
        if decision.approved:
            result["acknowledged"] = [a["fingerprint"] for a in work["criticals"]
                                      if self.tools.state.acknowledge(a["fingerprint"], by=decision.who(), now=now)]
            return self.rt.finish("acknowledge", Status.ANSWERED, f"{work['reason']}; acknowledged by {decision.who()}",
                                  events=decided["events"], approvals=decided["approvals"], result=result)
        why = "no acknowledgement in time" if decision.reviewer == "timeout" else f"{decision.who()} chose Escalate"
        batch = {"kind": "escalation", "route": "escalation", "group": "escalation", "headline": "",
                 "items": [{"alert": a, "repeats": 0} for a in work["criticals"]]}
        if not self._claim(batch):
            return self.rt.finish("acknowledge", Status.ANSWERED, f"{work['reason']}; {why}, but every alert was "
                                  "acknowledged, resolved or escalated meanwhile", events=decided["events"],
                                  approvals=decided["approvals"], result=result)
        message, events = render("escalation", batch["items"]), list(decided["events"])
        channels, delivered = self._channels("escalation"), False
        for channel in channels:
            outcome, evts = self._deliver(channel, batch, message)
            events += evts
            delivered = delivered or outcome is None
        result["escalated"] = [*result["escalated"], *self._settle(batch, delivered)]
        return self.rt.finish("acknowledge", Status.ANSWERED if delivered else Status.FAILED,
                              f"{work['reason']}; {why}: escalated to {', '.join(channels) or 'nobody'}"
                              if delivered else f"{work['reason']}; {why}, and no escalation channel took it",
                              events=events, approvals=decided["approvals"], result=result)

    def _channels(self, route: str) -> Sequence[str]:
        """The channels of a route kind; escalations fall back to the mail channels."""
        found = self.tools.channels.get(route)
        return found or (self.tools.channels.get("mail") or () if route == "escalation" else ())

    def _claim(self, batch: dict[str, Any]) -> bool:
        """Keep the escalation's alerts this task may still escalate (claimed in the store); any left?"""
        now = self.tools.now()
        batch["items"] = [it for it in batch["items"]
                          if self.tools.state.escalated(it["alert"]["fingerprint"], now=now)]
        return bool(batch["items"])

    def _deliver(self, channel: str, batch: dict[str, Any], message: Any) -> tuple[tuple[str, str] | None, list]:
        action = Action("notify.send", target=channel, params={"kind": batch["kind"], "subject": message.subject,
                                                               "alerts": len(batch["items"])})
        try:
            out = self.rt.tool(action, lambda: self.tools.send(channel, message))
        except PermissionDenied as exc:
            return ("blocked", str(exc)), []
        except StepFailed as exc:
            return ("failed", str(exc.cause)[:300]), list(exc.events)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return ("failed", str(exc)[:300]), []
        return None, out.events

    def _settle(self, batch: dict[str, Any], delivered: bool) -> list[str]:
        """Book the batch's outcome in the store; the escalations it made."""
        state, now, fps = self.tools.state, self.tools.now(), [it["alert"]["fingerprint"] for it in batch["items"]]
        if batch["kind"] == "escalation":
            for fp in fps if not delivered else ():
                state.unescalated(fp)  # claimed in _claim; the next run tries again
            return fps if delivered else []
        if batch["kind"] == "digest" and delivered:
            state.digest_sent(fps, now=now)
        return []


def _batches(outbox: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group the outbox: one message per (kind, route, group); the digest is one message."""
    batches: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in outbox:
        group = "digest" if item["kind"] == "digest" else item["alert"]["group"]
        batch = batches.setdefault((item["kind"], item["route"], group),
                                   {"kind": item["kind"], "route": item["route"], "group": group, "items": []})
        batch["items"].append(item)
    return list(batches.values())


def _row_alert(row: Any) -> dict[str, Any]:
    return {"title": row.title, "severity": row.severity, "source": "", "body": row.body, "labels": {},
            "group": row.group_key, "resolved": False, "fingerprint": row.fingerprint}
