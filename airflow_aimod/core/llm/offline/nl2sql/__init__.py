"""Offline NL-to-SQL: a semantic parser over the live catalog (``composer.SqlComposer``)."""
