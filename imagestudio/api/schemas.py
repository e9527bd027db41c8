"""The API's request and response bodies as pydantic models: the views validate with them and
answer through them, and openapi.py publishes their JSON schemas, so the document is the code.

Split of duties: a model checks the shape and the JSON types of a body; what a valid image
request is (known model, size for that model, prompt length, count range, the pre-filter)
stays with studio.services.validate, and who pays with spend.charging. The limits below only
*describe* those rules in the document (json_schema_extra), read from the same catalog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, SkipJsonSchema
from pydantic_core import PydanticCustomError, PydanticUseDefault

from imagestudio import catalog
from imagestudio.api import messages
from imagestudio.studio.models import Kind, Status

REF_TEMPLATE = "#/components/schemas/{model}"
# The type of pydantic error whose message is already the one a person reads.
OWN_ERROR = "api_refused"
PAGE_SIZE = 50


class ComponentsJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, aware that the catalog enums (enum_schemas) are components of
    the document rather than models it knows: a field pointing at one keeps its $ref."""

    def handle_ref_overrides(self, json_schema: JsonSchemaValue) -> JsonSchemaValue:
        ref = json_schema.get("$ref", "")
        if ref.removeprefix(REF_TEMPLATE.format(model="")) in enum_schemas():
            return json_schema
        return super().handle_ref_overrides(json_schema)


def _ref(name: str) -> WithJsonSchema:
    return WithJsonSchema({"$ref": REF_TEMPLATE.format(model=name)})


def enum_schemas() -> dict[str, dict[str, Any]]:
    """Named enums straight from the catalog, referenced by the models below."""
    return {
        "Model": {"type": "string", "enum": list(catalog.MODELS)},
        "Status": {"type": "string", "enum": list(Status.values)},
        "VipSize": {
            "type": "string",
            "description": f"The 30 sizes {catalog.VIP} accepts (1K, 2K and 4K tiers).",
            "enum": [s.value for s in catalog.VIP_SIZES],
        },
        "AllPhrasing": {
            "type": "string",
            "description": f"The 8 verified phrasings for {catalog.ALL}, put at the start of "
            "the prompt; sent exactly as written.",
            "enum": [p.value for p in catalog.ALL_PHRASINGS],
        },
        "FreeSize": {
            "type": "string",
            "description": "WIDTHxHEIGHT for a model that takes free sizes (GET /models: "
            "sizes.free gives its rules) or one of its listed sizes (sizes.values).",
            "pattern": r"^[0-9]{2,4}x[0-9]{2,4}$",
        },
        "Size": {
            "description": f"WIDTHxHEIGHT for {catalog.VIP} (default "
            f'{catalog.DEFAULT_VIP_SIZE}); a phrasing or "" (the model decides, the default) '
            f"for {catalog.ALL}; for the other models one of their sizes (GET /models).",
            "anyOf": [
                {"$ref": REF_TEMPLATE.format(model="VipSize")},
                {"$ref": REF_TEMPLATE.format(model="AllPhrasing")},
                {"$ref": REF_TEMPLATE.format(model="FreeSize")},
                {"type": "string", "const": ""},
            ],
        },
    }


def _refused(message: Callable[[], str]) -> AfterValidator:
    """A field that is refused whenever it is sent, with `message` as the reason."""

    def refuse(value: object) -> object:
        raise PydanticCustomError(OWN_ERROR, message())

    return AfterValidator(refuse)


def _blank_is_default(value: object) -> object:
    # An empty form field means "not sent", as in the studio form.
    if value is None or (isinstance(value, str) and not value.strip()):
        raise PydanticUseDefault()
    return value


def _form_flag(value: object) -> object:
    return _blank_is_default(value.strip() if isinstance(value, str) else value)


def _n_refused() -> str:
    return messages.n_refused(catalog.MAX_COUNT)


