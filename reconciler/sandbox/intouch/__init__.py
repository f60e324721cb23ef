"""The intouch API emulator (see docs/providers/intouch.md)."""
