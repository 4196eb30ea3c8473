"""The iterate loop: prompt -> chat -> extract_json -> validate -> feed errors back.

Every session, however it ends, is appended to the session log before ``run`` returns
or raises, so the log is a complete record of what models were asked and answered.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lakehouse.chat.base import ChatProvider
from lakehouse.errors import InvalidInput, LakehouseError, Unavailable
from lakehouse.extract import extract_json
from lakehouse.guard.payloads import KINDS
from lakehouse.guard.validator import Validator
from lakehouse.guard.violations import Verdict, schema
from lakehouse.iterate.log import SCHEMA, SessionLog
from lakehouse.iterate.prompts import feedback_prompt, system_prompt
from lakehouse.iterate.records import Attempt, IterateRequest, IterateResult

# Model output is logged whole up to this size; a runaway reply is cut, and flagged so.
MAX_LOGGED_CHARS = 100_000


class IterateLoop:
    """Asks a model for a payload until the validator accepts it or attempts run out.

    Args:
        chat: the provider to ask (a ``ChatRouter``, or a scripted provider in tests).
        validator: judges each proposal; its roster grounds fills.
        log: where each session is appended.
        new_id: makes session and trace ids (tests pass a counter).
    """

    def __init__(
        self,
        chat: ChatProvider,
        validator: Validator,
        log: SessionLog,
        *,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.chat, self.validator, self.log, self._new_id = chat, validator, log, new_id

    def run(self, request: IterateRequest, trace_id: str | None = None) -> IterateResult:
        """One session; the model's failures to comply are a result, not an error.

        Raises:
            InvalidInput: an unknown kind.
            Unavailable: a fill with no roster loaded (checked before the model is asked).
            BadGateway, Unavailable, GatewayTimeout, NotFound: the provider failed. Then,
                as for any other failure, the session is logged first (status
                ``provider_error`` or ``error``) and a domain error's details carry
                ``session_id``.
        """
        self._check(request)
        session = _Session(self._new_id(), trace_id or self._new_id(), request)
        try:
            status, verdict, payload = self._iterate(session)
        except Exception as err:
            failed = session.attempts and session.attempts[-1].status == "provider_error"
            self._write(session, "provider_error" if failed else "error", _ungrounded(session))
            if isinstance(err, LakehouseError):
                details = {**err.details, "session_id": session.id}
                raise type(err)(err.message, **details) from err
            raise
        return self._finish(session, status, verdict, payload)

    def _iterate(self, session: _Session) -> tuple[str, Verdict, dict[str, Any] | None]:
        req = session.request
        messages = [
            {"role": "system", "content": system_prompt(req.kind, req.pinned, req.system)},
            {"role": "user", "content": req.prompt},
        ]
        for _ in range(req.max_iter):
            verdict, payload = self._attempt(session, messages)
            if verdict.valid:
                return "accepted", verdict, payload
            messages.append({"role": "user", "content": feedback_prompt(session.last_errors)})
        return "exhausted", verdict, None

    def _check(self, request: IterateRequest) -> None:
        if request.kind not in KINDS:
            raise InvalidInput(f"unknown kind {request.kind!r}; expected one of {list(KINDS)}")
        if request.kind == "fill" and self.validator.roster is None:
            raise Unavailable("no worker roster is loaded; ingest the workers dataset")

    def _attempt(
        self, session: _Session, messages: list[dict[str, str]]
    ) -> tuple[Verdict, dict[str, Any] | None]:
        n, prompt = len(session.attempts) + 1, messages[-1]["content"]
        try:
            answer = self.chat.chat(session.request.model, messages)
        except LakehouseError as err:
            session.attempts.append(Attempt(n, prompt, None, "provider_error", [err.to_dict()]))
            raise
        # cut a runaway reply so the next turn stays within the chat request bounds
        messages.append({"role": "assistant", "content": answer.text[:MAX_LOGGED_CHARS]})
        verdict, payload, status = self._judge(session.request, answer.text)
        errors = [e.to_dict() for e in verdict.errors]
        raw, cut = answer.text[:MAX_LOGGED_CHARS], len(answer.text) > MAX_LOGGED_CHARS
        session.attempts.append(
            Attempt(n, prompt, raw, status, errors, answer.provider, answer.latency_ms, cut)
        )
        return verdict, payload

    def _judge(
        self, request: IterateRequest, raw: str
    ) -> tuple[Verdict, dict[str, Any] | None, str]:
        try:
            proposal = extract_json(raw)
        except LakehouseError as err:
            return Verdict(request.kind, (schema("$", err.message),)), None, "unparseable"
        payload = {**proposal, **request.pinned}
        verdict = self.validator.validate(request.kind, payload)
        return verdict, payload, "accepted" if verdict.valid else "rejected"

    def _finish(
        self, session: _Session, status: str, verdict: Verdict, payload: dict[str, Any] | None
    ) -> IterateResult:
        grounded = verdict.grounded_in_roster if status == "accepted" else _ungrounded(session)
        self._write(session, status, grounded)
        errors = [e.to_dict() for e in verdict.errors]
        return IterateResult(
            session_id=session.id,
            trace_id=session.trace_id,
            model=session.request.model,
            kind=session.request.kind,
            status=status,  # type: ignore[arg-type]
            attempts=len(session.attempts),
            payload=payload,
            errors=errors,
            reason=None if status == "accepted" else _reason(session, errors),
            grounded_in_roster=grounded,
        )

    def _write(self, session: _Session, status: str, grounded: bool | None) -> None:
        self.log.append(session.record(status, grounded))


class _Session:
    def __init__(self, session_id: str, trace_id: str, request: IterateRequest) -> None:
        self.id, self.trace_id, self.request = session_id, trace_id, request
        self.attempts: list[Attempt] = []
        self.started = time.time()

    @property
    def last_errors(self) -> list[dict[str, Any]]:
        return self.attempts[-1].errors if self.attempts else []

    def record(self, status: str, grounded: bool | None) -> dict[str, Any]:
        req = self.request
        return {
            "schema": SCHEMA,
            "session_id": self.id,
            "trace_id": self.trace_id,
            "started_at": _iso(self.started),
            "finished_at": _iso(time.time()),
            "model": req.model,
            "kind": req.kind,
            "max_iter": req.max_iter,
            "pinned": req.pinned,
            "system": system_prompt(req.kind, req.pinned, req.system),
            "attempts": [a.to_dict() for a in self.attempts],
            "status": status,
            "accepted": status == "accepted",
            "grounded_in_roster": grounded,
        }


def _ungrounded(session: _Session) -> bool | None:
    # Nothing accepted means nothing was grounded; kinds without worker ids stay None.
    return False if session.request.kind == "fill" else None


def _reason(session: _Session, errors: list[dict[str, Any]]) -> str:
    n = len(session.attempts)
    if not errors:
        return f"not accepted after {n} attempts"
    (category, body), *_ = errors[0].items()
    return f"not accepted after {n} attempts; last: {category}: {body.get('reason', '')}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
