"""What every API route shares: keys and scopes, JSON bodies, errors, cursors, idempotency.

- Every route of ``bp`` needs a key (``Authorization: Bearer mk_…``) except the ones marked
  ``@public``. Reads need the ``read`` scope unless a route declares another with ``@scope``;
  any other method must declare its scope, so a new route cannot forget it (it answers 403).
- Errors always look like ``{"error": {"code", "message", "details"}}``.
- ``json_body("Name")`` parses the body and checks it against ``components.schemas.Name`` of
  the OpenAPI document: unknown fields are refused there (``additionalProperties: false``),
  and every problem is listed with its JSON path; a schema's ``x-invalid`` maps a keyword
  (``not``, ``anyOf``, ``pattern``) to the message a client reads instead of jsonschema's.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy.exc import IntegrityError

from mailer.api.spec import document, validator_for
from mailer.extensions import db
from mailer.lib.errors import NotAllowed, ValidationError
from mailer.models import ApiIdempotency
from mailer.services import api_keys

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.record_once
def _read_openapi(_state) -> None:
    """Parse the OpenAPI files when the app is built: in a fresh web worker's first requests,
    every thread would parse them at once."""
    document()


class _UnsavedSession(SecureCookieSession):
    """Empty, writable, never saved: what an API call made with a key gets."""


class _KeySessions(SecureCookieSessionInterface):
    """The cookie session, except for API calls made with a key and no cookie (what clients
    send): they get an empty session that is never saved, so nothing is decoded, saved or
    varied on (no ``Vary: Cookie``). It takes writes (Flask's null session raises on them), so
    a public page under the prefix, such as /docs rendering a CSRF token, still works.
    Pages, and API pages opened in a browser, keep the usual session."""

    def open_session(self, app: Flask, request):  # type: ignore[override]
        if (
            "HTTP_COOKIE" not in request.environ
            and "HTTP_AUTHORIZATION" in request.environ
            and request.path.startswith(_PREFIX)
        ):
            return _UnsavedSession()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:  # type: ignore[override]
        if not isinstance(session, _UnsavedSession):
            super().save_session(app, session, response)


_PREFIX = f"{bp.url_prefix}/"


@bp.record_once
def _key_sessions(state) -> None:
    state.app.session_interface = _KeySessions()


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PAGE = 50
MAX_PAGE = 200


class ApiError(Exception):
    """An answer other than success, with a stable machine-readable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No {what} with this id.")


def get_or_404(model: type, ident: int, what: str):
    """The row of ``model`` with this primary key, or a JSON 404 naming ``what``."""
    row = db.session.get(model, ident)
    if row is None:
        raise not_found(what)
    return row


def error_response(error: ApiError) -> Response:
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def field_errors(errors: list[dict[str, str]], message: str | None = None) -> ApiError:
    count = len(errors)
    return ApiError(
        422,
        "validation_failed",
        message or f"The request has {count} invalid field{'s' if count != 1 else ''}.",
        {"fields": errors},
    )


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return error_response(error)


@bp.errorhandler(ValidationError)
def _validation_error(error: ValidationError):
    """A service's field -> message errors, as JSON paths under the request body."""
    fields = [{"path": to_path(name), "message": message} for name, message in error.errors.items()]
    if error.conflicts and error.errors.keys() <= error.conflicts:
        taken = "This value is" if len(fields) == 1 else "These values are"
        return error_response(
            ApiError(409, "already_exists", f"{taken} already taken.", {"fields": fields})
        )
    return error_response(field_errors(fields))


@bp.errorhandler(NotAllowed)
def _not_allowed(error: NotAllowed):
    return error_response(ApiError(409, "conflict", str(error)))


def to_path(name: str) -> str:
    """A service field name ("subject", "segments[0].list") as a JSON path ("$.subject")."""
    if not name:
        return "$"
    return "$" + ("" if name.startswith("[") else ".") + name


# --- keys and scopes -------------------------------------------------------------------------


def scope(*names: str) -> Callable:
    """The scopes a route accepts, any one of them (reads default to ``read``)."""
    unknown = set(names) - api_keys.SCOPES.keys()
    if unknown or not names:
        raise ValueError(f"unknown scopes {unknown!r}")

    def decorator(view: Callable) -> Callable:
        view.api_scopes = names  # type: ignore[attr-defined]
        return view

    return decorator


def public(view: Callable) -> Callable:
    view.api_public = True  # type: ignore[attr-defined]
    return view


@bp.before_request
def _authenticate():
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "api_public", False):
        return None
    access = api_keys.check_request(_token_from_header())
    key = access.key
    if key is None:
        raise ApiError(401, "unauthorized", "This API key is unknown or revoked.", None, _CHALLENGE)
    g.api_key = key
    g.api_access = access
    needed = getattr(view, "api_scopes", None) or (
        ("read",) if request.method in READ_METHODS else ()
    )
    if not any(key.allows(name) for name in needed):
        wanted = " or ".join(f"'{name}'" for name in needed) or "a"
        raise ApiError(403, "forbidden", f"This API key lacks the {wanted} scope.")
    if access.retry_after is not None:
        wait = round(access.retry_after)
        raise ApiError(
            429,
            "rate_limited",
            "Too many requests for this API key; slow down.",
            {"retry_after": wait},
            {"Retry-After": str(wait)},
        )
    return None


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mailer"'}


