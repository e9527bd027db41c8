"""Reconciling the ledger with the gateway's log: pull, match, decide, report.

Each log row ends matched to one ledger attempt (amounts equal, or "amount differs"), or
"billed by the gateway, unknown here" (added to the ledger once, as a lost call); each
billed attempt no row matched is "not billed by the gateway" once a complete pull has
looked at its time, else "not in the log yet". Matching is by request id first, then by
time, model and path within a window wide enough for minutes of clock skew."""

from __future__ import annotations

import bisect
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from imagestudio.reconcile import logapi
from imagestudio.reconcile.models import LogRow, MalformedRow, Pull, State, Threshold
from imagestudio.spend import ledger
from imagestudio.spend.models import Attempt
from imagestudio.studio.models import Generation, Status
from imagestudio.upstream.client import longest_timeout
from imagestudio.upstream.types import Outcome

log = logging.getLogger(__name__)
ZERO = Decimal("0")
# Whose ledger rows the calls only the gateway knew of are (no image could be found).
GATEWAY_USER = "gateway-log"
BATCH = 500
# Outcomes whose call the gateway may have finished after the studio stopped waiting.
OPEN_ENDED = (Outcome.TIMEOUT, Outcome.LOST)
# /metrics keeps the open differences this long at most (see unreconciled_now).
UNRECONCILED_CACHE_SECONDS = 300


class Kind:
    UNKNOWN_HERE = "unknown_here"
    NOT_BILLED_BY_GATEWAY = "not_billed_by_gateway"
    AMOUNT_DIFFERS = "amount_differs"
    NOT_IN_LOG_YET = "not_in_log_yet"
    ALL = (UNKNOWN_HERE, NOT_BILLED_BY_GATEWAY, AMOUNT_DIFFERS, NOT_IN_LOG_YET)


def configured() -> bool:
    return bool(settings.GATEWAY_SYSTEM_TOKEN)


def window() -> timedelta:
    return timedelta(seconds=settings.RECONCILE_WINDOW_SECONDS)


# --- pulling -------------------------------------------------------------------------------
def reader() -> logapi.LogReader:
    return logapi.LogReader(
        settings.GATEWAY_LOG_BASE_URL,
        settings.GATEWAY_SYSTEM_TOKEN,
        min_interval=settings.GATEWAY_LOG_MIN_INTERVAL,
        backoff=settings.GATEWAY_LOG_BACKOFF,
        timeout=settings.GATEWAY_LOG_TIMEOUT,
    )


def pull(start: datetime, end: datetime, source: logapi.LogReader | None = None) -> Pull:
    """Read every spending row of [start, end] and keep each one once. Nothing is
    matched here; a pull that fails part-way keeps what it read and says why."""
    run = Pull.objects.create(period_start=start, period_end=end)
    owned = source is None
    source = source or reader()
    batch: list[logapi.Row] = []
    try:
        for item in source.rows(start, end):
            run.rows += 1
            if isinstance(item, logapi.Malformed):
                run.malformed += _keep_malformed(item)
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                run.new_rows += _keep(batch)
                batch = []
        run.new_rows += _keep(batch)
        run.outcome = Pull.Outcome.OK
    except logapi.BadToken:
        # The gateway's message may quote what it was sent: never stored.
        run.outcome = Pull.Outcome.BAD_TOKEN
    except logapi.LogUnavailable as exc:
        run.new_rows += _keep(batch)
        run.outcome, run.message = Pull.Outcome.UNAVAILABLE, str(exc)[:300]
    finally:
        run.pages = source.pages
        run.finished_at = timezone.now()
        run.save()
        if owned:
            source.close()
    return run


