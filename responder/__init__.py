"""responder: an always-on customer-service front desk for a small business."""

__version__ = "0.1.0"
