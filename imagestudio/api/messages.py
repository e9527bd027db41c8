"""Every sentence the API itself says to a script's author: body and parameter errors, 404s,
the CSRF and sign-in hints. Functions, so each is translated in the reader's language when it
is said. The image-request rules and their words are the studio's (studio.messages), the
team and budget words are spend's (spend.messages)."""

from __future__ import annotations

from django.utils.translation import gettext as _

# -- authentication and methods ------------------------------------------------------------


def how_to_authenticate() -> str:
    return _(
        "Send 'Authorization: Bearer TOKEN' (an admin creates one with "
        "'python manage.py issue_api_token USERNAME'), or sign in to the studio in this browser."
    )


def malformed_authorization() -> str:
    return _("Malformed Authorization header.") + " " + how_to_authenticate()


def unknown_token() -> str:
    return _("Unknown or revoked API token.") + " " + how_to_authenticate()


def not_signed_in() -> str:
    return _("Not signed in.") + " " + how_to_authenticate()


def csrf_failed() -> str:
    return _(
        "CSRF check failed. Browser requests that change data must send the "
        "X-CSRFToken header; scripts should use a bearer token instead."
    )


def method_not_allowed(allowed: str) -> str:
    return _("This URL accepts %(allowed)s.") % {"allowed": allowed}


def authentication_hint() -> str:
    return _("Authorization: Bearer TOKEN, or a signed-in browser session.")


# -- bodies --------------------------------------------------------------------------------


def body_too_large() -> str:
    return _("The request body is too large.")


def body_not_json(reason: str) -> str:
    return _("The body is not valid JSON (%(reason)s). Send a JSON object.") % {"reason": reason}


def body_not_object(example: str) -> str:
    return _("The body must be a JSON object, for example %(example)s.") % {"example": example}


def send_multipart() -> str:
    return _(
        "Send an edit as multipart/form-data: fields model, prompt, size (optional), "
        "fallback_2k (optional), and pictures as image1, image2, … (each a file or the id "
        "of a gallery image), or as `image` files and/or `source` ids."
    )


def n_refused(max_count: int) -> str:
    return _(
        "Do not send n: use count (1–%(max_count)s) instead. Each image is its own call "
        "and its own row, billed as the gateway bills it."
    ) % {"max_count": max_count}


def wrong_type(field: str) -> str:
    return _("%(field)s has the wrong type: see /api/v1/openapi.json.") % {"field": field}


# -- edit pictures -------------------------------------------------------------------------


def add_a_picture() -> str:
    return _("Add at least one picture: an `image` file or a `source` id.")


def at_most_pictures(limit: int) -> str:
    return _("Send at most %(limit)s pictures.") % {"limit": limit}


def bad_inputs_count(model: str, limit: int) -> str:
    return _(
        "inputs must be a whole number from 0 to %(limit)s: the reference pictures %(model)s takes."
    ) % {"limit": limit, "model": model}


def not_a_generation_id(raw: str) -> str:
    return _("source %(raw)s is not a generation id.") % {"raw": repr(raw)}


def numbered_not_a_generation_id(name: str, raw: str) -> str:
    return _("%(name)s %(raw)s is neither a file nor a generation id.") % {
        "name": name,
        "raw": repr(raw),
    }


def no_image_you_can_see(raw: str) -> str:
    return _("There is no image %(id)s that you can see.") % {"id": raw}


def source_not_finished(raw: str, status: str) -> str:
    return _("Image %(id)s is %(status)s: only finished images can be edited.") % {
        "id": raw,
        "status": status,
    }


def numbering_gap(missing: str, sent: str) -> str:
    return _(
        "%(sent)s was sent without %(missing)s: number the pictures image1, image2, … without gaps."
    ) % {"sent": sent, "missing": missing}


def mixed_naming() -> str:
    return _(
        "Name the pictures either image1, image2, … or `image` / `source`, not both: the "
        "numbers decide which picture is image1."
    )


def mixed_files_and_sources() -> str:
    return _(
        "To send both files and gallery ids, name them image1, image2, … in the order the "
        "prompt refers to them (a multipart body's order across `image` and `source` is not "
        "kept)."
    )


# -- generations ---------------------------------------------------------------------------


def no_such_generation(pk: int) -> str:
    return _("There is no generation %(id)s that you can see.") % {"id": pk}


def teammates_generation(pk: int) -> str:
    return _("Generation %(id)s belongs to a team-mate: you may look, not delete.") % {"id": pk}


def no_file(pk: int, kind: str, status: str) -> str:
    return _("Generation %(id)s has no %(kind)s (its status is %(status)s).") % {
        "id": pk,
        "kind": kind,
        "status": status,
    }


def file_missing(pk: int, kind: str) -> str:
    return _("The %(kind)s of generation %(id)s is missing from storage.") % {
        "id": pk,
        "kind": kind,
    }


def no_input(pk: int, position: int) -> str:
    return _("Generation %(id)s has no input image%(position)s.") % {
        "id": pk,
        "position": position,
    }


def input_missing(pk: int, position: int) -> str:
    return _("Input image%(position)s of generation %(id)s is missing.") % {
        "id": pk,
        "position": position,
    }


def not_finished(pk: int, status: str) -> str:
    return _("Generation %(id)s is %(status)s: only a finished image can be iterated on.") % {
        "id": pk,
        "status": status,
    }


def unknown_status(choices: list[str]) -> str:
    return _("Unknown status. Use one of: %(choices)s.") % {"choices": ", ".join(choices)}


def unknown_model(choices: list[str]) -> str:
    return _("Unknown model. Use one of: %(choices)s.") % {"choices": ", ".join(choices)}


def bad_cursor() -> str:
    return _("Invalid cursor: follow the `next` URL as given.")


