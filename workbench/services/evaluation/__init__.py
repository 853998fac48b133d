"""The evaluation pages of `workbench serve` under ``/eval/`` (docs/evaluation.md#http-routes):
login and sign-up with consent, crowd arrivals (Prolific, Mechanical Turk), the chat and
rating pages, the completion code and the admin dashboard. Server-rendered forms, no
script; every form carries a single-use token bound to the login, and every page checks
the login and the owner of the thread it shows."""
