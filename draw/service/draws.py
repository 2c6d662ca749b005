"""The draw lifecycle's endpoints: request a draw, post its randomness, read its status, result and
verification bundle, replace selected objects, void it, publish it; and the seam to disclosures.

A department requests a draw with ``POST /departments/{code}/draws`` (:mod:`draws_inputs`). The
service checks it and its feasibility (nothing is written if either fails), stores the leaf lists and
pools as blobs and appends the ``draw.commit`` entry (:mod:`draws_entries`); the operator secret is
drawn from ``Service.randbytes`` and stays with the service until the reveal. The drand round follows
from the commitment entry's ledger time. Randomness then arrives (``POST /draws/{id}/beacon`` by any
department with the ``submit`` role, or the worker; ceremony reveals; lottery numbers); as soon as
every source is complete the result is computed and sealed at once, and revealed at the embargo date
or at once (:mod:`draws_lifecycle`). Before the reveal only the requesting department reads the
result. Status, list and bundle are public.

Endpoints (under ``/api/v1``; docs/api.md § Draws): ``POST /departments/{code}/draws``, ``GET /draws``,
``GET /draws/{draw_id}``, ``GET /draws/{draw_id}/bundle``, ``GET /draws/{draw_id}/result``, ``POST
/draws/{draw_id}/beacon``, ``.../ceremony``, ``.../lottery``, ``.../replacements``, ``.../void``,
``.../publish``.

**Disclosures.** :data:`DISCLOSURE_TARGETS` is the ``TargetSource`` of :mod:`draw.service.disclosures`
(``app.state.disclosure_targets``): the departments of a draw (the requesting department and, for a
joint task, its cooperators) disclose each object selected now once the draw is revealed; the result
is due 20 working days after the draw's ``inspection_end``.
"""

from __future__ import annotations

import datetime
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from draw import engine
from draw.engine import ceremony, drand, lottery
from draw.service import draws_bundle, draws_inputs, draws_store
from draw.service import draws_entries as entries_
from draw.service import draws_lifecycle as lifecycle
from draw.service.auth import CODE_PATTERN, Department, require_department, require_self
from draw.service.core import Service, service_of
from draw.service.departments import receipt_json
from draw.service.disclosures import Target, TargetError
from draw.service.draws_models import (
    BeaconIn,
    DrawBundle,
    DrawCreated,
    DrawPage,
    DrawReceipt,
    DrawResultOut,
    DrawStatus,
    NumbersIn,
    PublishIn,
    ReplacementIn,
    RevealIn,
    VoidIn,
)
from draw.service.draws_store import DrawLog
from draw.service.http import ProblemError, page, page_query
from draw.service.publishing import check_entry, text, with_request
from draw.service.routing import (
    CODE_PARAMETER,
    PAGING,
    Operation,
    Parameter,
    Submission,
    api_get,
    api_post,
    created,
)
from ledger import store
from ledger.log import Receipt

SECRET_SIZE = 32

# -- helpers --------------------------------------------------------------------------------------


def _draw(
    service: Service, draw_id: str, load: Callable[[Service, str], DrawLog | None] = draws_store.load_public
) -> DrawLog:
    """Return draw ``draw_id`` as ``load`` reads it (by default without its confidential columns)."""
    log = load(service, draw_id) if entries_.DRAW_ID.fullmatch(draw_id) else None
    if log is None:
        raise ProblemError.field("not-found", "path.draw_id", f"no draw {draw_id}")
    return log


def _owned(submission: Submission) -> DrawLog:
    log = _draw(submission.service, submission.request.path_params["draw_id"])
    if log.row.department != submission.department.code:
        detail = f"only department {log.row.department} may do this for draw {log.draw_id}"
        raise ProblemError.field("forbidden", "path.draw_id", detail)
    return log


def _conflict(detail: str) -> ProblemError:
    return ProblemError.field("conflict", "path.draw_id", detail)


def _invalid(field: str, message: str) -> ProblemError:
    return ProblemError.field("invalid-field", field, message)


def _need_state(log: DrawLog, *states: str) -> None:
    if log.row.state not in states:
        raise _conflict(f"draw {log.draw_id} is {log.row.state}, want {' or '.join(states)}")


