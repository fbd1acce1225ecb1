"""Pure deciding: guards, tickets, rules, hours and the reply to send; no I/O, time injected."""
