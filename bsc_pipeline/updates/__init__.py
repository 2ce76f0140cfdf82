"""The monthly update cycle: owners' commentary and manually reported measures.

`template.py` writes each owner's template for a month, `gate.py` checks returned files (they
arrive through the landing zone as the `updates` dataset), `storage.py` keeps every version in
the warehouse, `reminders.py` plans the reminder for a red measure left without commentary,
`cli.py` adds `bsc updates`. See docs/updates.md.
"""
