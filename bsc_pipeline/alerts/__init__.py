"""Alerts to owners: state transitions, the outbox, digests and delivery channels."""
