"""SLA clocks: policies, business-time clocks, durable timers and the notices they send."""
