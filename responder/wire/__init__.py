"""Each channel's wire format: parsing what arrives, composing what is sent."""
