"""SMS rules that hold for every provider: encoding and segments, message checks, audiences.

- :mod:`.encoding`: GSM 03.38 (with its extension table) or UCS-2, and how many segments a text
  takes; pure and table-driven.
- :mod:`.rules`: what a provider declares about sending (text limits, sender rules, where
  recipients come from, which recipients it filters itself) and the validate-time checks of one
  message item against those declarations.
- :mod:`.audience`: plan-time expansion of a campaign's recipients, minus opt-outs, quiet hours,
  and the send impact (recipients, encoding, segments, total SMS, cost) of each campaign change.

Nothing here does I/O or names a provider; providers feed it their declared data.
"""
