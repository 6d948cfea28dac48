"""AWS on this machine: the emulator, the registry's resources on it, `chalice local` and the event pump."""