def _receipt(service: Service, draw_id: str, receipt: Receipt, **extra: Any) -> Response:
    content = {
        "draw_id": draw_id,
        "state": _draw(service, draw_id).row.state,
        **receipt_json(service, receipt.index, receipt.leaf_hash),
        **extra,
    }
    return created(content, location=f"/api/v1/draws/{draw_id}")


def _claimed(service: Service, draw_id: str, action: Callable[[DrawLog], Receipt]) -> Receipt:
    """Run ``action`` on the freshly loaded draw under its lease, then move the draw on."""
    try:
        with draws_store.claimed(service, draw_id):
            receipt = action(_draw(service, draw_id, draws_store.load))
            lifecycle.advance_claimed(service, draw_id)
    except draws_store.BusyError as exc:
        raise _conflict(f"{exc}; retry") from None
    return receipt


# -- requesting a draw ----------------------------------------------------------------------------


def post_draw(submission: Submission) -> Response:
    """POST /departments/{code}/draws: check a draw request and append its commitment entry."""
    code = submission.request.path_params["code"]
    require_self(submission.department, code)
    given = submission.model(draws_inputs.DrawIn)
    service = submission.service
    plan = draws_inputs.plan_draw(service, code, given)
    if draws_store.load_public(service, plan.draw_id) is not None:
        raise _invalid("body.ref", f"draw {plan.draw_id} exists; a new draw needs a new ref")
    secret = service.randbytes(SECRET_SIZE)
    commitment = draws_inputs.commit(plan, secret)
    publish = "immediately" if given.publish_immediately else "embargo"
    body = entries_.commit_body(plan.draw_id, code, plan.task, commitment, publish, plan.inspection_end)
    body = with_request(body, submission)
    check_entry(service, entries_.COMMIT, body)
    new = draws_store.NewDraw(_draw_values(plan, secret, given.publish_immediately), plan.ceremony)
    try:
        receipt = draws_store.append(
            service, plan.draw_id, entries_.COMMIT, body, blob_data=commitment.blobs.values(), new_draw=new
        )
    except IntegrityError:
        raise _invalid("body.ref", f"draw {plan.draw_id} (or a ceremony commitment) is taken") from None
    chain, round_ = lifecycle.drand_round(_draw(service, plan.draw_id))
    extra = {"drand_round": round_, "drand_round_time": drand.round_time(chain, round_)}
    return _receipt(service, plan.draw_id, receipt, **extra)


def _draw_values(plan: draws_inputs.Plan, secret: bytes, publish_immediately: bool) -> dict[str, Any]:
    return {
        "department": plan.request.department,
        "task": plan.task,
        "participants": " " + " ".join(plan.participants) + " ",
        "embargo": plan.request.embargo,
        "inspection_end": plan.inspection_end,
        "publish_immediately": publish_immediately,
        "reveal_due_ms": lifecycle.embargo_ms(plan.request.embargo),
        "secret": secret,
        "population": lifecycle.format_population(plan.objects[plan.roster_rows :], plan.roster_records),
    }


# -- randomness -----------------------------------------------------------------------------------


def post_beacon(submission: Submission) -> Response:
    """POST /draws/{draw_id}/beacon: record the draw's drand beacon (any department may; it is
    self-authenticating)."""
    log = _draw(submission.service, submission.request.path_params["draw_id"])
    given = submission.model(BeaconIn)
    try:
        round_, signature, previous = drand.parse_beacon_record(given.model_dump(exclude_none=True))
    except ValueError as exc:
        raise _invalid("body", str(exc)) from None
    chain, want = lifecycle.drand_round(log)
    if round_ != want:
        raise _invalid("body.round", f"draw {log.draw_id} uses round {want}, not {round_}")
    try:
        drand.verify_beacon(chain, round_, signature, previous)
    except drand.BeaconError as exc:
        raise _invalid("body.signature", str(exc)) from None
    record = drand.beacon_record(round_, signature, previous)
    return _randomness(submission, "drand", record, lambda e: True)


