"""Facebook Messenger: the webhook at ``/webhook/messenger`` and replies through the Send API.

- ``settings``: secrets from the environment, behaviour from task.yml's ``serve.messenger``
- ``webhook``: the signature, the body's shape, the message each event becomes
- ``service``: the webhook's handlers, one Session per sender, replays dropped
- ``outbox``: each person's replies in order; ``sender``: one message through the Send API
- ``outgoing``: text and quick replies within Messenger's limits
- ``attachments``: payloads as attachments, from a closed set of shapes
- ``graph``: the Graph API client with retries; ``routes``: the routes the server mounts

See docs/messenger.md.
"""