@bp.before_app_request
def _count_unrouted() -> None:
    """A request with a key to an API path or method that does not exist (no blueprint runs
    for it) still counts against the key's limit and gets its rate headers; its answer stays
    the 404 or 405."""
    if request.blueprint is not None or not request.path.startswith(_PREFIX):
        return
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() == "bearer" and token.strip():
        access = api_keys.check_request(token.strip())
        if access.key is not None:
            g.api_access = access


@bp.after_app_request
def _rate_limit_headers(response: Response) -> Response:
    """The key's limit, what is left of it and when it resets, on every answer to a request
    with a known key (errors and 429 included; spec.py documents them on every operation)."""
    access = g.get("api_access")
    if access is not None:
        response.headers["RateLimit-Limit"] = str(access.limit)
        response.headers["RateLimit-Remaining"] = str(access.remaining)
        response.headers["RateLimit-Reset"] = str(max(1, math.ceil(access.reset)))
    return response


def _token_from_header() -> str:
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "Send your API key as 'Authorization: Bearer KEY'.",
            None,
            _CHALLENGE,
        )
    return token.strip()


# --- bodies -----------------------------------------------------------------------------------


def json_body(schema: str | Callable[[Any], str], max_bytes: int | None = None) -> Any:
    """The request's JSON body, checked against the named OpenAPI schema (or the one a
    function of the parsed body names, for a body of several shapes), at most ``max_bytes``
    (default MAILER_API_MAX_BODY_BYTES)."""
    request.max_content_length = max_bytes or current_app.config["MAILER_API_MAX_BODY_BYTES"]
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send a JSON body (application/json).")
    raw = request.get_data(cache=True)  # raises 413 past the limit
    try:
        body = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", f"The body is not UTF-8: {exc.reason}.") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_json",
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
        ) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "The body's JSON is nested too deeply.") from None
    if callable(schema):
        schema = schema(body)
    check = _PLAINLY_VALID.get(schema)
    if check is not None and check(body):
        return body
    errors = sorted(validator_for(schema).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        raise field_errors([problem for e in errors for problem in _schema_errors(e)])
    return body


_PLAINLY_VALID: dict[str, Callable[[Any], bool]] = {}


def plainly_valid(schema: str) -> Callable:
    """Register a quick check for the commonest bodies of a hot route: True only for bodies
    the schema accepts (a test holds it to that), so they skip the full validation; anything
    else is validated in full, and the errors are the schema's own."""

    def decorator(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
        _PLAINLY_VALID[schema] = check
        return check

    return decorator


def _schema_errors(error) -> list[dict[str, str]]:
    """One schema error as the problems a client fixes: each unknown field, each missing
    one, at its own path. A failed oneOf/anyOf whose alternatives name required fields (a
    message or a batch) reports the problems of the one alternative the body has the
    required fields of."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        chosen = _chosen_alternative(error)
        if chosen:
            return [problem for e in chosen for problem in _schema_errors(e)]
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return [{"path": f"{path}.{name}", "message": "Unknown field."} for name in extra]
    if error.validator == "maxItems":  # jsonschema's message would repeat every item
        name = error.absolute_path[-1] if error.absolute_path else None
        noun = name if isinstance(name, str) and len(error.absolute_path) == 1 else "items"
        per = " per request" if noun != "items" else ""
        return [{"path": path, "message": f"At most {error.validator_value} {noun}{per}."}]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return [
            {"path": f"{path}.{missing}" if missing else path, "message": "This field is required."}
        ]
    custom = error.schema.get("x-invalid", {}) if isinstance(error.schema, dict) else {}
    message = custom.get(error.validator, error.message)
    if "propertyNames" in error.absolute_schema_path:  # a refused name: its own path
        path, message = f"{path}.{error.instance}", message.replace("%(name)s", error.instance)
    return [{"path": path, "message": message}]


_OWN_REQUIRED = (["required"], ["$ref", "required"])  # the alternative's own required list


def _chosen_alternative(error) -> list:
    """The errors of the only alternative without a missing required field at the top."""
    branches = _branches(error)
    complete = [
        errors
        for errors in branches
        if not any(list(e.relative_schema_path)[1:] in _OWN_REQUIRED for e in errors)
    ]
    if len(complete) == 1:
        return complete[0]
    # Otherwise the first alternative of the value's own type (an address as text or as an
    # object): its problems are the ones to fix.
    typed = [errors for errors in branches if not _wrong_type(errors)]
    return typed[0] if typed and len(complete) == len(branches) else []


def _wrong_type(errors) -> bool:
    """Whether these errors say the value is not of the alternative's type (whatever else
    they say: other keywords of that alternative do not apply to such a value)."""
    return any(e.validator == "type" for e in errors) or all(
        e.validator in ("anyOf", "oneOf") and e.context and all(map(_wrong_type, _branches(e)))
        for e in errors
    )


def _branches(error) -> list[list]:
    """The errors of each alternative of a failed oneOf/anyOf."""
    by_branch: dict[int, list] = {}
    for sub in error.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    return [errors for _, errors in sorted(by_branch.items())]


# --- lists ------------------------------------------------------------------------------------


@functools.cache
def _cursor_shape() -> re.Pattern[str]:
    """The pattern of ``components.parameters.Cursor``: the document says what is accepted."""
    schema = document()["components"]["parameters"]["Cursor"]["schema"]
    return re.compile(schema["pattern"])


def page_args() -> tuple[int, int | None]:
    """(limit, after_id) from ``?limit=&cursor=``. A cursor is opaque to clients: the id of
    the last row shown, as 8 bytes big-endian in unpadded base64url (11 characters), so any
    string of the documented shape names an id from 0 to 2**63 - 1 and none overflows."""
    raw = request.args.get("limit", str(DEFAULT_PAGE))
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else -1
    if not 1 <= limit <= MAX_PAGE:
        raise field_errors(
            [{"path": "limit", "message": f"A number from 1 to {MAX_PAGE}."}],
            "Invalid query parameter.",
        )
    cursor = request.args.get("cursor")
    if cursor is None:
        return limit, None
    if not _cursor_shape().fullmatch(cursor):
        raise field_errors(
            [{"path": "cursor", "message": "Not a cursor from a previous page."}],
            "Invalid query parameter.",
        )
    if not cursor:  # `?cursor=` with an empty value: the first page
        return limit, None
    return limit, int.from_bytes(base64.urlsafe_b64decode(cursor + "="), "big")


def paginate(stmt: sa.Select, id_column, serialize: Callable[[Any], dict]) -> dict:
    """One page of ``stmt`` newest first, with the cursor of the next page (or null)."""
    limit, after = page_args()
    if after is not None:
        stmt = stmt.where(id_column < after)
    rows = list(db.session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1].id.to_bytes(8, "big")
        next_cursor = base64.urlsafe_b64encode(last).decode().rstrip("=")
    return {"data": [serialize(r) for r in rows], "next_cursor": next_cursor}


# --- idempotency ------------------------------------------------------------------------------


def idempotent(view: Callable) -> Callable:
    """Replay the first answer to a request repeated with the same ``Idempotency-Key``.

    The key is claimed (a row, unique per API key) before the work starts, so two requests
    racing with one key never both run; the loser is told to retry, and every later repeat
    gets the stored answer. A different request reusing a key is refused. A request that
    fails with an error releases its key so it can be retried.
    """

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        name = request.headers.get("Idempotency-Key")
        if name is None:
            return view(*args, **kwargs)
        if not 1 <= len(name) <= 255:
            raise ApiError(400, "invalid_idempotency_key", "Use 1 to 255 characters.")
        digest = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), request.get_data()])
        ).hexdigest()
        record = _claim_key(g.api_key.id, name, digest)
        try:
            body, status = _unpack(view(*args, **kwargs))
        except BaseException:
            db.session.rollback()
            db.session.execute(sa.delete(ApiIdempotency).where(ApiIdempotency.id == record))
            db.session.commit()
            raise
        db.session.execute(
            sa.update(ApiIdempotency)
            .where(ApiIdempotency.id == record)
            .values(status_code=status, response=body)
        )
        db.session.commit()
        return body, status

    return wrapped


def _claim_key(key_id: int, name: str, digest: str) -> int:
    record = ApiIdempotency(
        api_key_id=key_id, key=name, request_hash=digest, status_code=0, response={}
    )
    db.session.add(record)
    try:
        db.session.commit()
        return record.id
    except IntegrityError:
        db.session.rollback()
    first = db.session.scalar(
        sa.select(ApiIdempotency).where(
            ApiIdempotency.api_key_id == key_id, ApiIdempotency.key == name
        )
    )
    if first is None:  # released by a failed first request meanwhile
        raise ApiError(409, "idempotency_conflict", "Retry: the first request just failed.")
    if first.request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
        )
    if first.status_code == 0:
        raise ApiError(
            409,
            "idempotency_in_progress",
            "A request with this Idempotency-Key is still running; retry shortly.",
            None,
            {"Retry-After": "1"},
        )
    raise _Replay(first.response, first.status_code)


class _Replay(Exception):
    def __init__(self, body: Any, status: int):
        self.body = body
        self.status = status


@bp.errorhandler(_Replay)
def _replay(replay: _Replay):
    response = jsonify(replay.body)
    response.status_code = replay.status
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _unpack(rv: Any) -> tuple[Any, int]:
    if isinstance(rv, tuple):
        return rv[0], rv[1]
    return rv, 200
