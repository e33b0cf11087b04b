"""Activities: all I/O (event store, notifications, projections)."""