def _keep(rows: list[logapi.Row]) -> int:
    """Insert the rows not kept yet; how many were new. Idempotent across runs and
    machines: the log id is unique, a row already kept is left as it is."""
    if not rows:
        return 0
    ids = [r.log_id for r in rows]
    before = LogRow.objects.filter(log_id__in=ids).count()
    LogRow.objects.bulk_create(
        [
            LogRow(
                log_id=r.log_id,
                created_at=r.created_at,
                model=r.model,
                path=r.path,
                billing_type=r.billing_type,
                request_id=r.request_id,
                token_name=r.token_name,
                quota=r.quota,
                amount=r.amount,
                use_time=r.use_time,
                other=r.other,
            )
            for r in rows
        ],
        ignore_conflicts=True,
        batch_size=BATCH,
    )
    return LogRow.objects.filter(log_id__in=ids).count() - before


def _keep_malformed(item: logapi.Malformed) -> int:
    digest = hashlib.sha256(item.raw.encode("utf-8")).hexdigest()
    _row, created = MalformedRow.objects.get_or_create(
        digest=digest, defaults={"raw": item.raw, "problem": item.problem, "log_id": item.log_id}
    )
    return int(created)


# --- matching ------------------------------------------------------------------------------
def _endpoint(path: str) -> str:
    """/v1/images/generations → images/generations (the ledger's endpoint)."""
    path = path.split("?")[0].strip("/")
    return path.removeprefix("v1/")


@dataclass
class _Pairs:
    rows: list[LogRow]
    links: dict[int, Attempt] = field(default_factory=dict)  # row pk → attempt


def match(start: datetime, end: datetime) -> int:
    """Match the waiting rows of [start, end] (± the window) to ledger attempts; decide
    those left over once they are old enough. How many rows were decided."""
    wide = window() * 2
    rows = list(
        LogRow.objects.filter(
            state=State.PENDING, created_at__gte=start - wide, created_at__lte=end + wide
        )
    )
    if not rows:
        return 0
    decided = _link(rows, start, end)
    waiting = [r for r in rows if r.state == State.PENDING]
    settle = timezone.now() - timedelta(seconds=settings.RECONCILE_SETTLE_SECONDS)
    old = [r for r in waiting if r.fetched_at <= settle]
    if old and _running_candidates(old):
        # A worker died with these calls and the sweep has not run yet: it writes their
        # lost rows (its one path, once), then they match like any other.
        Generation.sweep_stale()
        decided += _link(old, start, end)
        old = [r for r in old if r.state == State.PENDING]
    if old:
        user_id = gateway_user_id()
        for row in old:
            decided += _add_lost(row, user_id)
    return decided


def _link(rows: list[LogRow], start: datetime, end: datetime) -> int:
    pairs = _Pairs(rows)
    _by_request_id(pairs)
    _by_time(pairs, start, end)
    if not pairs.links:
        return 0
    try:
        return _write_links(pairs.links, rows)
    except IntegrityError:
        # Another machine linked one of these attempts meanwhile: one row at a time, each
        # refused on its own by the one-to-one.
        return sum(_write_links({pk: a}, rows) for pk, a in pairs.links.items() if _safe(pk))


def _safe(pk: int) -> bool:
    return LogRow.objects.filter(pk=pk, state=State.PENDING, attempt__isnull=True).exists()


def _write_links(links: dict[int, Attempt], rows: list[LogRow]) -> int:
    """Write the pairs in one transaction, each update conditional: a row another machine
    decided meanwhile stays as it is. One statement run many times, not one query a row
    (a month is ten thousand rows)."""
    by_pk = {r.pk: r for r in rows}
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = []
    for pk, attempt in links.items():
        row = by_pk[pk]
        state = State.MATCHED if attempt.amount == row.amount else State.AMOUNT_DIFFERS
        params.append((attempt.pk, str(state), now, pk))
    # The table's name comes from the model, never from input.
    table = connection.ops.quote_name(LogRow._meta.db_table)
    sql = (
        f"UPDATE {table} SET attempt_id = %s, state = %s, decided_at = %s "  # noqa: S608
        "WHERE id = %s AND state = 'pending' AND attempt_id IS NULL"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)
        written = LogRow.objects.filter(pk__in=list(links)).values_list("pk", "attempt_id", "state")
        decided = {pk: kept for pk, attempt_id, kept in written if attempt_id == links[pk].pk}
    for pk, kept in decided.items():
        by_pk[pk].attempt, by_pk[pk].state = links[pk], kept
    return len(decided)