def no_endpoint(path: str, document: str) -> str:
    return _("No API endpoint at %(path)s. See %(document)s.") % {
        "path": path,
        "document": document,
    }


def not_found() -> str:
    return _("Not found.")


# -- spend ---------------------------------------------------------------------------------


def bad_day(name: str, value: str) -> str:
    return _("%(name)s must be a date as YYYY-MM-DD (got %(value)s).") % {
        "name": name,
        "value": repr(value),
    }


def to_before_from() -> str:
    return _("to must not be before from.")


def too_many_days(limit: int) -> str:
    return _("Ask for at most %(limit)s days at a time.") % {"limit": limit}


def bad_group_by(choices: list[str]) -> str:
    return _("group_by must be one of: %(choices)s.") % {"choices": ", ".join(choices)}


# -- staff: provisioning and the audit log ---------------------------------------------------


def staff_only() -> str:
    return _("Only staff may do this.")


def required(field: str) -> str:
    return _("%(field)s is required.") % {"field": field}


def not_a_field(field: str) -> str:
    return _("%(field)s is not a field of this request: see /api/v1/openapi.json.") % {
        "field": field
    }


def no_such_user(pk: int) -> str:
    return _("There is no user %(id)s.") % {"id": pk}


def no_such_users(ids: list[int]) -> str:
    return _("There are no users %(ids)s.") % {"ids": ", ".join(map(str, ids))}


def no_such_team(pk: object) -> str:
    return _("There is no team %(id)s.") % {"id": pk}


def not_a_member(user_id: int, team_id: int) -> str:
    return _("User %(user)s is not in team %(team)s.") % {"user": user_id, "team": team_id}


def username_taken(username: str) -> str:
    return _("There is already a user named %(username)s.") % {"username": repr(username)}


def team_name_taken(name: str) -> str:
    return _("There is already a team named %(name)s.") % {"name": repr(name)}


def blank(field: str) -> str:
    return _("%(field)s must not be blank.") % {"field": field}


def too_long(field: str, limit: int) -> str:
    return _("%(field)s is longer than %(limit)s characters.") % {"field": field, "limit": limit}


def bad_email(value: str) -> str:
    return _("%(value)s is not an e-mail address.") % {"value": repr(value)}


def not_your_own_staff_flag() -> str:
    return _("You cannot take away your own staff flag or deactivate yourself.")


def superusers_by_superusers() -> str:
    return _("Only a superuser may change a superuser.")


def bad_money(field: str) -> str:
    return _('%(field)s must be dollars as a decimal string such as "12.50".') % {"field": field}


def bad_share(field: str) -> str:
    return _(
        "%(field)s must be a number above 0 and at most 1, with at most 2 decimals (0.8 is 80 %%)."
    ) % {"field": field}


def bad_scope() -> str:
    return _("scope must be global, team or user.")


def scope_needs(scope: str, field: str) -> str:
    return _("A %(scope)s budget needs %(field)s (an id).") % {"scope": scope, "field": field}


def scope_refuses(scope: str, field: str) -> str:
    return _("A %(scope)s budget takes no %(field)s.") % {"scope": scope, "field": field}


def not_an_id(field: str) -> str:
    return _("%(field)s must be an id (a whole number).") % {"field": field}


def no_such_budget() -> str:
    return _("There is no such budget.")


def tokens_for_others_staff_only() -> str:
    return _("Only staff may create a token for someone else.")


def inactive_user(username: str) -> str:
    return _("User %(username)s is inactive; activate them first.") % {"username": repr(username)}


def no_such_token(pk: int) -> str:
    return _("There is no token %(id)s that you can revoke.") % {"id": pk}


def token_revoked(name: str) -> str:
    return _("Token %(name)s is revoked: it no longer works.") % {"name": name}


# -- brand kits ----------------------------------------------------------------------------
def no_such_kit(pk: object) -> str:
    return _("There is no kit %(id)s of yours or your teams'.") % {"id": pk}


def no_kit_picture(pk: object, position: object) -> str:
    return _("Kit %(id)s has no picture %(position)s, or its file is gone.") % {
        "id": pk,
        "position": position,
    }


# -- lists and batches ---------------------------------------------------------------------
def no_such_batch(pk: object) -> str:
    return _("There is no batch %(id)s of yours or your teams'.") % {"id": pk}


def one_kind_of_prompt() -> str:
    return _("Send one of prompt, prompts, or template with rows, not several.")


def template_needed() -> str:
    # Braces here are the list syntax, not a format string (the translation writes them
    # its own way):
    # xgettext:no-python-brace-format
    return _("rows need a template: a prompt with {placeholders} naming their keys.")


def rows_needed() -> str:
    return _("A template needs rows: one object per image, placeholder → value.")


# -- stars, boards and downloads -----------------------------------------------------------


def no_such_board(pk: object) -> str:
    return _("There is no board %(id)s of yours or your teams'.") % {"id": pk}


def not_on_board(pk: object, board: object) -> str:
    return _("Generation %(id)s is not on board %(board)s.") % {"id": pk, "board": board}


def only_creator_deletes_board() -> str:
    return _("Only the board's creator or staff can delete it.")


def nothing_to_download() -> str:
    return _("None of these generations is one you can see.")


# -- Idempotency-Key ---------------------------------------------------------------------------


def idempotency_key_bad(limit: int) -> str:
    return _("Idempotency-Key is 1 to %(n)s characters (a UUID, say).") % {"n": limit}


def idempotency_key_reused() -> str:
    return _(
        "This Idempotency-Key was used for another request in the last 24 hours: send a new "
        "key for a new request, or the first request's body to get its answer again."
    )


def idempotency_in_progress() -> str:
    return _(
        "A request with this Idempotency-Key is still being answered: send it again in a "
        "moment to get its answer."
    )
