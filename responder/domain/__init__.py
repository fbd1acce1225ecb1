"""Domain types at the bottom of the layers: messages, cursors, stored records, the business
calendar, SLA policies, survey facts."""
