"""Aliases: the alias store (current state, history, reverse index) and its use cases and rules."""
