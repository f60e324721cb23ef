"""The intime API emulator (see docs/providers/intime.md)."""
