"""task.yml texts for the loading tests (in process and through `workbench validate`): a valid
one, and broken ones with the line, key and words their error must name."""

#: a valid task: one echo bot, one world
GOOD = """\
name: t
bots:
  echo: {engine: echo}
worlds:
  chat:
    type: bot_chat
    bot: echo
"""

# (name, task.yml, expected line, expected key or None, words the message must contain)
BROKEN = [
    (
        "yaml-syntax",
        "name: t\nworlds:\n  chat: {type: bot_chat, bot: echo\nbots: {}\n",
        3,
        None,
        "YAML syntax error",
    ),
    (
        "type-error",
        "name: t\nmax_workers: lots\nbots:\n  echo: {engine: echo}\nworlds:\n  chat: {type: bot_chat, bot: echo}\n",
        2,
        "max_workers",
        "integer",
    ),
    (
        "nested-type-error",
        "name: t\nbots:\n  echo: {engine: echo}\nworlds:\n  chat:\n    type: bot_chat\n    bot: echo\n    timeout: soon\n",
        8,
        "worlds.chat.timeout",
        "number",
    ),
    (
        "unknown-key",
        "name: t\nbots:\n  echo: {engine: echo}\nworlds:\n  chat:\n    type: bot_chat\n    bot: echo\n    colour: blue\n",
        8,
        "worlds.chat.colour",
        "unknown key",
    ),
    (
        "unknown-top-key",
        "name: t\nwrolds: {}\n",
        2,
        "wrolds",
        "unknown key",
    ),
    (
        "unknown-bot",
        "name: t\nworlds:\n  chat:\n    type: bot_chat\n    bot: nobody\n",
        5,
        "worlds.chat.bot",
        "no bot named 'nobody'",
    ),
]
