"""The task.yml schema: every key validated, unknown keys refused (docs/task-yml.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.engines.retrieval.config import RetrievalConfig
from workbench.io.contained import relative_path_problem


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorldCommon(Strict):
    #: an onboarding world run before this one
    onboarding: str | None = None
    #: seconds a world waits for a person's next message before it ends (0: no limit)
    timeout: float = 0
    #: how many people the world needs; more than 1 pools people until enough wait
    agents_required: int = Field(1, ge=1)
    #: seconds a person waits in the pool before going to ``backup_world``
    max_time_in_pool: float = 0
    #: where a person goes when the pool times out (None: back to the overworld)
    backup_world: str | None = None
    #: where people go when the world ends (None: the overworld; EXIT ends the session)
    next: str | None = None
    #: shown in menus and the TUI
    title: str | None = None


class MenuWorld(WorldCommon):
    type: Literal["menu"]
    text: str = "What would you like to do?"
    #: label shown as a quick reply -> world it leads to (EXIT ends the session)
    options: dict[str, str]
    invalid_text: str = "Please choose one of: {options}."
    #: said when a person picks EXIT
    goodbye: str = "Goodbye!"

    @field_validator("options")
    @classmethod
    def _not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a menu needs at least one option")
        return value


class Question(Strict):
    key: str
    text: str
    #: offered as quick replies; an answer must be one of them when given
    choices: list[str] | None = None


class OnboardingWorld(WorldCommon):
    type: Literal["onboarding"]
    text: str | None = None
    #: a file (relative to the task) whose text is shown first, e.g. user-agreement.html
    agreement: str | None = None
    #: consent checkboxes: key -> statement; each must be answered yes
    checkboxes: dict[str, str] = Field(default_factory=dict)
    questions: list[Question] = Field(default_factory=list)
    yes: str = "Yes"
    no: str = "No"
    declined_text: str = "You need to agree to continue. Returning to the start."
    done_text: str | None = None


class BotChatWorld(WorldCommon):
    type: Literal["bot_chat"]
    bot: str
    #: said when the world starts, before the bot's own greeting
    text: str | None = None
    done_word: str = "[DONE]"
    done_text: str | None = None


class HumanChatWorld(WorldCommon):
    type: Literal["human_chat"]
    agents_required: int = Field(2, ge=1)
    text: str | None = "You are now chatting with {partners}. Send [DONE] to end the chat."
    waiting_text: str = "Waiting for a partner..."
    done_word: str = "[DONE]"
    left_text: str = "{agent} has left the chat."


class PythonWorld(WorldCommon):
    type: Literal["python"]
    #: a world registered with @world in worlds.py, or a class name defined there
    world: str
    #: bots handed to the world (``self.bots[name]``)
    bots: list[str] = Field(default_factory=list)


WORLD_TYPES: dict[str, type[WorldCommon]] = {
    "menu": MenuWorld,
    "onboarding": OnboardingWorld,
    "bot_chat": BotChatWorld,
    "human_chat": HumanChatWorld,
    "python": PythonWorld,
}

WorldSpec = MenuWorld | OnboardingWorld | BotChatWorld | HumanChatWorld | PythonWorld


SafetyAction = Literal["off", "mask", "warn", "block"]


class SafetyRules(Strict):
    """What to do with each kind of finding in one direction (docs/serve.md#safety)."""

    #: payment card numbers (13-19 digits passing the Luhn check)
    card_number: SafetyAction = "off"
    #: phone numbers written with a leading + or separators
    phone: SafetyAction = "off"
    email: SafetyAction = "off"
    #: US social security numbers, Canadian SINs (Luhn), UK National Insurance numbers
    national_id: SafetyAction = "off"
    #: words and phrases of ``safety.blocklist`` / ``safety.blocklist_file``
    blocklist: SafetyAction = "off"


class SafetySpec(Strict):
    #: rules for what people send (before a world or the store sees it)
    incoming: SafetyRules = Field(default_factory=SafetyRules)
    #: rules for what people are sent (bots, worlds, other people)
    outgoing: SafetyRules = Field(default_factory=SafetyRules)
    #: words or phrases (case-insensitive, whole words; a trailing * matches any ending)
    blocklist: list[str] = Field(default_factory=list)
    #: a text file with one blocklist entry a line (# starts a comment), relative to the task
    blocklist_file: str | None = None
    #: the command that flags a conversation for review (null: no command)
    report_command: str | None = "/report"
    report_text: str = "Thank you. This conversation has been flagged for review."
    warn_text: str = "Your message seems to contain {what}. Please do not share it here."
    block_text: str = "Your message was not sent: it seems to contain {what}."
    withheld_text: str = "[A message was withheld: it contained {what}.]"


class MessengerPersona(Strict):
    name: str
    #: an https URL of the persona's picture
    profile_picture_url: str


class MessengerSpec(Strict):
    """The Messenger channel (docs/messenger.md). Tokens and secrets are environment-only."""

    #: the Graph API version (WORKBENCH_FB_GRAPH_VERSION wins)
    graph_version: str = "v23.0"
    #: send typing_on before each reply
    typing: bool = True
    #: mark a person's message seen when it arrives
    mark_seen: bool = True
    #: retries after the first attempt for 5xx, 429 and network errors
    retries: int = Field(default=3, ge=0)
    #: seconds before the first retry, doubled each time
    backoff: float = Field(default=0.5, ge=0)
    #: seconds per Graph API request
    timeout: float = Field(default=10.0, gt=0)
    #: speaker (a bot's name) -> the persona its messages are sent as
    personas: dict[str, MessengerPersona] = Field(default_factory=dict)
    #: seconds a handled event's id is remembered (in the store, across restarts) so that
    #: Messenger's redeliveries are dropped
    replay_window: float = Field(default=86400.0, ge=0)
    #: the largest attachment sent (base64 ``data`` decoded, or a file), in bytes
    max_attachment_bytes: int = Field(default=8 * 1024 * 1024, ge=1, le=25 * 1024 * 1024)
    #: files and folders of the task a reply may attach by ``path`` (relative to the task
    #: directory); nothing else is ever read for an attachment
    files: list[str] = Field(default_factory=list)

    @field_validator("files")
    @classmethod
    def _task_relative(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            problem = relative_path_problem(entry)
            if problem is not None:
                raise ValueError(f"{entry!r}: {problem}")
        return entries


class ServeSpec(Strict):
    """Limits and options of `workbench serve` (docs/serve.md)."""

    #: the largest websocket frame accepted, in bytes
    max_frame_bytes: int = Field(65536, ge=256)
    #: sustained messages per second a connection may send (0: no limit)
    rate_limit: float = Field(5.0, ge=0)
    #: messages a connection may send at once above the sustained rate
    rate_burst: int = Field(20, ge=1)
    #: browser origins allowed besides the server's own ("*": any origin)
    allowed_origins: list[str] = Field(default_factory=list)
    #: seconds without a frame from a client before its socket is closed (0: never)
    idle_timeout: float = Field(1800, ge=0)
    #: seconds a conversation whose socket dropped waits for the person to come back
    resume_grace: float = Field(300, ge=0)
    #: open websocket connections at most; more are refused (close code 1013)
    max_connections: int = Field(20000, ge=1)
    #: unknown keys in a client frame: ``error`` (refuse the frame) or ``ignore``
    unknown_fields: Literal["error", "ignore"] = "error"
    #: bad frames in a row (invalid JSON, unknown fields, over the rate) before the socket is closed
    max_strikes: int = Field(10, ge=1)
    #: the most stored messages a ``hello`` may ask to be sent again
    max_history: int = Field(200, ge=0)
    #: dropped conversations held for resuming at most (the oldest is given up first); they
    #: count against ``max_connections`` with the open sockets
    max_detached: int = Field(2000, ge=0)
    #: dropped conversations held for resuming per client address at most (oldest given up first)
    max_detached_per_client: int = Field(20, ge=1)
    #: seconds a new connection has to send its HTTP request headers, and then a websocket its
    #: first frame, before it is closed (0: no limit)
    handshake_timeout: float = Field(10, ge=0)
    #: seconds an idle HTTP keep-alive connection stays open between requests
    keep_alive_timeout: float = Field(5, gt=0)
    #: the largest HTTP request line and headers accepted, in bytes (431 beyond)
    max_header_bytes: int = Field(32768, ge=1024)
    #: the browser page may show images from other sites (https); otherwise only this server's and data: images
    remote_images: bool = False
    #: the Messenger webhook and Send API (docs/messenger.md)
    messenger: MessengerSpec = Field(default_factory=MessengerSpec)


class TaskSpec(Strict):
    name: str | None = None
    description: str | None = None
    #: the SQLite file, relative to the task directory
    storage: str = "data/workbench.db"
    #: retrieval backend: ``embedded`` (default, no server) or ``{elasticsearch: {...}}``
    index: str | dict[str, Any] = "embedded"
    #: at most this many task worlds run at once
    max_workers: int = Field(30, ge=1)
    #: options handed to Python worlds as ``opt`` (ParlAI's opt)
    opt: dict[str, Any] = Field(default_factory=dict)
    #: task data: template variables every bot can read
    data: dict[str, Any] = Field(default_factory=dict)
    #: the Python file with worlds, bots and actions
    worlds_file: str = "worlds.py"
    #: the world a new person starts in (default: ``overworld`` if there is one, else the first)
    start: str | None = None
    #: a password a person must send before anything else
    password: str | None = None
    #: the folder of conversation tests
    tests: str = "tests"
    #: `workbench serve` limits and options (websocket, browser page)
    serve: ServeSpec = Field(default_factory=ServeSpec)
    #: personal-information detection, blocklist and the /report command (every channel)
    safety: SafetySpec = Field(default_factory=SafetySpec)
    #: how bots match a person's words (docs/retrieval.md); a bot's own ``retrieval:`` wins key by key
    retrieval: RetrievalConfig | None = None
    bots: dict[str, dict[str, Any]] = Field(default_factory=dict)
    worlds: dict[str, dict[str, Any]]

    @field_validator("worlds")
    @classmethod
    def _some_world(cls, value: dict) -> dict:
        if not value:
            raise ValueError("a task needs at least one world")
        return value

    @field_validator("index")
    @classmethod
    def _index(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "embedded":
            raise ValueError("expected 'embedded' or a mapping such as {elasticsearch: {url: ...}}")
        return value
