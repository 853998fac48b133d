"""The task.yml schema: every key validated, unknown keys refused (docs/task-yml.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.engines.retrieval.config import RetrievalConfig
from workbench.io.contained import relative_path_problem


class Strict(BaseModel):
    # allow_inf_nan: a timeout or limit of .inf or .nan is a typo, not a setting
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


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


WORLD_TYPES: dict[str, type[WorldSpec]] = {
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


#: the REST API's read endpoints, which ``serve.public_api`` may open to callers without the token
PUBLIC_API_ENDPOINTS = (
    "get_next_response",
    "decisiontable_get",
    "decisiontable_search",
    "knowledgebase_get",
    "knowledgebase_search",
    "openapi",
)
#: the REST API's write endpoints: they always need the token
WRITE_API_ENDPOINTS = (
    "decisiontable_post",
    "decisiontable_put",
    "decisiontable_delete",
    "decisiontable_upload",
    "knowledgebase_post",
    "knowledgebase_put",
    "knowledgebase_delete",
    "knowledgebase_upload",
)


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
    #: the largest REST request body read, in bytes (more: 413 before it is read whole)
    max_body_bytes: int = Field(1 << 20, ge=1024)
    #: the largest table or knowledge-base upload (upload_csv), in bytes
    max_upload_bytes: int = Field(32 << 20, ge=1024)
    #: REST endpoints callers may use without WORKBENCH_API_TOKEN when it is set (reads only)
    public_api: list[str] = Field(default_factory=list)
    #: the Messenger webhook and Send API (docs/messenger.md)
    messenger: MessengerSpec = Field(default_factory=MessengerSpec)

    @field_validator("public_api")
    @classmethod
    def _public_reads(cls, value: list[str]) -> list[str]:
        for name in value:
            if name in WRITE_API_ENDPOINTS:
                raise ValueError(f"{name!r} is a write: writes always need WORKBENCH_API_TOKEN and cannot be public")
            if name not in PUBLIC_API_ENDPOINTS:
                raise ValueError(
                    f"{name!r} is not a REST endpoint; expected some of: {', '.join(PUBLIC_API_ENDPOINTS)}"
                )
        return list(dict.fromkeys(value))


QuestionType = Literal["choice", "likert", "number", "text"]


class RatingQuestion(Strict):
    """One question a person answers after a thread, or about each bot message (docs/evaluation.md)."""

    #: a stable key for the answer (default: the question text)
    id: str | None = None
    question: str
    #: ``choice`` (nominal), ``likert`` (ordinal), ``number`` (interval) or ``text`` (free text);
    #: default: ``choice`` with choices, ``text`` without
    type: QuestionType | None = None
    #: the answers offered (choice, likert), in order from lowest to highest for a scale
    choices: list[str] = Field(default_factory=list)
    #: the lowest and highest number accepted (number)
    min: float | None = None
    max: float | None = None
    #: an answer is needed before the ratings can be submitted
    required: bool = True
    #: the longest free-text answer, in characters
    max_length: int = Field(2000, ge=1, le=20000)
    #: shown under the question (a hint, the placeholder of a text box)
    help: str | None = None

    @property
    def key(self) -> str:
        return self.id or self.question

    @property
    def kind(self) -> str:
        return self.type or ("choice" if self.choices else "text")

    @field_validator("choices")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("choices must be distinct")
        return value

    def model_post_init(self, context: Any) -> None:
        if self.kind in ("choice", "likert") and len(self.choices) < 2:
            raise ValueError(f"a {self.kind} question needs at least two choices")
        if self.kind in ("number", "text") and self.choices:
            raise ValueError(f"a {self.kind} question has no choices (did you mean type: choice?)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is larger than max")


class TransformSpec(Strict):
    #: a transform registered with ``@transform`` in worlds.py, or a built-in one
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class EvaluationTransforms(Strict):
    """Transforms applied to what people say (before the bot hears it) and to what the bot
    says (before people see it); the original text stays in the message's ``meta.text_orig``."""

    human: list[TransformSpec] = Field(default_factory=list)
    bot: list[TransformSpec] = Field(default_factory=list)


class EvaluationOnboarding(Strict):
    #: HTML, Markdown or text shown before consent (relative to the task)
    agreement_file: str | None = None
    #: instructions shown beside every chat (HTML, Markdown or text)
    instructions_file: str | None = None
    #: consent checkboxes: key -> statement; all must be ticked before any chat
    checkboxes: dict[str, str] = Field(default_factory=dict)
    #: the version of the consent text stored with each person's consent (default: a hash
    #: of the agreement and the checkboxes, so any change asks again)
    consent_version: str | None = None

    @field_validator("agreement_file", "instructions_file")
    @classmethod
    def _task_relative(cls, entry: str | None) -> str | None:
        if entry is not None and (problem := relative_path_problem(entry)) is not None:
            raise ValueError(f"{entry!r}: {problem}")
        return entry


