"""Provisioning for staff, as scripts onboard a team: users, teams and memberships, budgets
(/users, /teams, /budgets: staff only, 403 for anyone else), and API tokens (/tokens:
everyone their own, staff anyone's). Every change is in the audit log, via "api"
(audit.middleware knows the path), as the token's or session's user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from pydantic import BaseModel, ValidationError

from imagestudio.accounts import provisioning as rules
from imagestudio.api import messages, schemas
from imagestudio.api.access import MAX_ID, require_staff
from imagestudio.api.auth import api_view
from imagestudio.api.contract import (
    ApiError,
    Reply,
    invalid,
    json_object,
    no_content,
    operation,
    respond,
)
from imagestudio.api.models import ApiToken
from imagestudio.spend import budgets as spend_budgets
from imagestudio.spend.models import Budget, Team
from imagestudio.spend.money import decimal_str, parse_usd
from imagestudio.web import parsing

User = get_user_model()

INVALID = Reply("Invalid request: error.field names the first bad field.", schemas.Error)
TOO_LARGE = Reply("too_large: the request body is over the size limit.", schemas.Error)
STAFF = Reply("forbidden: the caller is not staff.", schemas.Error)
TAKEN = Reply("conflict: the name is taken.", schemas.Error)
USER_ID = {"id": {"type": "integer", "description": "A user's id."}}
TEAM_ID = {"id": {"type": "integer", "description": "A team's id."}}


# --- bodies --------------------------------------------------------------------------------
def _valid[M: BaseModel](model: type[M], request: HttpRequest) -> M:
    """The body through its model, or a 400 naming each field that is missing, unknown or
    of the wrong JSON type."""
    try:
        return model.model_validate(json_object(request))
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "missing":
                errors.setdefault(name, messages.required(name))
            elif error["type"] == "extra_forbidden":
                errors.setdefault(name, messages.not_a_field(name))
            else:
                errors.setdefault(name, messages.wrong_type(name))
        raise invalid(errors, tuple(model.model_fields)) from exc


def _found(queryset: QuerySet[Any], pk: int, missing: str) -> Any:
    row = queryset.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if row is None:
        raise ApiError(404, "not_found", missing)
    return row


# --- /users --------------------------------------------------------------------------------
def _users() -> QuerySet[Any]:
    return User.objects.order_by("username").prefetch_related(
        Prefetch("teams", queryset=Team.objects.order_by("name"))
    )


def _user(row: Any) -> schemas.User:
    return schemas.User(
        id=row.pk,
        username=row.get_username(),
        email=row.email,
        is_staff=row.is_staff,
        is_active=row.is_active,
        teams=[schemas.TeamRef(id=t.pk, name=t.name) for t in row.teams.all()],
    )


@operation(
    "POST",
    "/users",
    operation_id="createUser",
    summary="Staff: add a user (without a password they cannot sign in until one is set).",
    body=schemas.UserCreate,
    responses={
        201: Reply("The new user.", schemas.User),
        400: INVALID,
        403: STAFF,
        409: TAKEN,
        413: TOO_LARGE,
    },
)
def create_user(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    body = _valid(schemas.UserCreate, request)
    errors: dict[str, str] = {}
    username, email = rules.check_new_user(body.username, body.email, body.password, errors)
    if errors:
        raise invalid(errors, tuple(schemas.UserCreate.model_fields))
    try:
        row = rules.create_user(username, email, body.password, is_staff=body.is_staff)
    except rules.Taken as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return respond(_user(_users().get(pk=row.pk)), status=201)


@operation(
    "GET",
    "/users",
    operation_id="listUsers",
    summary="Staff: every user with their teams, by user name.",
    responses={200: Reply("Every user.", schemas.UserList), 403: STAFF},
)
def list_users(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    return respond(schemas.UserList(results=[_user(row) for row in _users()]))


@operation(
    "PATCH",
    "/users/{id}",
    operation_id="updateUser",
    summary="Staff: activate or deactivate a user, give or take the staff flag, change "
    "the e-mail address.",
    path_parameters=USER_ID,
    body=schemas.UserPatch,
    responses={
        200: Reply("The user as changed.", schemas.User),
        400: INVALID,
        403: Reply(
            "forbidden: the caller is not staff, or changes a superuser without being one.",
            schemas.Error,
        ),
        404: Reply("No such user.", schemas.Error),
        413: TOO_LARGE,
    },
)
def update_user(request: HttpRequest, pk: int) -> HttpResponseBase:
    require_staff(request)
    row = _found(User.objects.all(), pk, messages.no_such_user(pk))
    body = _valid(schemas.UserPatch, request)
    errors: dict[str, str] = {}
    try:
        rules.check_user_change(
            request.user, row, errors, is_active=body.is_active, is_staff=body.is_staff
        )
    except rules.Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from exc
    email = rules.email(body.email, errors) if body.email is not None else None
    if errors:
        raise invalid(errors, tuple(schemas.UserPatch.model_fields))
    rules.change_user(row, is_active=body.is_active, is_staff=body.is_staff, email=email)
    return respond(_user(_users().get(pk=row.pk)))


users = api_view(list_users, create_user)
user_detail = api_view(update_user)


# --- /teams --------------------------------------------------------------------------------
def _teams() -> QuerySet[Team]:
    return Team.objects.order_by("name").prefetch_related(
        Prefetch("members", queryset=User.objects.order_by("username"))
    )


def _team(row: Team) -> schemas.Team:
    return schemas.Team(
        id=row.pk,
        name=row.name,
        members=[schemas.MemberRef(id=u.pk, username=u.get_username()) for u in row.members.all()],
    )


@operation(
    "POST",
    "/teams",
    operation_id="createTeam",
    summary="Staff: add a team (no members yet).",
    body=schemas.TeamCreate,
    responses={
        201: Reply("The new team.", schemas.Team),
        400: INVALID,
        403: STAFF,
        409: TAKEN,
        413: TOO_LARGE,
    },
)
def create_team(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    body = _valid(schemas.TeamCreate, request)
    errors: dict[str, str] = {}
    try:
        row = rules.create_team(body.name, errors)
    except rules.Taken as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    if row is None:
        raise invalid(errors)
    return respond(schemas.Team(id=row.pk, name=row.name, members=[]), status=201)


@operation(
    "GET",
    "/teams",
    operation_id="listTeams",
    summary="Staff: every team with its members, by name.",
    responses={200: Reply("Every team.", schemas.TeamList), 403: STAFF},
)
def list_teams(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    return respond(schemas.TeamList(results=[_team(row) for row in _teams()]))


@operation(
    "POST",
    "/teams/{id}/members",
    operation_id="addTeamMembers",
    summary="Staff: add users to a team (those already in it stay).",
    path_parameters=TEAM_ID,
    body=schemas.TeamMembers,
    responses={
        200: Reply("The team with its members.", schemas.Team),
        400: INVALID,
        403: STAFF,
        404: Reply("No such team.", schemas.Error),
        413: TOO_LARGE,
    },
)
def add_members(request: HttpRequest, pk: int) -> HttpResponseBase:
    require_staff(request)
    team = _found(Team.objects.all(), pk, messages.no_such_team(pk))
    body = _valid(schemas.TeamMembers, request)
    too_large = [i for i in dict.fromkeys(body.users) if i > MAX_ID]
    missing = too_large or rules.add_members(team, body.users)
    if missing:
        raise invalid({"users": messages.no_such_users(missing)})
    return respond(_team(_teams().get(pk=team.pk)))


@operation(
    "DELETE",
    "/teams/{id}/members/{user_id}",
    operation_id="removeTeamMember",
    summary="Staff: take a user out of a team (their images stay the team's).",
    path_parameters={**TEAM_ID, "user_id": {"type": "integer", "description": "A user's id."}},
    responses={
        204: Reply("Removed."),
        403: STAFF,
        404: Reply("No such team, or the user is not in it.", schemas.Error),
    },
)
def remove_member(request: HttpRequest, pk: int, user_id: int) -> HttpResponseBase:
    require_staff(request)
    team = _found(Team.objects.all(), pk, messages.no_such_team(pk))
    if user_id > MAX_ID or not rules.remove_member(team, user_id):
        raise ApiError(404, "not_found", messages.not_a_member(user_id, pk))
    return no_content()


teams = api_view(list_teams, create_team)
team_members = api_view(add_members)
team_member = api_view(remove_member)


# --- /budgets ------------------------------------------------------------------------------
def _id(value: object, field: str, errors: dict[str, str]) -> int | None:
    """An id from JSON (an integer) or a query string (ASCII digits)."""
    pk = parsing.id_or_none(value) if not isinstance(value, bool) else None
    if pk is None or pk > MAX_ID:
        errors[field] = messages.not_an_id(field)
    return pk


def _owner(
    scope: str, team: object, user: object, errors: dict[str, str]
) -> tuple[Team | None, Any]:
    """The team or user a budget selector names (each must exist: their ids are in the
    body or the query, so a wrong one is a 400 on its field, not a 404)."""
    given = {"team": team not in (None, ""), "user": user not in (None, "")}
    if scope not in Budget.Scope.values:
        errors["scope"] = messages.bad_scope()
        return None, None
    for field, present in given.items():
        if present and field != scope:
            errors[field] = messages.scope_refuses(scope, field)
    if scope == Budget.Scope.GLOBAL:
        return None, None
    if not given[scope]:
        errors[scope] = messages.scope_needs(scope, scope)
        return None, None
    pk = _id(team if scope == Budget.Scope.TEAM else user, scope, errors)
    if pk is None:
        return None, None
    if scope == Budget.Scope.TEAM:
        found_team = Team.objects.filter(pk=pk).first()
        if found_team is None:
            errors["team"] = messages.no_such_team(pk)
        return found_team, None
    found_user = User.objects.filter(pk=pk).first()
    if found_user is None:
        errors["user"] = messages.no_such_user(pk)
    return None, found_user


def _budget(row: Budget) -> schemas.Budget:
    state = spend_budgets.standing(row)
    return schemas.Budget(
        scope=row.scope,
        team=row.team_id,
        user=row.user_id,
        name=row.name,
        monthly_usd=decimal_str(row.monthly_cap),
        alert_at=float(row.alert_at),
        spent_usd=decimal_str(state.used),
        reserved_usd=decimal_str(state.reserved),
        left_usd=decimal_str(state.remaining),
        resets_on=spend_budgets.next_month_start().date().isoformat(),
    )


@operation(
    "PUT",
    "/budgets",
    operation_id="putBudget",
    summary="Staff: create or replace the monthly budget of the studio, a team or a user.",
    body=schemas.BudgetPut,
    responses={
        200: Reply("The budget, with where it stands this month.", schemas.Budget),
        400: INVALID,
        403: STAFF,
        413: TOO_LARGE,
    },
)
def put_budget(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    data = json_object(request)
    errors: dict[str, str] = {}
    known = set(schemas.BudgetPut.model_fields)
    for field in data:
        if field not in known:
            errors[field] = messages.not_a_field(field)
    for field in ("scope", "monthly_usd"):
        if field not in data:
            errors[field] = messages.required(field)
    team, user = None, None
    if "scope" in data:
        team, user = _owner(data["scope"], data.get("team"), data.get("user"), errors)
    cap = parse_usd(data.get("monthly_usd", "0"))
    if cap is None:
        errors["monthly_usd"] = messages.bad_money("monthly_usd")
    alert_at = rules.alert_share(data.get("alert_at"), errors)
    if errors or cap is None:
        raise invalid(errors, tuple(schemas.BudgetPut.model_fields))
    row = Budget.put(data["scope"], team=team, user=user, cap=cap, alert_at=alert_at)
    return respond(_budget(row))


@operation(
    "GET",
    "/budgets",
    operation_id="listBudgets",
    summary="Staff: every budget and where it stands this month.",
    responses={200: Reply("Every budget.", schemas.BudgetList), 403: STAFF},
)
def list_budgets(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    rows = Budget.objects.select_related("team", "user").order_by("scope", "id")
    return respond(schemas.BudgetList(results=[_budget(row) for row in rows]))


@operation(
    "DELETE",
    "/budgets",
    operation_id="deleteBudget",
    summary="Staff: remove a budget (its scope is then unlimited), named as for PUT: "
    "?scope=team&team=ID, ?scope=user&user=ID or ?scope=global.",
    query=schemas.BudgetSelector,
    responses={
        204: Reply("Removed."),
        400: INVALID,
        403: STAFF,
        404: Reply("That scope has no budget.", schemas.Error),
    },
)
def delete_budget(request: HttpRequest) -> HttpResponseBase:
    require_staff(request)
    params = request.GET.dict()
    errors: dict[str, str] = {}
    team, user = _owner(params.get("scope", ""), params.get("team"), params.get("user"), errors)
    if errors:
        raise invalid(errors, ("scope", "team", "user"))
    row = Budget.objects.filter(scope=params["scope"], team=team, user=user).first()
    if row is None:
        raise ApiError(404, "not_found", messages.no_such_budget())
    row.delete()
    return no_content()


budgets = api_view(list_budgets, put_budget, delete_budget)


# --- /tokens -------------------------------------------------------------------------------
def _token(row: ApiToken) -> schemas.Token:
    return schemas.Token(
        id=row.pk,
        name=row.name,
        user=row.user_id,
        username=row.user.get_username(),
        prefix=row.prefix,
        created_at=row.created_at.isoformat(),
        last_used_at=row.last_used_at.isoformat() if row.last_used_at else None,
    )


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    """The tokens `user` may list and revoke: their own; staff everyone's but a
    superuser's (rules.may_act_for)."""
    rows = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    return rows.filter(rules.acted_for_by(user))