ModelName = Annotated[str, _ref("Model")]
StatusName = Annotated[str, _ref("Status")]
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
MaybeTimestamp = Annotated[
    str | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})
]
Money = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d+\.\d{2,6}$",
            "description": "US dollars as a decimal string with 2 to 6 decimals (token-billed "
            'calls cost fractions of a cent), trailing zeros beyond 2 dropped: "0.00", '
            '"0.03", "0.0325", "0.052385". Never a float.',
            "examples": ["0.03"],
        }
    ),
]
MaybeMoney = Annotated[
    str | None,
    WithJsonSchema(
        {
            "type": ["string", "null"],
            "pattern": r"^\d+\.\d{2,6}$",
            "description": "US dollars as a decimal string (see Money), or null.",
        }
    ),
]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
Prompt = Annotated[
    str,
    Field(json_schema_extra={"minLength": 1, "maxLength": catalog.PROMPT_MAX_CHARS}),
]
Count = Annotated[
    int,
    Field(
        description="Images to make: one row and one gateway call each.",
        json_schema_extra={"minimum": 1, "maximum": catalog.MAX_COUNT},
    ),
]
FALLBACK = "When the gateway fails a 4K size with a compute error, the next attempt asks for the 2K size of the same ratio."  # noqa: E501
TEAM = "The id of one of the caller's teams to charge (default: for a turn, the team of the image it continues when the caller is in it; otherwise the first team they joined)."  # noqa: E501
OVERRIDE = "Staff only: submit even past a monthly budget."
QUALITY = "The OpenAI Images quality tier (low, medium, high, auto), only for a model whose `quality` list (GET /models) has it; a token-billed model's price depends on it. Elsewhere a 400."  # noqa: E501
BACKGROUND = "transparent, opaque or auto, only for a model whose `background` list (GET /models) has it; elsewhere a 400."  # noqa: E501
OUTPUT_FORMAT = "The file format (png, jpeg, webp), only for a model whose `output_format` list (GET /models) has it; elsewhere a 400."  # noqa: E501


# -- requests ----------------------------------------------------------------------------


class CreateRequest(BaseModel):
    """POST /generations. Strict JSON types: "3" is not a count and "yes" not a boolean."""

    model_config = ConfigDict(
        strict=True,
        extra="allow",
        json_schema_extra={
            "description": "Other fields are ignored, except n, which is refused with 400: "
            "use count (one image row and one call each).",
            "not": {"required": ["n"]},
        },
    )

    model: ModelName | None = Field(None, description="Required unless `preset` is sent.")
    prompt: Prompt | None = Field(
        None, description="One prompt; or send `prompts`, or `template` with `rows`."
    )
    prompts: list[str] | None = Field(
        None,
        description="A list: one prompt per item, `count` images each (at most 200 images).",
        json_schema_extra={"minItems": 1, "maxItems": catalog.BATCH_MAX_IMAGES},
    )
    template: str | None = Field(
        None,
        description="A prompt with {placeholders}, filled from each of `rows`.",
        examples=["Summer sale poster for {product}, headline {slogan}"],
    )
    rows: list[dict[str, str]] | None = Field(
        None,
        description="With `template`: one object per image, placeholder → value.",
        json_schema_extra={"maxItems": catalog.BATCH_MAX_IMAGES},
    )
    preset: str | None = Field(
        None, description="A built-in preset's key (GET /presets): sets model and size."
    )
    kit: int | None = Field(
        None,
        description="A brand kit's id (GET /kits): its style goes after every prompt and its "
        "pictures are sent as image1, image2.",
    )
    size: Annotated[str | None, _ref("Size")] = None
    count: Count = 1
    fallback_2k: bool = Field(True, description=FALLBACK)
    team: int | None = Field(None, description=TEAM)
    override_budget: bool = Field(False, description=OVERRIDE)
    quality: str | None = Field(None, description=QUALITY)
    background: str | None = Field(None, description=BACKGROUND)
    output_format: str | None = Field(None, description=OUTPUT_FORMAT)
    n: SkipJsonSchema[Annotated[object, _refused(_n_refused)]] = None


class IterateRequest(BaseModel):
    """POST /generations/{id}/iterate: the turn keeps the parent's model, size and fallback."""

    model_config = ConfigDict(strict=True, extra="ignore")

    prompt: Prompt
    team: int | None = Field(None, description=TEAM)
    override_budget: bool = Field(False, description=OVERRIDE)


def _edit_form_pictures(schema: dict[str, Any]) -> None:
    # The pictures are read in order by api/edits.py (files and ids interleave, which a
    # flat model cannot say); they are documented here, beside the fields they come with.
    binary = {"type": "string", "format": "binary"}
    either = {"oneOf": [binary, {"type": "integer"}]}
    properties = schema.setdefault("properties", {})
    for number in range(1, max(catalog.max_inputs(m) for m in catalog.MODELS) + 1):
        properties[f"image{number}"] = {
            **either,
            "description": f"Picture image{number}: a PNG, JPEG or WebP file (≤ 10 MB), or "
            "the id of a finished gallery image you can see. Number them from image1 "
            "without gaps, up to the model's own limit (its `max_inputs`).",
        }
    properties["image"] = {
        "type": "array",
        "items": binary,
        "description": "Older naming: files, image1, image2, … in the order sent. Not "
        "together with `source` (use image1, image2, … to mix files and ids).",
    }
    properties["source"] = {
        "type": "array",
        "items": {"type": "integer"},
        "description": "Older naming: ids of finished gallery images, in the order sent.",
    }
    properties["mask"] = {
        **binary,
        "description": "Optional, on a model that takes a mask (GET /models): a PNG with an "
        "alpha channel, exactly image1's pixel size (as uploaded, or as sent: see its "
        "`inputs` entry), transparent (alpha 0) where the model may change image1 and "
        "opaque elsewhere. A mask on another model, of another size, without an alpha "
        "channel or with nothing transparent is a 400 naming `mask`, with no call. The "
        "generation's `inputs` list it as `mask`, after the pictures.",
    }