class EvaluationLimits(Strict):
    """Enforced by the server (and the TUI), never only by a page."""

    #: threads one person may do in this study
    max_threads_per_person: int = Field(10, ge=1)
    #: threads (people) each topic gets at most
    max_threads_per_topic: int = Field(3, ge=1)
    #: the person's messages in a thread; the thread ends when they are reached
    max_turns_per_thread: int = Field(4, ge=1, le=1000)
    #: the longest message a person may send, in characters
    max_message_chars: int = Field(2000, ge=1, le=100000)


class EvaluationCompletion(Strict):
    #: the code shown at the end (Prolific's completion code); default: one per thread
    code: str | None = None
    #: where a Prolific worker is sent at the end; ``{code}`` is replaced
    prolific_redirect: str = "https://app.prolific.com/submissions/complete?cc={code}"
    #: the text of the last page
    text: str = "Thank you! Your ratings are saved."


class MturkSpec(Strict):
    """Amazon Mechanical Turk (the ``[mturk]`` extra); credentials come from the AWS profile or environment."""

    #: the sandbox (true) or the live marketplace (false)
    sandbox: bool = True
    #: the AWS credentials profile (``~/.aws/credentials``); none: boto3's default chain
    profile: str | None = None
    region: str = "us-east-1"
    #: the public https URL of this server's ``/eval/mturk`` page (the ExternalQuestion)
    external_url: str | None = None
    #: the ExternalQuestion frame's height in pixels
    frame_height: int = Field(800, ge=100, le=10000)
    #: passed to create_hit as they are (Title, Description, Reward, Keywords, durations...)
    hit_settings: dict[str, Any] = Field(default_factory=dict)


class EvaluationSpec(Strict):
    """Human rating of a bot: topics, threads, consent, questions, limits (docs/evaluation.md)."""

    #: the bot (or bots) under evaluation: names of ``bots:``; each thread gets one
    bot: str | list[str]
    #: the bot's name as people see it
    display_name: str = "Bot"
    #: topics in boteval's chat_topics.json format (relative to the task); none: one empty topic
    topics_file: str | None = None
    transforms: EvaluationTransforms = Field(default_factory=EvaluationTransforms)
    onboarding: EvaluationOnboarding = Field(default_factory=EvaluationOnboarding)
    #: asked after each thread
    questions: list[RatingQuestion] = Field(default_factory=list)
    #: asked about each bot message (optional per message)
    turn_questions: list[RatingQuestion] = Field(default_factory=list)
    limits: EvaluationLimits = Field(default_factory=EvaluationLimits)
    #: people may create their own worker account in the browser
    signup: bool = True
    #: hours a login lasts
    session_hours: float = Field(12, gt=0, le=24 * 30)
    completion: EvaluationCompletion = Field(default_factory=EvaluationCompletion)
    mturk: MturkSpec | None = None

    @property
    def bots(self) -> list[str]:
        return [self.bot] if isinstance(self.bot, str) else list(self.bot)

    @field_validator("topics_file")
    @classmethod
    def _task_relative(cls, entry: str | None) -> str | None:
        if entry is not None and (problem := relative_path_problem(entry)) is not None:
            raise ValueError(f"{entry!r}: {problem}")
        return entry

    @field_validator("bot")
    @classmethod
    def _some_bot(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and (not value or len(set(value)) != len(value)):
            raise ValueError("expected a bot name or a list of distinct bot names")
        return value

    def model_post_init(self, context: Any) -> None:
        for group in (self.questions, self.turn_questions):
            keys = [q.key for q in group]
            if len(set(keys)) != len(keys):
                raise ValueError("two questions have the same id (or text)")


class TaskSpec(Strict):
    name: str | None = None
    description: str | None = None
    #: the SQLite file, relative to the task directory, or a PostgreSQL URL without a password
    #: (``postgresql://user@host/db?schema=name``); WORKBENCH_STORE_URL overrides it (docs/scale.md)
    storage: str = "data/workbench.db"
    #: retrieval backend: ``embedded`` (default, no server), ``{elasticsearch: {url, index_prefix}}``
    #: or ``{opensearch: {...}}`` (credentials from WORKBENCH_INDEX_*, docs/scale.md)
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
    #: human rating of a bot (docs/evaluation.md)
    evaluation: EvaluationSpec | None = None

    @field_validator("worlds")
    @classmethod
    def _some_world(cls, value: dict) -> dict:
        if not value:
            raise ValueError("a task needs at least one world")
        return value

    @field_validator("storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        from workbench.store.settings import is_postgres, password_in_url

        if is_postgres(value) and password_in_url(value):
            raise ValueError(
                "a password does not belong in task.yml: remove it from the URL and set "
                "WORKBENCH_STORE_PASSWORD (or PGPASSWORD) in the environment"
            )
        return value

    @field_validator("index")
    @classmethod
    def _index(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "embedded":
            raise ValueError("expected 'embedded' or a mapping such as {elasticsearch: {url: ...}}")
        if isinstance(value, dict):
            from workbench.index.settings import parse_spec

            parse_spec(value)  # the server's settings are checked here, with the task's line
        return value
