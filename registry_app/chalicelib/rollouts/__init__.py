"""Canary rollouts: an alias's weight moved step by step to a candidate, rolled back by itself on a breach."""
