"""ParlAI's overworld demo, ported to workbench.

The logic follows the worlds of ParlAI's chat-service overworld demo: an
overworld offering three demos, each an onboarding world and a task world.
Porting meant changing the imports: the worlds keep ParlAI's synchronous
``parley()`` with a blocking ``agent.act()`` and run in worker threads. The
two-person chat world is written ``async`` instead, to show the other style
(it waits on both people at once without a thread).
"""

import asyncio

from workbench import OnboardWorld, World


class OverworldDemo(World):
    """The menu: pick a demo by quick reply or by typing its name."""

    DEMOS = ["echo", "onboard data", "chat", "EXIT"]

    def __init__(self, opt, agent):
        super().__init__(opt, agent)
        self.first_time = True

    @staticmethod
    def generate_world(opt, agents):
        return OverworldDemo(opt, agents[0])

    @staticmethod
    def assign_roles(agents):
        for a in agents:
            a.disp_id = "Agent"

    def parley(self):
        if self.first_time:
            self.agent.observe({
                "id": "Overworld",
                "text": "Welcome to the overworld demo. Pick a demo from the quick replies.",
                "quick_replies": self.DEMOS,
            })
            self.first_time = False
        a = self.agent.act()
        if a is None:
            self.episodeDone = True
            return None
        choice = a["text"].strip().lower()
        for name in self.DEMOS:
            if choice == name.lower():
                self.episodeDone = True
                if name == "EXIT":
                    self.agent.observe({"id": "Overworld", "text": "Goodbye!", "episode_done": True})
                return name
        self.agent.observe({
            "id": "Overworld",
            "text": "That is not one of the demos. Please pick one of the quick replies.",
            "quick_replies": self.DEMOS,
        })
        return None


# -- echo ---------------------------------------------------------------------

class EchoOnboardWorld(OnboardWorld):
    def parley(self):
        self.agent.observe({"id": "Onboarding", "text": "Echo demo: I repeat what you say. Send [DONE] to go back."})
        self.episodeDone = True


class EchoTaskWorld(World):
    def __init__(self, opt, agent):
        super().__init__(opt, agent)

    def parley(self):
        a = self.agent.act()
        if a is None:
            self.episodeDone = True
            return
        if "[DONE]" in a["text"]:
            self.episodeDone = True
            return
        self.agent.observe({"id": "World", "text": a["text"]})


# -- onboard data ------------------------------------------------------------

class OnboardDataOnboardWorld(OnboardWorld):
    """Collects a name and a favourite colour; they reach the task world through agent.data."""

    def parley(self):
        self.agent.observe({"id": "Onboarding", "text": "Welcome to the onboarding world. What is your name?"})
        a = self.agent.act()
        if a is None:
            self.episodeDone = True
            return
        self.agent.data["name"] = a["text"].strip()
        self.agent.observe({"id": "Onboarding", "text": "What is your favourite colour?"})
        a = self.agent.act()
        if a is None:
            self.episodeDone = True
            return
        self.agent.data["color"] = a["text"].strip()
        self.episodeDone = True


class OnboardDataTaskWorld(World):
    def parley(self):
        data = self.agent.data
        self.agent.observe({
            "id": "World",
            "text": f"Your name is {data.get('name')} and your favourite colour is {data.get('color')}. Back to the menu!",
        })
        self.episodeDone = True


# -- chat between two people --------------------------------------------------

class ChatOnboardWorld(OnboardWorld):
    def parley(self):
        self.agent.observe({"id": "Onboarding", "text": "You will be paired with another person. Send [DONE] to leave the chat."})
        self.episodeDone = True


class ChatTaskWorld(World):
    """Two people relay messages until one sends [DONE]."""

    @staticmethod
    def generate_world(opt, agents):
        return ChatTaskWorld(opt, agents)

    @staticmethod
    def assign_roles(agents):
        for i, a in enumerate(agents):
            a.disp_id = f"Person {i + 1}"

    def __init__(self, opt, agents):
        super().__init__(opt, agents)
        self.reads = {}
        self.greeted = False

    async def parley(self):
        if not self.greeted:
            self.greeted = True
            for a in self.agents:
                await a.observe({"id": "World", "text": "You are connected. Say hello!"})
        for a in self.agents:
            if a not in self.reads.values():
                self.reads[asyncio.ensure_future(a.act())] = a
        done, _ = await asyncio.wait(list(self.reads), return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            sender = self.reads.pop(task)
            msg = task.result()
            if msg is None or "[DONE]" in msg["text"]:
                self.episodeDone = True
                for other in self.agents:
                    if other is not sender:
                        await other.observe({"id": "World", "text": f"{sender.disp_id} ended the chat."})
                return
            for other in self.agents:
                if other is not sender:
                    await other.observe({"id": sender.disp_id, "text": msg["text"]})

    def shutdown(self):
        for task in self.reads:
            task.cancel()
