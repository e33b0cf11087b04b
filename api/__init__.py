"""`dueprocess api`: the HTTP API (FastAPI), identity from verified access tokens."""
