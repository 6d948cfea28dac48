"""Aliases: the alias store (current state, history, reverse index), its use cases and rules, and what
reads or moves aliases together with versions: the catalog (a model with the aliases on it) and the re-run warm-up."""