def post_reveal(submission: Submission) -> Response:
    """POST /draws/{draw_id}/ceremony: record a ceremony participant's reveal (any department may;
    the reveal must open the participant's declared commitment)."""
    log = _draw(submission.service, submission.request.path_params["draw_id"])
    given = submission.model(RevealIn)
    slot = next((s for s in lifecycle.commitment_record(log).sources if s.name == "ceremony"), None)
    if slot is None:
        raise _invalid("body", f"draw {log.draw_id} declares no ceremony")
    declared = ceremony.parse_declaration(slot.declaration)
    names = [p.name for p in declared.participants]
    name = engine.model.nfc(given.participant)
    if name not in names:
        raise _invalid("body.participant", f"not a participant of draw {log.draw_id}: {', '.join(names)}")
    value = {"contribution": engine.model.nfc(given.contribution), "nonce": given.nonce, "participant": name}
    try:
        ceremony.check_reveal(
            declared.commitments[names.index(name)], name, value["contribution"], bytes.fromhex(given.nonce)
        )
    except (ValueError, ceremony.CeremonyError) as exc:
        raise _invalid("body", str(exc)) from None
    _before(submission.service, declared.reveal_deadline, "the ceremony's reveal deadline")
    return _randomness(submission, "ceremony", value, lambda e: e.body["reveal"]["participant"] == name)


def post_numbers(submission: Submission) -> Response:
    """POST /draws/{draw_id}/lottery: record the announced numbers (the requesting department only)."""
    log = _owned(submission)
    given = submission.model(NumbersIn)
    slot = next((s for s in lifecycle.commitment_record(log).sources if s.name == "lottery"), None)
    if slot is None:
        raise _invalid("body", f"draw {log.draw_id} declares no lottery numbers")
    declared = lottery.parse_declaration(slot.declaration)
    try:
        lottery.lottery_outcome(declared, given.numbers, 0)
    except ValueError as exc:
        raise _invalid("body.numbers", str(exc)) from None
    _before(submission.service, declared.deadline, "the lottery numbers' deadline")
    return _randomness(submission, "lottery", given.numbers, lambda e: True)


def _before(service: Service, deadline: int, what: str) -> None:
    if lifecycle.seconds(service.clock()) > deadline:
        raise ProblemError.field("conflict", "body", f"{what} {deadline} has passed")


def _randomness(submission: Submission, source: str, value: Any, taken: Callable[[Any], bool]) -> Response:
    """Append the ``draw.randomness`` entry of ``source`` unless one it ``taken`` exists; then seal or
    void the draw if that completes it."""
    service, code = submission.service, submission.department.code

    def action(log: DrawLog) -> Receipt:
        found = [e for e in log.of_type(entries_.RANDOMNESS) if e.body["source"] == source and taken(e)]
        if found:
            raise _conflict(f"the {source} value is recorded already (entry {found[0].index})")
        _need_state(log, "pending-randomness")
        body = entries_.randomness_body(log.draw_id, log.commit.index, source, value, code)
        body = with_request(body, submission)
        check_entry(service, entries_.RANDOMNESS, body)
        return draws_store.append(service, log.draw_id, entries_.RANDOMNESS, body)

    draw_id = submission.request.path_params["draw_id"]
    return _receipt(service, draw_id, _claimed(service, draw_id, action))


def record_beacon(
    service: Service, draw_id: str, round_: int, signature: bytes, previous: bytes | None
) -> bool:
    """Record a verified beacon fetched by the service (department null) and move the draw on.
    Return False if the draw has its beacon already or is no longer pending. Requires a beacon that
    ``drand.verify_beacon`` accepted for the draw's round."""
    record = drand.beacon_record(round_, signature, previous)

    def action(log: DrawLog) -> Receipt:
        recorded = any(e.body["source"] == "drand" for e in log.of_type(entries_.RANDOMNESS))
        if recorded or log.row.state != "pending-randomness":
            raise _conflict(f"draw {log.draw_id} needs no beacon")
        body = entries_.randomness_body(log.draw_id, log.commit.index, "drand", record, None)
        return draws_store.append(service, log.draw_id, entries_.RANDOMNESS, body)

    try:
        _claimed(service, draw_id, action)
    except ProblemError:
        return False
    return True


# -- replacing, voiding, publishing ---------------------------------------------------------------