def _unlinked() -> Q:
    return Q(gateway_log_row__isnull=True)


def _by_request_id(pairs: _Pairs) -> None:
    wanted = {r.request_id: r for r in pairs.rows if r.request_id}
    ids = list(wanted)
    for i in range(0, len(ids), BATCH):
        chunk = ids[i : i + BATCH]
        for attempt in Attempt.objects.filter(_unlinked(), request_id__in=chunk).order_by("id"):
            row = wanted.pop(attempt.request_id, None)
            if row is not None:
                pairs.links[row.pk] = attempt


def _by_time(pairs: _Pairs, start: datetime, end: datetime) -> None:
    """The rows left, to billed attempts of the same model and path whose call ends
    within the window of the row's time; the closest pairs first, each side once. A
    pair whose two request ids are both known and differ is never made."""
    rows = [r for r in pairs.rows if r.pk not in pairs.links]
    if not rows:
        return
    span = window()
    slack = timedelta(seconds=longest_timeout())
    taken = {a.pk for a in pairs.links.values()}
    attempts = [
        a
        for a in Attempt.objects.filter(
            _unlinked(),
            billed=True,
            created_at__gte=start - span * 2 - slack,
            created_at__lte=end + span * 2 + slack,
        ).order_by("created_at", "id")
        if a.pk not in taken
    ]
    groups: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        groups[a.model].append(a)
    ends = {model: [a.created_at for a in group] for model, group in groups.items()}
    candidates: list[tuple[float, int, int, LogRow, Attempt]] = []
    for row in rows:
        group = groups.get(row.model, [])
        if not group:
            continue
        path = _endpoint(row.path)
        low = bisect.bisect_left(ends[row.model], row.created_at - span - slack)
        high = bisect.bisect_right(ends[row.model], row.created_at + span + slack)
        for a in group[low:high]:
            if path and a.endpoint and a.endpoint != path:
                continue
            if row.request_id and a.request_id and row.request_id != a.request_id:
                continue
            began = a.created_at - timedelta(milliseconds=a.latency_ms)
            late = slack if a.outcome in OPEN_ENDED else timedelta(0)
            if not began - span <= row.created_at <= a.created_at + span + late:
                continue
            distance = abs((row.created_at - a.created_at).total_seconds())
            candidates.append((distance, row.log_id, a.pk, row, a))
    candidates.sort(key=lambda c: c[:3])
    used_rows: set[int] = set()
    for _distance, _log_id, attempt_pk, row, attempt in candidates:
        if row.pk in used_rows or attempt_pk in taken:
            continue
        used_rows.add(row.pk)
        taken.add(attempt_pk)
        pairs.links[row.pk] = attempt


def _running_candidates(rows: list[LogRow]) -> bool:
    earliest = min(r.created_at for r in rows) - window()
    return Generation.objects.filter(
        status=Status.RUNNING,
        calling_since__isnull=False,
        calling_since__gte=earliest - timedelta(seconds=longest_timeout()),
        model__in={r.model for r in rows},
    ).exists()


def gateway_user_id() -> int:
    user, _created = get_user_model().objects.get_or_create(
        username=GATEWAY_USER, defaults={"is_active": False}
    )
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user.pk


def _add_lost(row: LogRow, user_id: int) -> int:
    """A row no attempt matches, old enough that none will: the ledger gets it, once
    (the row is locked and must still be waiting), through the ledger's one writer."""
    with transaction.atomic():
        locked = (
            LogRow.objects.select_for_update()
            .filter(pk=row.pk, state=State.PENDING, attempt__isnull=True)
            .first()
        )
        if locked is None:
            return 0
        attempt = ledger.record(
            ledger.found_in_log(
                model=locked.model,
                endpoint=_endpoint(locked.path),
                request_id=locked.request_id,
                latency_ms=locked.use_time * 1000,
            ),
            generation_id=None,
            user_id=user_id,
            team_id=None,
            size_asked="",
            gateway_amount=locked.amount,
        )
        LogRow.objects.filter(pk=locked.pk).update(
            attempt=attempt, state=State.UNKNOWN_HERE, added=True, decided_at=timezone.now()
        )
    row.state = State.UNKNOWN_HERE
    return 1


