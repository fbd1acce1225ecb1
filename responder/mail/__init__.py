"""Email handling: parsing inbound mail, spotting machine mail, composing replies."""
