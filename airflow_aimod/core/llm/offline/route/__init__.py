"""Offline routing: a TF-IDF classifier over the agents' own words (``classifier.RouteClassifier``)."""