class EditForm(BaseModel):
    """POST /edits, multipart: the form's text fields, parsed as the studio form parses
    them ("2" is a count, "true"/"false"/"on"/"off" are flags, empty means not sent)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_edit_form_pictures)

    model: ModelName
    prompt: Prompt
    size: Annotated[str | None, BeforeValidator(_blank_is_default), _ref("Size")] = None
    count: Annotated[Count, BeforeValidator(_blank_is_default)] = 1
    fallback_2k: Annotated[bool, BeforeValidator(_form_flag)] = Field(True, description=FALLBACK)
    quality: Annotated[str | None, BeforeValidator(_blank_is_default)] = Field(
        None, description=QUALITY
    )
    background: Annotated[str | None, BeforeValidator(_blank_is_default)] = Field(
        None, description=BACKGROUND
    )
    output_format: Annotated[str | None, BeforeValidator(_blank_is_default)] = Field(
        None, description=OUTPUT_FORMAT
    )
    team: Annotated[int | None, BeforeValidator(_blank_is_default)] = Field(None, description=TEAM)
    override_budget: Annotated[bool, BeforeValidator(_form_flag)] = Field(
        False, description=OVERRIDE
    )


class ListQuery(BaseModel):
    """GET /generations."""

    status: Annotated[str, _ref("Status")] = ""
    model: ModelName = ""
    cursor: str = Field("", description="Opaque; take it from the `next` URL.")
    starred: bool | None = Field(
        None,
        description="true: only the images the caller starred (theirs or their teams'); "
        "false: only their own images they have not starred.",
    )
    board: int | None = Field(
        None, description="Only the images on this board (one the caller can see)."
    )
    batch: int | None = Field(
        None, description="Only the images of this batch (one the caller can see)."
    )
    order: Literal["newest", "oldest"] = "newest"


GROUP_BY = ("user", "team", "model", "day")


class SpendQuery(BaseModel):
    """GET /spend."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Day | None = Field(
        None, alias="from", description="Inclusive; default the first of this month."
    )
    to: Day | None = Field(None, description="Inclusive; default today.")
    group_by: Annotated[str, WithJsonSchema({"type": "string", "enum": [*GROUP_BY]})] = ""


# -- responses ---------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(examples=["invalid", "unauthorized", "not_found"])
    message: str
    field: str | None = Field(None, description="The first bad field.")
    fields: dict[str, str] | None = Field(None, description="Every bad field with its message.")
    allowed: list[str] | None = Field(None, description="On 405: the methods this URL takes.")


class Error(BaseModel):
    """Every error has this envelope, so a client needs one code path for all of them."""

    error: ErrorDetail


class BudgetErrorDetail(ErrorDetail):
    scope: str | None = Field(None, examples=["team", "user", "global"])
    cap: Money
    used: Money
    reserved: Money
    cost: Money
    resets_on: Day


class BudgetError(BaseModel):
    """402 budget_exceeded: the batch would go past a monthly budget."""

    error: BudgetErrorDetail


class GenerationError(BaseModel):
    code: str
    message: str


class InputPicture(BaseModel):
    name: str = Field(examples=["image1", "mask"])
    source: int | None
    original_name: str
    original_bytes: int
    sent_bytes: int = Field(
        description="After compression (the gateway fails more often on inputs over 1.5 MB).",
        json_schema_extra={"maximum": catalog.INPUT_TARGET_BYTES},
    )
    width: int
    height: int
    content_type: str
    url: str = Field(json_schema_extra={"format": "uri"})


