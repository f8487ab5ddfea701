"""Sensors: waiting for a decision as a task of its own (``approval``: AgentApprovalSensor)."""