def post_replacement(submission: Submission) -> Response:
    """POST /draws/{draw_id}/replacements: replace a selected object (the requesting department)."""
    _owned(submission)
    given = submission.model(ReplacementIn)
    service, code = submission.service, submission.department.code

    def action(log: DrawLog) -> Receipt:
        _need_state(log, "sealed", "revealed")
        try:
            return lifecycle.replace(service, log, given.object_id, given.reason, code, submission.record())
        except ValueError as exc:
            raise _invalid("body.object_id", str(exc)) from None

    draw_id = submission.request.path_params["draw_id"]
    return _receipt(service, draw_id, _claimed(service, draw_id, action))


def post_void(submission: Submission) -> Response:
    """POST /draws/{draw_id}/void: withdraw a draw before its reveal (the requesting department)."""
    _owned(submission)
    given = submission.model(VoidIn)
    service, code = submission.service, submission.department.code
    reason = text(given.reason, "body.reason", entries_.MAX_DETAIL)

    def action(log: DrawLog) -> Receipt:
        _need_state(log, "pending-randomness", "sealed")
        return lifecycle.void_draw(service, log, "withdrawn", reason, (), code, submission.record())

    draw_id = submission.request.path_params["draw_id"]
    return _receipt(service, draw_id, _claimed(service, draw_id, action))


def post_publish(submission: Submission) -> Response:
    """POST /draws/{draw_id}/publish: reveal a sealed draw now (the requesting department)."""
    _owned(submission)
    submission.model(PublishIn)
    service, code = submission.service, submission.department.code

    def action(log: DrawLog) -> Receipt:
        _need_state(log, "sealed")
        return lifecycle.reveal(service, log, code, submission.record())

    draw_id = submission.request.path_params["draw_id"]
    return _receipt(service, draw_id, _claimed(service, draw_id, action))


# -- reading --------------------------------------------------------------------------------------


async def get_draw(request: Request) -> Response:
    """GET /draws/{draw_id}: a draw's public status. Public. On the event loop when one short query
    and the entries kept in memory answer it (``draws_store.load_kept``), cheaper there than the
    hand-off to a worker thread; otherwise read in one. The encoded status of a kept DrawLog is
    kept with it until the clock alone would change it (:class:`StatusBodies`)."""
    service, draw_id = service_of(request), request.path_params["draw_id"]
    log = draws_store.load_kept(service, draw_id) if entries_.DRAW_ID.fullmatch(draw_id) else None
    if log is None:
        log = await run_in_threadpool(_draw, service, draw_id)
    now, bodies = service.clock(), _status_bodies(service)
    body = bodies.get(log, now)
    if body is None:
        states = lifecycle.source_states(log, now)
        body = bytes(JSONResponse(status_json(service, log, now, states)).body)
        bodies.put(log, now, lifecycle.next_change_ms(log.row, states, now), body)
    return Response(body, media_type="application/json")


