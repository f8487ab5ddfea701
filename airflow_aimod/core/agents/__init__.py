"""One module per agent; each exposes ``build_graph(runtime, ...)`` returning an uncompiled StateGraph."""
