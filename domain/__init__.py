"""Pure domain model: no I/O, clock, randomness or environment."""
