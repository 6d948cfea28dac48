"""Child processes of the local stack, and the supervisor that restarts them."""
