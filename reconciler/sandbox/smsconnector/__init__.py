"""The smsconnector API emulator (see docs/providers/smsconnector.md)."""