class StatusBodies:
    """The encoded statuses of the ``size`` draws read last, each kept with the DrawLog it encodes
    and the span of clock times it holds for; thread-safe, O(1) a call. A status is served again
    only for the very DrawLog object it was made from (``draws_store.load_kept`` gives the same
    one while the draw's tables have not changed) and only within its span."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[str, tuple[DrawLog, int, int | None, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, log: DrawLog, now_ms: int) -> bytes | None:
        """Return the status of ``log`` kept for a span that holds ``now_ms``, or None."""
        with self._lock:
            found = self._kept.get(log.draw_id)
        if found is None or found[0] is not log:
            return None
        _log, since, until, body = found
        return body if since <= now_ms and (until is None or now_ms < until) else None

    def put(self, log: DrawLog, since_ms: int, until_ms: int | None, body: bytes) -> None:
        """Keep ``body``, the status of ``log`` at every time from ``since_ms`` up to (not including)
        ``until_ms`` (None: for good)."""
        with self._lock:
            self._kept[log.draw_id] = (log, since_ms, until_ms, body)
            self._kept.move_to_end(log.draw_id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


STATUS_BODIES = 4096
"""Encoded statuses kept per service (:class:`StatusBodies`)."""


def _status_bodies(service: Service) -> StatusBodies:
    found = service.cache.get("draw status bodies")
    if isinstance(found, StatusBodies):
        return found
    made = StatusBodies(STATUS_BODIES)
    return service.cache.setdefault("draw status bodies", made)  # type: ignore[return-value]


def status_json(
    service: Service,
    log: DrawLog,
    now_ms: int | None = None,
    states: list[lifecycle.SourceState] | None = None,
) -> dict[str, Any]:
    """Return the DrawStatus members of ``log`` at ``now_ms`` (by default the service's clock), with
    ``states`` the sources' states at that time if the caller has them."""
    now = service.clock() if now_ms is None else now_ms
    sources = lifecycle.source_states(log, now) if states is None else states
    record = lifecycle.commitment_record(log)
    seal, reveal, void = (log.first(t) for t in (entries_.SEAL, entries_.REVEAL, entries_.VOID))
    body = log.commit.body
    return {
        "draw_id": log.draw_id,
        "department": log.row.department,
        "task": log.row.task,
        "state": log.row.state,
        "overdue": lifecycle.is_overdue(log.row, now),
        "commit": log.commit.index,
        "committed_ms": log.commit.time_ms,
        "commitment_hash": body["commitment_hash"],
        "disclosure": record.disclosure,
        "embargo": record.embargo,
        "publish": body["publish"],
        "reveal_due_ms": lifecycle.reveal_due_ms(log),
        "inspection_end": body["inspection_end"],
        "strata": [{"stratum": s.rule.stratum, "size": s.size, "k": s.k} for s in record.strata],
        "sources": [_source_json(s) for s in sources],
        "seal": seal.index if seal else None,
        "result_hash": seal.body["result_hash"] if seal else None,
        "reveal": reveal.index if reveal else None,
        "void": _void_json(void) if void else None,
        "replacements": [_replacement_json(e) for e in log.of_type(entries_.REPLACE)],
    }


def _source_json(state: lifecycle.SourceState) -> dict[str, Any]:
    return {
        "name": state.name,
        "state": state.state,
        "deadline": state.deadline,
        "round": state.round,
        "round_time": state.round_time,
        "missing": list(state.missing),
        "entries": list(state.entries),
    }


def _void_json(entry: draws_store.Logged) -> dict[str, Any]:
    body = entry.body
    return {
        "index": entry.index,
        "reason": body["reason"],
        "detail": body["detail"],
        "missing": body["missing"],
    }


def _replacement_json(entry: draws_store.Logged) -> dict[str, Any]:
    body = entry.body
    return {
        "index": entry.index,
        "sequence": body["sequence"],
        "reason": body["reason"],
        "replacement_hash": body["replacement_hash"],
        "record": body["record"],
    }


def get_bundle(request: Request) -> Response:
    """GET /draws/{draw_id}/bundle: the verification bundle (docs/bundle.md). Public."""
    service = service_of(request)
    return JSONResponse(draws_bundle.bundle(service, _draw(service, request.path_params["draw_id"])))


def get_result(request: Request) -> Response:
    """GET /draws/{draw_id}/result: the full result; before the reveal for the requesting department only."""
    caller = require_department(request)
    service = service_of(request)
    log = _draw(service, request.path_params["draw_id"], draws_store.load)
    _may_read_result(caller, log)
    result = bytes(log.row.result)
    content = {
        "draw_id": log.draw_id,
        "state": log.row.state,
        "result_hash": engine.result_hash(result).hex(),
        "result": engine.model.load_json(result),
        "replacements": [engine.model.load_json(r.encoded) for r in lifecycle.replacements(log)],
    }
    return JSONResponse(content)


def _may_read_result(caller: Department, log: DrawLog) -> None:
    if log.row.result is None:
        raise _conflict(f"draw {log.draw_id} is {log.row.state}: it has no result")
    if log.row.state != "revealed" and caller.code != log.row.department:
        owner = log.row.department
        detail = f"the result of draw {log.draw_id} is sealed; only {owner} reads it before the reveal"
        raise ProblemError.field("forbidden", "path.draw_id", detail)


def list_draws(request: Request) -> Response:
    """GET /draws: committed draws by commitment index, optionally of one department or state. Public."""
    service = service_of(request)
    filters, rest = _filters(request)
    config = service.config
    query = page_query(rest, config.page_limit_default, config.page_limit_max, (int,))
    table = draws_store.draws
    columns = (table.c.draw_id, table.c.department, table.c.state, table.c.commit_index, table.c.embargo)
    select = sa.select(*columns, table.c.reveal_due_ms).where(table.c.state != "committing")
    if "department" in filters:
        select = select.where(table.c.department == filters["department"])
    if "state" in filters:
        select = select.where(table.c.state == filters["state"])
    if query.after is not None:
        select = select.where(table.c.commit_index > query.after[0])
    with store.reading(service.engine) as conn:
        rows = conn.execute(select.order_by(table.c.commit_index).limit(query.limit + 1)).all()
    shown, cursor = page(rows, query, lambda r: [r.commit_index])
    now = service.clock()
    items = [_summary(r, now) for r in shown]
    return JSONResponse({"items": items, "next_cursor": cursor})


def _filters(request: Request) -> tuple[dict[str, str], Request]:
    """Return the ``department`` and ``state`` filters, and the request with only the paging parameters."""
    params = request.query_params
    found: dict[str, str] = {}
    for name, valid in (
        ("department", CODE_PATTERN.fullmatch),
        ("state", draws_store.PUBLIC_STATES.__contains__),
    ):
        values = params.getlist(name)
        if len(values) > 1 or (values and not valid(values[0])):
            raise ProblemError.field(
                "malformed-request", f"query.{name}", "given more than once or malformed"
            )
        if values:
            found[name] = values[0]
    rest = urllib.parse.urlencode([(k, v) for k, v in params.multi_items() if k not in found])
    return found, Request({**request.scope, "query_string": rest.encode("ascii")})


def _summary(row: Any, now_ms: int) -> dict[str, Any]:
    return {
        "draw_id": row.draw_id,
        "department": row.department,
        "state": row.state,
        "overdue": lifecycle.is_overdue(row, now_ms),
        "commit": row.commit_index,
        "embargo": row.embargo,
    }


# -- the seam to disclosures ----------------------------------------------------------------------


class _DisclosureTargets:
    """The draws' TargetSource for :mod:`draw.service.disclosures`."""

    def disclosure_target(self, service: Service, draw_id: str, object_id: str, department: str) -> Target:
        """Return the target of ``department``'s disclosure of ``object_id`` in draw ``draw_id``.

        Raises TargetError: ``no-draw``, ``not-owner`` (not a department of the draw), ``not-ready``
        (not revealed), ``not-in-draw`` (not selected now: never drawn, or replaced).
        """
        log = draws_store.load(service, draw_id) if entries_.DRAW_ID.fullmatch(draw_id) else None
        if log is None:
            raise TargetError("no-draw", f"no draw {draw_id}")
        if f" {department} " not in log.row.participants:
            raise TargetError("not-owner", f"department {department} takes no part in draw {draw_id}")
        if log.row.state != "revealed":
            raise TargetError("not-ready", f"draw {draw_id} is {log.row.state}, not revealed")
        if object_id not in {p.obj.id for p in lifecycle.active_picks(log)}:
            raise TargetError("not-in-draw", f"object {object_id} is not selected in draw {draw_id}")
        return Target(draw_id, object_id, department, datetime.date.fromisoformat(log.row.inspection_end))

    def disclosure_targets(self, service: Service, department: str) -> Iterable[Target]:
        """Return every object selected now in a revealed draw of ``department``."""
        table = draws_store.draws
        query = sa.select(table.c.draw_id).where(
            table.c.state == "revealed", table.c.participants.contains(f" {department} ")
        )
        with store.reading(service.engine) as conn:
            ids = list(conn.execute(query.order_by(table.c.commit_index)).scalars())
        for draw_id in ids:
            log = draws_store.load(service, draw_id)
            if log is not None:
                end = datetime.date.fromisoformat(log.row.inspection_end)
                yield from (Target(draw_id, p.obj.id, department, end) for p in lifecycle.active_picks(log))


DISCLOSURE_TARGETS = _DisclosureTargets()


# -- routes ---------------------------------------------------------------------------------------

_DRAW = Parameter(
    "draw_id",
    "path",
    {"type": "string", "pattern": f"^{entries_.DRAW_ID.pattern}$"},
    "draw id",
    required=True,
)
_FILTERS = (
    Parameter(
        "department", "query", {"type": "string", "pattern": f"^{CODE_PATTERN.pattern}$"}, "department"
    ),
    Parameter("state", "query", {"type": "string", "enum": list(draws_store.PUBLIC_STATES)}, "draw state"),
)
_POST_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


def _action(path: str, handler: Any, summary: str, description: str, model: type[pydantic.BaseModel]) -> Any:
    operation = Operation(
        summary, description, ("draws",), DrawReceipt, status=201, request_model=model,
        parameters=(_DRAW,), errors=_POST_ERRORS,
    )  # fmt: skip
    return api_post(path, handler, operation)


def _public(path: str, handler: Any, summary: str, description: str, model: type[pydantic.BaseModel]) -> Any:
    operation = Operation(
        summary, description, ("draws",), model, parameters=(_DRAW,), errors=(404,), authenticated=False
    )
    return api_get(path, handler, operation)


routes = [
    api_post(
        "/departments/{code}/draws",
        post_draw,
        Operation(
            "Request a draw",
            "Checks the request and its feasibility, stores the leaf lists and pools as blobs and appends "
            "the draw.commit entry. Only the department itself, role submit.",
            ("draws",),
            DrawCreated,
            status=201,
            request_model=draws_inputs.DrawIn,
            parameters=(CODE_PARAMETER,),
            errors=_POST_ERRORS,
        ),
    ),
    api_get(
        "/draws",
        list_draws,
        Operation(
            "List draws",
            "Committed draws by commitment index, optionally of one department or in one state. Public.",
            ("draws",),
            DrawPage,
            parameters=(*_FILTERS, *PAGING),
            errors=(400,),
            authenticated=False,
        ),
    ),
    _public("/draws/{draw_id}", get_draw, "A draw's status", "Its state, sources and entries.", DrawStatus),
    _public(
        "/draws/{draw_id}/bundle",
        get_bundle,
        "A draw's verification bundle",
        "Every entry with its inclusion proof, the checkpoint, and the blobs (docs/bundle.md).",
        DrawBundle,
    ),
    api_get(
        "/draws/{draw_id}/result",
        get_result,
        Operation(
            "A draw's full result",
            "The result and replacement records: before the reveal for the requesting department only, "
            "after it for every department.",
            ("draws",),
            DrawResultOut,
            parameters=(_DRAW,),
            errors=(401, 403, 404, 409),
        ),
    ),
    _action(
        "/draws/{draw_id}/beacon",
        post_beacon,
        "Post the drand beacon",
        "Records the draw's drand round (self-authenticating; any department with role submit).",
        BeaconIn,
    ),
    _action(
        "/draws/{draw_id}/ceremony",
        post_reveal,
        "Post a ceremony reveal",
        "Records a participant's reveal, which must open the declared commitment (any submit department).",
        RevealIn,
    ),
    _action(
        "/draws/{draw_id}/lottery",
        post_numbers,
        "Record the lottery numbers",
        "Records the announced numbers of every declared public draw (the requesting department).",
        NumbersIn,
    ),
    _action(
        "/draws/{draw_id}/replacements",
        post_replacement,
        "Replace a selected object",
        "Appends a draw.replace entry; the next object of the stratum's ticket order takes its place.",
        ReplacementIn,
    ),
    _action(
        "/draws/{draw_id}/void",
        post_void,
        "Withdraw a draw",
        "Appends a draw.void entry with reason withdrawn (before the reveal; the requesting department).",
        VoidIn,
    ),
    _action(
        "/draws/{draw_id}/publish",
        post_publish,
        "Publish a sealed draw now",
        "Appends the draw.reveal entry before the embargo date (the requesting department).",
        PublishIn,
    ),
]

ENTRY_TYPES = entries_.ENTRY_TYPES

__all__ = ["DISCLOSURE_TARGETS", "ENTRY_TYPES", "record_beacon", "routes", "status_json"]
