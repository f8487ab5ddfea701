"""Test helpers: scripted chat models and a local OpenAI-compatible server."""
