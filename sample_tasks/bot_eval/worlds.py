"""The moderator bot under evaluation, and a transform of what people send."""

from workbench.task.registry import bot, transform


@bot("moderator")
class Moderator:
    """boteval's style (hear, then talk); it greets first and keeps its turn count as state."""

    greets = True

    def __init__(self) -> None:
        self.last: str | None = None
        self.turns = 0

    def hear(self, message: dict) -> None:
        self.last = message.get("text")

    def talk(self) -> dict:
        if self.last is None:
            return {"text": "Hello! I am the moderator. What do you make of this conversation?"}
        self.turns += 1
        if "?" in self.last:
            return {"text": "Good question. What do the others think?"}
        return {"text": f"Thanks for sharing (turn {self.turns}). Can you say more about why?"}

    def get_state(self) -> dict:
        return {"turns": self.turns}

    def set_state(self, state: dict) -> None:
        self.turns = int(state.get("turns", 0))


@transform("no_shouting")
def no_shouting(text: str) -> str:
    """Messages in capitals are lowered before the bot hears them."""
    return text.lower() if text.isupper() else text