class Hop(BaseModel):
    """One route an image tried: its own ledger rows, its own bill."""

    route: str = Field(description="The model called.", examples=["gpt-image-2-vip"])
    outcome: str = Field(
        description="How its last attempt ended (a ledger outcome); or, for a route not "
        "called: `skipped` (it was failing and its turn went to the next one), "
        "`over_budget` (a budget had no room for it), `dearer_not_allowed` (it costs more "
        "and staff did not allow that), `size_not_made` (it does not make the size asked "
        "for).",
        examples=["upstream_error"],
    )
    attempts: int = Field(description="Calls made to this route (0 when not called).")
    cost_usd: Money
    http_status: int | None = Field(description="Its last attempt's HTTP status.")
    size: str | None = Field(
        description="The size this route was sent instead of the one asked for (staff's "
        "chain lets a fallback make its nearest size), or for `size_not_made` the size it "
        "does not make; null otherwise.",
        examples=["1024x1536"],
    )
    reason: str | None = Field(
        description="Why a route was not called, in the caller's language (Accept-Language), "
        "e.g. 'gpt-image-2.6-all not tried: it does not make 2336×3520'; null for a route "
        "that was called.",
    )


class Usage(BaseModel):
    """What a token-billed image used, as the gateway reported it (summed over its billed
    calls): its cost is these × the model's prices per million (GET /models)."""

    text_input_tokens: int
    image_input_tokens: int
    output_tokens: int
    missing: bool = Field(
        description="A billed call came back without usage: it was billed at the top of "
        "its estimate range."
    )


class Generation(BaseModel):
    """G: every key is always present (null when unknown)."""

    id: int
    batch: int
    status: StatusName
    model: ModelName
    prompt: str
    size: Annotated[str, _ref("Size")]
    width: int | None = Field(description="Of the stored image; null until then.")
    height: int | None = Field(description="Of the stored image; null until then.")
    image_url: str | None = Field(
        description="This API's file URL; null until succeeded.",
        json_schema_extra={"format": "uri"},
    )
    thumbnail_url: str | None = Field(
        description="A WebP preview; null until succeeded.", json_schema_extra={"format": "uri"}
    )
    attempts: int = Field(description="Gateway calls made so far.")
    fell_back_to_2k: bool
    route: str | None = Field(
        description="The model that made the image (the one it is on while running, the "
        "last one tried when it failed); null before its first call. Not `model` when a "
        "failing route was rerouted to its fallback.",
        examples=["gpt-image-2.6-all"],
    )
    hops: list[Hop] = Field(
        description="Every route tried, in order, with how it ended and what it cost; "
        "while running, those before `route`."
    )
    billed: bool
    cost_usd: Money
    usage: Usage | None = Field(
        description="Tokens, for an image billed by tokens (gpt-image-2); null otherwise."
    )
    quality: str | None = Field(description="The quality tier asked for, or null.")
    background: str | None = Field(description="The background asked for, or null.")
    output_format: str | None = Field(description="The file format asked for, or null.")
    upstream_request_ids: list[str] = Field(
        description="The gateway's request ids of the attempts, oldest first."
    )
    error: GenerationError | None
    created_at: Timestamp
    started_at: MaybeTimestamp
    finished_at: MaybeTimestamp
    kind: Annotated[str, WithJsonSchema({"type": "string", "enum": list(Kind.values)})]
    parents: list[int] = Field(
        description="The generations this one was made from: the version it continues "
        "first, then any other gallery inputs in order."
    )
    thread: int = Field(description="The first version of the thread (its own id for a root).")
    reply: str = Field(
        description="What the model said besides (or, refused, instead of) the image."
    )
    inputs: list[InputPicture] = Field(
        description="The pictures sent, in order: image1, …, then the `mask` painted over "
        "image1 when the edit had one (a PNG at image1's size as sent)."
    )
    variables: dict[str, str] = Field(
        description="The list row this image was made from (placeholder → value); {} for "
        "one prompt."
    )
    prompt_sent: str = Field(
        description="Exactly what went to the gateway: the -all phrasing first, the prompt, "
        "then the brand kit's style."
    )
    kit: int | None = Field(description="The brand kit it was made with, or null.")
    starred: bool = Field(description="Whether the caller has starred it (stars are personal).")
    boards: list[int] = Field(description="The boards the caller can see it on.")


class PromptWarning(BaseModel):
    """Pre-filter terms found in the prompt: such prompts are often refused by the gateway,
    and refusals are billed."""

    category: str = Field(examples=["copyrighted-ip"])
    terms: list[str]


class CreateResponse(BaseModel):
    """The 202 of POST /generations, /edits and /iterate: the batch and its rows."""

    batch: int
    warnings: list[PromptWarning]
    generations: list[Generation]


class GenerationList(BaseModel):
    results: list[Generation] = Field(json_schema_extra={"maxItems": PAGE_SIZE})
    next: str | None = Field(
        description="The next page, or null on the last.", json_schema_extra={"format": "uri"}
    )


