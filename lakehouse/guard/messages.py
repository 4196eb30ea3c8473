"""Email and SMS validators: addresses, required text, and what must never be sent."""

from __future__ import annotations

import re

from lakehouse.guard.payloads import EmailPayload, SmsPayload
from lakehouse.guard.violations import Violation, completeness, policy, schema

SMS_MAX_CHARS = 160

# 123-45-6789, 123 45 6789, 123.45.6789 (one separator throughout) or nine bare digits.
# A phone number never matches: its groups are 3-3-4 and its digit run is 10 or more.
_SSN = re.compile(r"(?<![\d-])\d{3}([-. ])\d{2}\1\d{4}(?![\d-])|(?<![\d+])\d{9}(?!\d)")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
_PHONE_FORMATTING = re.compile(r"[\s().-]")
_PHONE = re.compile(r"^\+?\d{10,15}$")
# Template slots a model forgot to fill: {{name}}, [Insert date], [Worker Name] ...
_PLACEHOLDER = re.compile(
    r"\{\{[^{}]*\}\}|\[(?:insert|your|worker|candidate|recipient|client|company|name|date|time)"
    r"\b[^\]]*\]",
    re.IGNORECASE,
)


def check_email(email: EmailPayload) -> list[Violation]:
    """Violations of a schema-valid email."""
    errors: list[Violation] = []
    if not _EMAIL.match(email.to):
        errors.append(schema("to", f"{email.to!r} is not an email address"))
    if "\r" in email.subject or "\n" in email.subject:
        errors.append(policy("the subject contains a line break (header injection)"))
    errors.extend(_text_errors("subject", email.subject))
    errors.extend(_text_errors("body", email.body))
    return errors


def check_sms(sms: SmsPayload) -> list[Violation]:
    """Violations of a schema-valid SMS."""
    errors: list[Violation] = []
    if not _PHONE.match(_PHONE_FORMATTING.sub("", sms.to)):
        errors.append(schema("to", f"{sms.to!r} is not a phone number"))
    if len(sms.body) > SMS_MAX_CHARS:
        errors.append(
            policy(f"the SMS body is {len(sms.body)} characters; at most {SMS_MAX_CHARS}")
        )
    errors.extend(_text_errors("body", sms.body))
    return errors


def _text_errors(name: str, text: str) -> list[Violation]:
    if not text.strip():
        return [completeness(f"the {name} is blank")]
    errors = []
    if _SSN.search(text):
        errors.append(policy(f"the {name} contains an SSN-like number"))
    slot = _PLACEHOLDER.search(text)
    if slot:
        errors.append(completeness(f"the {name} has an unfilled placeholder {slot.group(0)!r}"))
    return errors


def contains_ssn(text: str) -> bool:
    """True when ``text`` holds something shaped like a US Social Security number."""
    return _SSN.search(text) is not None
