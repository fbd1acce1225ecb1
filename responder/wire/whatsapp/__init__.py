"""WhatsApp Cloud API: webhook messages in, Graph API message requests out."""