class SpendTokens(BaseModel):
    """The usage of the calls billed by tokens, summed (names as in a G's `usage`)."""

    calls: int = Field(description="Calls billed by tokens that reported their usage.")
    text_input_tokens: int
    image_input_tokens: int
    output_tokens: int = Field(description="Image-output tokens.")
    usage_missing_calls: int = Field(
        description="Token-billed calls answered without usage, billed at the top of their "
        "estimate range (their tokens are unknown, so not in the sums)."
    )


_NO_TOKENS = "null where no call was billed by tokens."


class SpendGroup(BaseModel):
    key: str
    total_usd: Money
    calls: int = Field(description="Attempts, billed or not.")
    billed_calls: int
    tokens: SpendTokens | None = Field(description=f"This group's token usage; {_NO_TOKENS}")


class SpendReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: Day = Field(alias="from")
    to: Day
    total_usd: Money
    billed_calls: int
    unbilled_calls: int
    no_image_usd: Money = Field(description="Billed calls that produced no image.")
    tokens: SpendTokens | None = Field(description=f"The range's token usage; {_NO_TOKENS}")
    group_by: str | None
    groups: list[SpendGroup]


# -- the gateway's books (staff) -----------------------------------------------------------

DIFFERENCE_KINDS = ("unknown_here", "not_billed_by_gateway", "amount_differs", "not_in_log_yet")
# The gateway bills token-priced calls to a millionth of a dollar; a difference may be
# negative (the ledger billed more).
BooksMoney = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?\d+\.\d{2,6}$",
            "description": "US dollars as a decimal string with 2 to 6 decimals, trailing "
            "zeros beyond 2 dropped; negative for a difference where the ledger has more.",
            "examples": ["0.03", "-0.03", "0.004125"],
        }
    ),
]


class ReconciliationQuery(BaseModel):
    """GET /reconciliation."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Day | None = Field(
        None, alias="from", description="Inclusive; default 6 days before `to`."
    )
    to: Day | None = Field(None, description="Inclusive; default today (UTC).")


class ReconciliationDay(BaseModel):
    day: Day
    gateway_usd: BooksMoney = Field(description="What the gateway's log billed that UTC day.")
    ledger_usd: BooksMoney = Field(description="What the ledger billed that UTC day.")
    difference_usd: BooksMoney = Field(description="gateway_usd − ledger_usd (may be negative).")


class ReconciliationDifference(BaseModel):
    kind: Annotated[str, WithJsonSchema({"type": "string", "enum": [*DIFFERENCE_KINDS]})] = Field(
        description="unknown_here: billed by the gateway, unknown to the studio (added to the "
        "ledger as a lost call); not_billed_by_gateway: billed in the ledger, absent from a "
        "log that was read; amount_differs: both billed it, differently; not_in_log_yet: "
        "billed in the ledger, the log not read that far yet."
    )
    request_id: str = Field(description='The gateway\'s request id, or "" when neither knows it.')
    gateway_usd: BooksMoney
    ledger_usd: BooksMoney = Field(description="What the ledger had for the call (0 when unknown).")
    generation: int | None = Field(description="The image the call was for, when known.")


class Reconciliation(BaseModel):
    days: list[ReconciliationDay]
    differences: list[ReconciliationDifference]


# -- the audit log (staff) ---------------------------------------------------------------

AUDIT_PAGE_SIZE = 100


class AuditQuery(BaseModel):
    """GET /audit."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Day | None = Field(None, alias="from", description="Inclusive UTC day.")
    to: Day | None = Field(None, description="Inclusive UTC day.")
    actor: str = Field("", description="The user name of whoever made the change.")
    object_type: str = Field(
        "",
        description="user, team, membership, budget, prefilter_category, prefilter_term, "
        "kit or api_token.",
    )
    cursor: str = Field("", description="Opaque; take it from the `next` URL.")


class AuditEntry(BaseModel):
    id: int
    at: Timestamp
    actor: str | None = Field(description="A user name; null for a command on the server.")
    via: Annotated[
        str, WithJsonSchema({"type": "string", "enum": ["admin", "api", "command", "web"]})
    ]
    address: str | None = Field(description="The client's address; null for a command.")
    action: Annotated[
        str,
        WithJsonSchema(
            {"type": "string", "enum": ["created", "changed", "deleted", "issued", "revoked"]}
        ),
    ]
    object_type: str
    object_id: str
    object: str = Field(description="How the object read at the time.")
    before: dict[str, Any] = Field(description="The changed fields as they were.")
    after: dict[str, Any] = Field(description="The changed fields as they became.")


