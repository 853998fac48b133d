"""Model bots (docs/model-bots.md): language models answering through the same runtime as every
other bot, their replies streamed (workbench/engines/streaming.py).

- ``settings``: the keys every model bot shares (system prompt, parameters, history);
- ``history``: the conversation as the engine state keeps it, and the part sent each turn;
- ``request``: what is sent to a model and what came back (figures included);
- ``engine``: :class:`ModelEngine`, the engine both kinds of model bot are;
- ``cassette``: recorded responses for reproducible conversation tests;
- ``openai_compatible``: ``engine: openai``, any OpenAI-compatible chat-completions server;
- ``transformers_model``, ``loading``, ``tiny``: ``engine: transformers``, a local model
  loaded once per process in a background thread (torch and transformers are imported there
  and nowhere else), and the tiny babbling model workbench builds for the sample task.
"""
