"""Staffing intents: a structured need, two ways of asking for it, and its exact answer set.

An ``Intent`` is a role plus constraints the embedding alone captures poorly (state,
certification, shift, availability). Its relevant set is computed from the roster rows by
``Intent.matches`` (a predicate over the generated profiles, never hand-picked ids). Each
intent has two phrasings of the same need, worded the way two different recruiters would
ask: one like a requisition form, one like a chat message, with other words for the role,
the certification, the shift and the state.

``make_intents`` draws the constraints from the roster itself (the role vocabulary of
``roles.py``, the states and shifts present), keeping only combinations that at least
``min_relevant`` rows satisfy. It is deterministic for a given roster.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lakehouse.staffing.roles import CITIES, ROLES, SHIFTS

# role title -> how the second recruiter says it
ROLE_ALIASES = {
    "Forklift Operator": "forklift driver",
    "Warehouse Associate": "warehouse worker",
    "Certified Nursing Assistant": "CNA",
    "Registered Nurse": "RN",
    "Medical Assistant": "clinic MA",
    "Line Cook": "kitchen cook",
    "Dishwasher": "dish room worker",
    "Server": "waiter",
    "Bartender": "mixologist",
    "Housekeeper": "hotel room attendant",
    "Janitor": "custodian",
    "Security Guard": "security officer",
    "Electrician": "electrical tradesperson",
    "Welder": "welder-fabricator",
    "CDL Truck Driver": "tractor-trailer driver",
    "Delivery Driver": "courier",
    "Customer Service Representative": "call center agent",
    "Data Entry Clerk": "data entry keyer",
    "Receptionist": "front desk coordinator",
    "Machine Operator": "CNC operator",
    "Assembly Line Worker": "assembler",
    "HVAC Technician": "HVAC tech",
    "Carpenter": "carpentry worker",
    "Landscaper": "groundskeeper",
}
# certification -> how the second recruiter says it
CERT_ALIASES = {
    "OSHA Forklift Certification": "a forklift cert",
    "OSHA 10": "the 10-hour OSHA card",
    "CNA License": "an active nurse aide certificate",
    "CPR/BLS": "current BLS",
    "RN License": "an active nursing license",
    "ACLS": "advanced cardiac life support",
    "CCMA": "a clinical MA certification",
    "ServSafe Food Handler": "a food safety card",
    "ServSafe Alcohol": "alcohol server training",
    "Food Handler Card": "a food handler permit",
    "TIPS Certification": "TIPS training",
    "Hospitality Housekeeping Certificate": "a housekeeping certificate",
    "Custodial Technician Certificate": "custodial training",
    "Guard Card": "a security license",
    "First Aid": "first aid training",
    "Journeyman Electrician License": "a journeyman card",
    "OSHA 30": "the 30-hour OSHA card",
    "AWS Certified Welder": "AWS weld certs",
    "CDL Class A": "a class A license",
    "HAZMAT Endorsement": "the hazmat endorsement",
    "Clean Driving Record": "a clean MVR",
    "DOT Medical Card": "a DOT physical",
    "Customer Service Certification": "customer service training",
    "Microsoft Office Specialist": "MOS certification",
    "Six Sigma Yellow Belt": "a Six Sigma yellow belt",
    "EPA 608 Certification": "EPA 608",
    "Pesticide Applicator License": "a pesticide license",
}
# shift -> (requisition wording, chat wording)
SHIFT_WORDS = {
    "day": ("day shift", "daytime hours"),
    "evening": ("evening shift", "second shift"),
    "night": ("night shift", "overnights"),
    "weekend": ("weekend shifts", "Saturdays and Sundays"),
    "rotating": ("rotating shifts", "a rotating schedule"),
}
STATE_NAMES = {
    "TX": "Texas", "IL": "Illinois", "CA": "California", "AZ": "Arizona", "GA": "Georgia",
    "FL": "Florida", "OH": "Ohio", "NJ": "New Jersey", "WA": "Washington", "CO": "Colorado",
    "NC": "North Carolina", "TN": "Tennessee", "MI": "Michigan",
}  # fmt: skip


@dataclass(frozen=True)
class Intent:
    """One staffing need; ``None`` leaves a constraint out."""

    key: str
    role: str
    state: str | None = None
    cert: str | None = None
    shift: str | None = None
    available: bool | None = None
    phrasings: tuple[str, str] = ("", "")

    def matches(self, row: dict[str, Any]) -> bool:
        """Whether a roster row satisfies every constraint of the intent."""
        certs = str(row.get("certifications") or "").split(";")
        return (
            row["role"] == self.role
            and (self.state is None or row["state"] == self.state)
            and (self.cert is None or self.cert in certs)
            and (self.shift is None or row["shift"] == self.shift)
            and (self.available is None or bool(row["available"]) == self.available)
        )

    def constraints(self) -> dict[str, Any]:
        keys = ("role", "state", "cert", "shift", "available")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


def relevant(intent: Intent, rows: Iterable[dict[str, Any]], id_column: str = "worker_id") -> set:
    """The ids of the rows that satisfy ``intent`` (the exact relevant set)."""
    return {str(r[id_column]) for r in rows if intent.matches(r)}


def phrase(role: str, state: str | None, cert: str | None, shift: str | None,
           available: bool | None, style: int) -> tuple[str, str]:  # fmt: skip
    """The two phrasings of one need; ``style`` picks one of three sentence shapes."""
    state_a = STATE_NAMES[state] if state else ""
    shift_a, shift_b = SHIFT_WORDS[shift] if shift else ("", "")
    cert_b = CERT_ALIASES[cert] if cert else ""
    alias = ROLE_ALIASES[role]
    if style == 0:
        a = _join(role, f"in {state_a}" if state else "", shift_a, cert or "",
                  "available now" if available else "", sep=", ")  # fmt: skip
        b = _join(f"need {_a(alias)}", f"in {state}" if state else "",
                  f"for {shift_b}" if shift else "", f"must have {cert_b}" if cert else "",
                  "able to start right away" if available else "", sep=" ")  # fmt: skip
    elif style == 1:
        a = _join(_join(role, f"for {shift_a}" if shift else "", f"in {state_a}" if state else "",
                        sep=" "),
                  f"{cert} required" if cert else "", "available immediately" if available else "",
                  sep=" - ")  # fmt: skip
        can = _join(f"hold {cert_b}" if cert else "", f"can work {shift_b}" if shift else "",
                    "are free to start this week" if available else "", sep=" and ")  # fmt: skip
        b = _join(f"looking for {alias}s", f"around {state}" if state else "",
                  f"who {can}" if can else "", sep=" ")  # fmt: skip
    else:
        a = _join(f"{role} position", state_a, f"{shift_a} schedule" if shift else "",
                  f"requires {cert}" if cert else "", "immediate start" if available else "",
                  sep="; ")  # fmt: skip
        b = _join(f"who do we have for {_a(alias)} job", f"in {state}" if state else "",
                  f"doing {shift_b}" if shift else "", f"with {cert_b}" if cert else "",
                  "that could start now" if available else "", sep=" ")  # fmt: skip
    return a, b


def _join(*parts: str, sep: str) -> str:
    return sep.join(p for p in parts if p)


def _a(noun: str) -> str:
    vowel = noun[0].lower() in "aeiou" or noun.split()[0] in {"RN", "HVAC", "MA"}
    return f"{'an' if vowel else 'a'} {noun}"


# which constraints an intent names besides role and state, in turn
SHAPES = (("cert", "shift", "available"), ("cert", "shift"), ("cert", "available"),
          ("shift", "available"))  # fmt: skip


def make_intents(
    rows: Sequence[dict[str, Any]], per_role: int = 2, min_relevant: int = 5, seed: int = 11
) -> list[Intent]:
    """``per_role`` intents for each role, each in a different state, from the roster ``rows``.

    Every intent names a role and a state plus the constraints of its shape (``SHAPES``, in
    turn); values are drawn at random (seeded) and a draft is kept only if at least
    ``min_relevant`` rows satisfy it. The sentence shape of the phrasings rotates too.
    """
    rng = random.Random(seed)
    states = sorted({st for _, st in CITIES})
    out: list[Intent] = []
    for n, role in enumerate(ROLES):
        of_role = [r for r in rows if r["role"] == role.title]
        taken: list[str] = []
        for j in range(per_role):
            turn = n * per_role + j
            for shape in SHAPES[turn % len(SHAPES) :] + SHAPES[: turn % len(SHAPES)]:
                draft = _draw(rng, role.title, states, role.certs, shape, of_role, taken,
                              min_relevant)  # fmt: skip
                if draft is not None:
                    break
            if draft is None:
                continue
            taken.append(draft[0])
            key = f"{_slug(role.title)}-{draft[0]}-{'-'.join(shape)}"
            out.append(Intent(key, role.title, *draft, phrase(role.title, *draft, turn % 3)))
    return out


def _draw(rng: random.Random, role: str, states: list[str], certs: Sequence[str],
          shape: tuple[str, ...], rows: list[dict], taken: list[str],
          min_relevant: int) -> tuple | None:  # fmt: skip
    """A random (state, cert, shift, available) of this shape with enough matching rows."""
    combos = list(itertools.product(
        [s for s in states if s not in taken],
        list(certs) if "cert" in shape else [None],
        SHIFTS if "shift" in shape else [None],
        [True] if "available" in shape else [None],
    ))  # fmt: skip
    rng.shuffle(combos)
    for combo in combos:
        if sum(Intent("", role, *combo).matches(r) for r in rows) >= min_relevant:
            return combo
    return None


def _slug(title: str) -> str:
    return "-".join(title.lower().split())