class AuditPage(BaseModel):
    results: list[AuditEntry] = Field(json_schema_extra={"maxItems": AUDIT_PAGE_SIZE})
    next: str | None = Field(
        description="The next page, or null on the last.", json_schema_extra={"format": "uri"}
    )


# -- provisioning (staff): users, teams, budgets; tokens (everyone's own) ----------------

ObjectId = Annotated[int, Field(json_schema_extra={"minimum": 1})]


class UserCreate(BaseModel):
    """POST /users."""

    model_config = ConfigDict(strict=True, extra="forbid")

    username: str = Field(json_schema_extra={"minLength": 1, "maxLength": 150})
    email: str = ""
    password: str | None = Field(
        None,
        description="Checked by the password rules; without one the user cannot sign in "
        "until a password is set (password reset or the admin).",
    )
    is_staff: bool = False


class UserPatch(BaseModel):
    """PATCH /users/{id}: only the fields sent change."""

    model_config = ConfigDict(strict=True, extra="forbid")

    is_active: bool | None = Field(None, description="false: signed out, tokens refused.")
    is_staff: bool | None = None
    email: str | None = None


class TeamRef(BaseModel):
    id: int
    name: str


class MemberRef(BaseModel):
    id: int
    username: str


class User(BaseModel):
    id: int
    username: str
    email: str
    is_staff: bool
    is_active: bool
    teams: list[TeamRef]


class UserList(BaseModel):
    results: list[User]


class TeamCreate(BaseModel):
    """POST /teams."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: str = Field(json_schema_extra={"minLength": 1, "maxLength": 100})


class TeamMembers(BaseModel):
    """POST /teams/{id}/members: users to add (those already in stay)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    users: list[ObjectId] = Field(json_schema_extra={"minItems": 1})


class Team(BaseModel):
    id: int
    name: str
    members: list[MemberRef]


class TeamList(BaseModel):
    results: list[Team]


ScopeName = Annotated[str, WithJsonSchema({"type": "string", "enum": ["global", "team", "user"]})]
Share = Annotated[
    float,
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "The share of the cap at which the budget's people are warned "
            "(at most 2 decimals); they are told again when it is used up.",
        }
    ),
]


class BudgetPut(BaseModel):
    """PUT /budgets: create or replace the budget of one scope."""

    model_config = ConfigDict(extra="forbid")

    scope: ScopeName
    team: int | None = Field(None, description="With scope team: the team's id.")
    user: int | None = Field(None, description="With scope user: the user's id.")
    monthly_usd: Annotated[
        str,
        WithJsonSchema(
            {
                "type": "string",
                "pattern": r"^[0-9]{1,8}(\.[0-9]{1,2})?$",
                "description": 'US dollars a calendar month (UTC), as a decimal string: "12.50".',
                "examples": ["12.50"],
            }
        ),
    ]
    alert_at: Share | None = Field(None, description="Default 0.8.")


class BudgetSelector(BaseModel):
    """DELETE /budgets: which budget."""

    scope: ScopeName = ""
    team: str = Field("", description="With scope team: the team's id.")
    user: str = Field("", description="With scope user: the user's id.")


class Budget(BaseModel):
    scope: ScopeName
    team: int | None
    user: int | None
    name: str = Field(description="The team's name, the user's name, or the studio.")
    monthly_usd: Money
    alert_at: Share
    spent_usd: Money = Field(description="Billed this calendar month (UTC).")
    reserved_usd: Money = Field(description="The expected cost of images in progress.")
    left_usd: Money = Field(description="What is left for new images (never below 0).")
    resets_on: Day = Field(description="The first day of next month (UTC).")


class BudgetList(BaseModel):
    results: list[Budget]


class TokenCreate(BaseModel):
    """POST /tokens."""

    model_config = ConfigDict(strict=True, extra="forbid")

    user: ObjectId | None = Field(None, description="Staff only: someone else's id.")
    name: str = Field(
        description="A label: the script or machine using it.",
        json_schema_extra={"minLength": 1, "maxLength": 100},
    )


class Token(BaseModel):
    id: int
    name: str
    user: int
    username: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: Timestamp
    last_used_at: MaybeTimestamp


class TokenCreated(Token):
    token: str = Field(description="The bearer token. Shown this once: only its hash is kept.")


class TokenList(BaseModel):
    results: list[Token]


# --- the catalog's models (routes) ------------------------------------------------------
class FreeSizes(BaseModel):
    """The rules of a model that takes any WIDTHxHEIGHT within them."""

    max_edge: int
    multiple_of: int
    max_ratio: float
    min_pixels: int
    max_pixels: int


