"""Facebook Messenger: the webhook and the Send API."""
