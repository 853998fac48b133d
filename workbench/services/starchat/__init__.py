"""starchat's REST API served by workbench (docs/decision-tables.md).

``routes.py``: the endpoint list, routes and the one guard; ``auth.py``: who may call
what; ``bodies.py``: bodies read within limits and checked; ``schemas.py``: the bodies'
models; ``openapi.py``: the document generated from them; ``conversation.py``
(get_next_response, through the runtime), ``decisiontable.py``, ``knowledgebase.py``:
the handlers; ``edits.py``: the table and knowledge-base writes; ``service.py``: what
the handlers share; ``errors.py``: the JSON errors.
"""
