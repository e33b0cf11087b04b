"""SQL migrations and deployment files (shipped as package data)."""