# --- the whole run -------------------------------------------------------------------------
@dataclass(frozen=True)
class RunResult:
    pull: Pull | None
    decided: int


def reconcile(start: datetime, end: datetime) -> RunResult:
    """Pull [start, end], then match and decide; nothing is marked when the pull could
    not read the log (a wrong token, the log down): it is tried again next time."""
    if not configured():
        return RunResult(None, 0)
    run = pull(start, end)
    if run.outcome != Pull.Outcome.OK:
        log.warning("gateway log not read (%s): %s", run.outcome, run.message)
        return RunResult(run, 0)
    decided = match(start, end)
    from imagestudio.reconcile import alerts

    alerts.check_days(start, end)
    return RunResult(run, decided)


def recent_period(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The hourly run's period: from a little before where the last complete pull ended
    (or a day back), to a minute ago (the log writes a row when its call ends)."""
    now = now or timezone.now()
    end = now - timedelta(seconds=60)
    last = Pull.objects.filter(outcome=Pull.Outcome.OK).order_by("-period_end").first()
    start = end - timedelta(days=1)
    if last is not None:
        start = max(start - timedelta(days=1), last.period_end - window() * 2)
    return min(start, end), end


# --- coverage and the report ---------------------------------------------------------------
class Coverage:
    """The union of the complete pulls' periods."""

    def __init__(self, spans: Iterable[tuple[datetime, datetime]]) -> None:
        merged: list[list[datetime]] = []
        for s, e in sorted(spans):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self._starts = [m[0] for m in merged]
        self._spans = merged

    @classmethod
    def around(cls, start: datetime, end: datetime) -> Coverage:
        pulls = Pull.objects.filter(
            outcome=Pull.Outcome.OK, period_end__gte=start, period_start__lte=end
        ).values_list("period_start", "period_end", "started_at")
        # A pull has read nothing later than when it started, whatever its period said.
        return cls((s, min(e, started)) for s, e, started in pulls)

    def covers(self, start: datetime, end: datetime) -> bool:
        i = bisect.bisect_right(self._starts, start) - 1
        return i >= 0 and self._spans[i][1] >= end


def looked_for(attempt: Attempt, coverage: Coverage) -> bool:
    """Whether a complete pull has read the whole stretch where this call's row would be."""
    span = window()
    late = timedelta(seconds=longest_timeout()) if attempt.outcome in OPEN_ENDED else None
    began = attempt.created_at - timedelta(milliseconds=attempt.latency_ms)
    return coverage.covers(began - span, attempt.created_at + span + (late or timedelta(0)))


@dataclass(frozen=True)
class Day:
    day: date
    gateway: Decimal
    ledger: Decimal

    @property
    def difference(self) -> Decimal:
        return self.gateway - self.ledger


@dataclass(frozen=True)
class Difference:
    kind: str
    request_id: str
    gateway: Decimal
    ledger: Decimal
    generation_id: int | None
    at: datetime
    model: str
    log_id: int | None
    added: bool = False


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return start, datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)


def days(first: date, last: date) -> list[Day]:
    start, end = bounds(first, last)
    gateway = dict(
        LogRow.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(d=TruncDate("created_at", tzinfo=UTC))
        .values("d")
        .annotate(t=Sum("amount"))
        .order_by()
        .values_list("d", "t")
    )
    books = dict(
        Attempt.objects.filter(billed=True, created_at__gte=start, created_at__lt=end)
        .annotate(d=TruncDate("created_at", tzinfo=UTC))
        .values("d")
        .annotate(t=Sum("amount"))
        .order_by()
        .values_list("d", "t")
    )
    out = []
    day = first
    while day <= last:
        out.append(Day(day, _dollars(gateway.get(day)), _dollars(books.get(day))))
        day += timedelta(days=1)
    return out


