"""LLM access for agents: the model factory, the JSON caller, the offline engine."""