class ModelSizes(BaseModel):
    kind: str = Field(
        description="fixed: one of `values`; phrasing: one of `values` goes at the start of "
        "the prompt ('' lets the model decide); free: `values` or any size within `free`."
    )
    values: list[str]
    default: str
    free: FreeSizes | None


class ModelPrices(BaseModel):
    per_image_usd: MaybeMoney = Field(description="Per call; null when billed by tokens.")
    text_input_per_million_usd: MaybeMoney = None
    image_input_per_million_usd: MaybeMoney = None
    image_output_per_million_usd: MaybeMoney = None


class Estimate(BaseModel):
    """What one image is expected to cost (a budget holds back `high_usd`)."""

    quality: str | None
    size: str
    low_usd: Money
    high_usd: Money


class SizeEstimate(Estimate):
    """What one image is expected to cost at one size the form offers and one quality,
    without reference pictures: add the model's `reference_picture_usd` once per picture
    for an edit (GET /estimate and the studio form say the same sum)."""

    tier: str = Field(examples=["2k"], description="The size's tier: 1k, 2k or 4k.")


class EstimateQuery(BaseModel):
    """GET /estimate."""

    model: ModelName
    size: str | None = Field(None, description="Default: the model's default size.")
    quality: str | None = Field(None, description="Default: the quality the model is sent.")
    inputs: str | None = Field(
        None,
        description="How many reference pictures go with an edit (0 to the model's "
        "max_inputs; a mask is not one). Default 0.",
        json_schema_extra={"pattern": "^[0-9]+$"},
    )


class EstimateReply(BaseModel):
    """What one image of this request is expected to cost, and what a budget holds back
    for it until its bill is known (the top of the range on the dearest route its
    fallback chain may take)."""

    model: ModelName
    family: str = Field(description="per_call or per_token.")
    size: str
    tier: str
    quality: str | None = Field(description="The quality sent; null for a route without tiers.")
    inputs: int
    low_usd: Money
    high_usd: Money
    reserved_usd: Money


class HealthWindow(BaseModel):
    """One route's calls in a window, from the spend ledger (calls that failed because of
    the prompt or the studio's own network are not counted)."""

    calls: int
    succeeded: int = Field(description="Calls that made an image.")
    success_rate: float | None = Field(description="succeeded / calls; null without calls.")
    p50_s: float | None = Field(description="Median seconds of the calls that made an image.")
    p95_s: float | None = Field(description="95th percentile of the same, in seconds.")


class RouteHealth(BaseModel):
    """A model at one size tier: how it did in the last hour and day."""

    tier: str = Field(examples=["4k"])
    hour: HealthWindow
    day: HealthWindow
    skipped: bool = Field(
        description="Its breaker is open: its calls go to its fallback for a cool-down."
    )


class ModelInfo(BaseModel):
    id: ModelName
    label: str = Field(description="In the caller's language (Accept-Language).")
    family: str = Field(description="per_call or per_token.")
    prices: ModelPrices
    estimates: list[Estimate] = Field(
        description="Per quality tier, at the model's default size, without pictures."
    )
    size_estimates: list[SizeEstimate] = Field(
        description="A token-billed model's estimate at every size the form offers, per "
        "quality tier, without pictures (GET /estimate for any other size); [] for a "
        "per-call model, whose price is the same at every size."
    )
    reference_picture_tokens: int = Field(
        description="The image-input tokens each reference picture of an edit is estimated "
        "at; 0 for a per-call model."
    )
    reference_picture_usd: Money = Field(
        description="What each reference picture adds to an estimate's low_usd and "
        "high_usd (reference_picture_tokens × the image-input price, rounded up to a "
        "millionth): an edit with k pictures is estimated at low_usd + k × this, as GET "
        "/estimate says; 0.00 for a per-call model."
    )
    sizes: ModelSizes
    quality: list[str] = Field(description="Accepted `quality` values; [] when not taken.")
    background: list[str] = Field(description="Accepted `background` values; [] when not taken.")
    output_format: list[str] = Field(
        description="Accepted `output_format` values; [] when not taken."
    )
    mask: bool
    max_inputs: int = Field(description="Reference pictures an edit may send.")
    endpoints: list[str]
    usual_seconds: list[int] = Field(description="The usual time of one call, low and high.")
    timeout_s: int = Field(description="The longest the studio waits for one call, in force.")
    health: list[RouteHealth] = Field(
        description="Success rate and latency per size tier over the last hour and day "
        "(tiers called in the last day)."
    )


class ModelList(BaseModel):
    results: list[ModelInfo]