def _dollars(total: object) -> Decimal:
    # SQLite sums decimals as floats: back to dollars to the millionth.
    return Decimal(str(total or 0)).quantize(logapi.MICRO)


def differences(first: date, last: date) -> list[Difference]:
    start, end = bounds(first, last)
    found: list[Difference] = []
    rows = (
        LogRow.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            state__in=[State.AMOUNT_DIFFERS, State.UNKNOWN_HERE],
        )
        .select_related("attempt")
        .order_by("created_at", "log_id")
    )
    for row in rows:
        attempt = row.attempt
        unknown = row.state == State.UNKNOWN_HERE
        found.append(
            Difference(
                kind=Kind.UNKNOWN_HERE if unknown else Kind.AMOUNT_DIFFERS,
                request_id=row.request_id or (attempt.request_id if attempt else ""),
                gateway=row.amount,
                # What the studio had written: nothing, for a call only the gateway knew.
                ledger=ZERO if unknown or attempt is None else attempt.amount,
                generation_id=attempt.generation_id if attempt else None,
                at=row.created_at,
                model=row.model,
                log_id=row.log_id,
                added=row.added,
            )
        )
    coverage = Coverage.around(start - window() * 4, end + window() * 4)
    alone = Attempt.objects.filter(
        _unlinked(), billed=True, created_at__gte=start, created_at__lt=end
    ).order_by("created_at", "id")
    for attempt in alone.iterator():
        seen = looked_for(attempt, coverage)
        found.append(
            Difference(
                kind=Kind.NOT_BILLED_BY_GATEWAY if seen else Kind.NOT_IN_LOG_YET,
                request_id=attempt.request_id,
                gateway=ZERO,
                ledger=attempt.amount,
                generation_id=attempt.generation_id,
                at=attempt.created_at,
                model=attempt.model,
                log_id=None,
            )
        )
    found.sort(key=lambda d: (d.at, d.kind))
    return found


def unreconciled(days_back: int = 31) -> dict[str, Decimal]:
    """The open differences of the last `days_back` days by kind, in US dollars (for
    /metrics): what the two books still disagree on."""
    today = timezone.now().astimezone(UTC).date()
    totals = dict.fromkeys(Kind.ALL, ZERO)
    for d in differences(today - timedelta(days=days_back - 1), today):
        if d.kind == Kind.UNKNOWN_HERE and d.added:
            continue  # the ledger has it now
        totals[d.kind] += abs(d.gateway - d.ledger)
    return totals


def unreconciled_now() -> dict[str, Decimal]:
    """unreconciled(), kept while neither book moved: a month of rows takes seconds to
    go through, and Prometheus scrapes every few seconds. The key changes with the day,
    the latest pull and the latest ledger row, so a new difference shows on the next
    scrape; the time limit covers a row changed in place (a ledger correction)."""
    latest_pull = Pull.objects.order_by("-pk").values_list("pk", "finished_at").first()
    latest_row = Attempt.objects.order_by("-pk").values_list("pk", flat=True).first()
    today = timezone.now().astimezone(UTC).date()
    key = (
        "reconcile:unreconciled:"
        + hashlib.sha256(repr((today, latest_pull, latest_row)).encode()).hexdigest()[:24]
    )
    totals: dict[str, Decimal] | None = cache.get(key)
    if totals is None:
        totals = unreconciled()
        cache.set(key, totals, UNRECONCILED_CACHE_SECONDS)
    return totals


def threshold() -> Decimal:
    return Threshold.current().usd


def last_pull() -> Pull | None:
    return Pull.objects.exclude(outcome=Pull.Outcome.RUNNING).first()


def waiting_rows() -> int:
    return LogRow.objects.filter(state=State.PENDING).count()