@operation(
    "POST",
    "/tokens",
    operation_id="createToken",
    summary="Create an API token for yourself (staff: for anyone). The token is in this "
    "answer only: keep it.",
    body=schemas.TokenCreate,
    responses={
        201: Reply("The token, shown this once.", schemas.TokenCreated),
        400: INVALID,
        403: Reply(
            "forbidden: a token for someone else, by someone not staff, or for a superuser "
            "by someone who is not one.",
            schemas.Error,
        ),
        413: TOO_LARGE,
    },
)
def create_token(request: HttpRequest) -> HttpResponseBase:
    body = _valid(schemas.TokenCreate, request)
    errors: dict[str, str] = {}
    name = rules.text(body.name, "name", 100, errors)
    owner: Any = request.user
    if body.user is not None and body.user != request.user.pk:
        if not request.user.is_staff:
            raise ApiError(403, "forbidden", messages.tokens_for_others_staff_only())
        owner = User.objects.filter(pk=body.user).first() if body.user <= MAX_ID else None
        if owner is None:
            errors["user"] = messages.no_such_user(body.user)
        elif not rules.may_act_for(request.user, owner):
            raise ApiError(403, "forbidden", messages.superusers_by_superusers())
        elif not owner.is_active:
            errors["user"] = messages.inactive_user(owner.get_username())
    if errors:
        raise invalid(errors, ("user", "name"))
    row, raw = ApiToken.issue(owner, name=name, issued_by=request.user)
    shown = _token(row)
    return respond(schemas.TokenCreated(**shown.model_dump(), token=raw), status=201)


@operation(
    "GET",
    "/tokens",
    operation_id="listTokens",
    summary="Your API tokens (staff: everyone's but a superuser's), newest first; never the "
    "tokens themselves.",
    responses={200: Reply("The tokens.", schemas.TokenList)},
)
def list_tokens(request: HttpRequest) -> HttpResponseBase:
    return respond(schemas.TokenList(results=[_token(row) for row in tokens_of(request.user)]))


@operation(
    "DELETE",
    "/tokens/{id}",
    operation_id="revokeToken",
    summary="Revoke one of your tokens (staff: anyone's but a superuser's): it stops "
    "working at once.",
    path_parameters={"id": {"type": "integer", "description": "A token's id."}},
    responses={204: Reply("Revoked."), 404: Reply("No such token of yours.", schemas.Error)},
)
def revoke_token(request: HttpRequest, pk: int) -> HttpResponseBase:
    row = _found(tokens_of(request.user), pk, messages.no_such_token(pk))
    row.delete()
    return no_content()


tokens = api_view(list_tokens, create_token)
token_detail = api_view(revoke_token)
