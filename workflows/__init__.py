"""Temporal workflows: thin shells over the domain deciders."""
