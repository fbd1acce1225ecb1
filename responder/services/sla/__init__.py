"""SLA timers: waking up, planning alerts and notices."""