# --- brand kits and the built-in presets ---------------------------------------------------
class Preset(BaseModel):
    """A built-in deliverable: what an image is for sets its model and size."""

    model_config = ConfigDict(populate_by_name=True)

    key: str = Field(examples=["poster"])
    label: str = Field(description="In the caller's language (Accept-Language).")
    model: ModelName
    size: Annotated[str, _ref("Size")]
    for_: str = Field(alias="for", description="What it is for, in one line.")


class PresetList(BaseModel):
    results: list[Preset]


class KitPictureOut(BaseModel):
    position: int = Field(description="Sent as image{position} with every image of the kit.")
    original_name: str
    width: int
    height: int
    content_type: str
    url: str = Field(json_schema_extra={"format": "uri"})


class Kit(BaseModel):
    id: int
    name: str
    team: int | None = Field(description="The team sharing it; null: the creator's own.")
    created_by: int
    model: ModelName
    size: Annotated[str, _ref("Size")]
    preset: str = Field(description="The built-in preset that set model and size, or ''.")
    style: str = Field(description="Added after every prompt, on a line of its own.")
    template: str = Field(description="A prompt template with {placeholders}, or ''.")
    pictures: list[KitPictureOut]
    created_at: Timestamp
    updated_at: Timestamp


class KitList(BaseModel):
    results: list[Kit]


def _kit_form_pictures(schema: dict[str, Any]) -> None:
    schema.setdefault("properties", {})["image"] = {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "maxItems": 2,
        "description": "Up to 2 reference pictures (multipart only), sent as image1, image2.",
    }


class KitCreate(BaseModel):
    """POST /kits: JSON, or multipart with `image` files. A preset sets model and size."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_kit_form_pictures)

    name: str = Field(json_schema_extra={"minLength": 1, "maxLength": 100})
    team: Annotated[int | None, BeforeValidator(_blank_is_default)] = Field(
        None, description="A team you are in; null or absent: a kit of your own."
    )
    model: ModelName | None = Field(None, description="Default: the preset's, else -vip.")
    size: Annotated[str, _ref("Size")] = ""
    preset: str = Field("", description="A built-in preset's key (GET /presets).")
    style: str = ""
    template: str = ""


class KitUpdate(BaseModel):
    """PATCH /kits/{id}: the fields to change (pictures are replaced by a new POST)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: str | None = None
    team: int | None = None
    model: ModelName | None = None
    size: Annotated[str, _ref("Size")] | None = None
    preset: str | None = None
    style: str | None = None
    template: str | None = None


# --- batches -----------------------------------------------------------------------------
class BatchDetail(BaseModel):
    """GET /batches/{id}: a batch's figures and its images (a list's rows, in order)."""

    id: int
    created_at: Timestamp
    template: str = Field(description="The template its prompts were filled from, or ''.")
    columns: list[str] = Field(description="The list's column names, in order.")
    preset: str
    kit: int | None
    total: int
    done: int = Field(description="Images in a final state.")
    succeeded: int
    failed: int
    refused: int
    canceled: int
    cost_usd: Money
    generations: list[Generation]


# --- stars, boards and downloads -----------------------------------------------------------
BOARD_NAME: dict[str, Any] = {"minLength": 1, "maxLength": 120}


class GenerationUpdate(BaseModel):
    """PATCH /generations/{id}: the caller's own marks on an image they can see."""

    model_config = ConfigDict(strict=True, extra="forbid")

    starred: bool = Field(description="Star (true) or unstar (false) it, for the caller only.")


class Board(BaseModel):
    id: int
    name: str
    team: int | None = Field(description="The team sharing it; null: the creator's own.")
    created_by: int
    count: int = Field(description="Images on it (that the caller can see).")
    created_at: Timestamp


class BoardList(BaseModel):
    results: list[Board]


class BoardDetail(Board):
    generations: list[Generation] = Field(description="Its images, the last added first.")


class BoardCreate(BaseModel):
    """POST /boards."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra=BOARD_NAME)
    team: int | None = Field(
        None, description="A team you are in (every member adds and removes); null: yours."
    )


class BoardUpdate(BaseModel):
    """PATCH /boards/{id}: absent fields stay."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: str | None = Field(None, json_schema_extra=BOARD_NAME)
    team: int | None = Field(None, description="null: the board becomes its creator's own.")


class Selection(BaseModel):
    """POST /boards/{id}/items and POST /downloads: images by id."""

    model_config = ConfigDict(strict=True, extra="forbid")

    generations: list[int] = Field(json_schema_extra={"minItems": 1, "maxItems": 1000})


class BoardItemsAdded(BaseModel):
    added: int = Field(description="Newly put on the board (ids already there are not counted).")
    board: Board
