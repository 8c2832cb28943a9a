"""Reading a deliberating agent's reply: JSON when the model followed the format, the
ways chat models state a choice in prose when it did not, and refusal of the ambiguous.

Replies are asked for as ``{"answer", "confidence", "message"}``; many models answer in
prose anyway. :func:`parse_reply` accepts, in order:

1. a JSON object anywhere in the text (code fences and prose around it are ignored)
   with an ``answer`` (or ``final_answer``/``choice``) field;
2. prose: a reply that is nothing but an option ("B.", "**C**"), or every *statement
   of a choice* in the text — "The answer is (B)",
   "**Answer: B**", "My final answer: B.", "I'll go with C", "I choose option B",
   "\\boxed{B}", "Option C is correct" — each read as one option (a letter with or
   without brackets or markdown, a number, or the option's own text). Statements of a
   *final* answer win over the others. All of them must name the same option: "B or C",
   "between A and B", or "the answer is A … I'll go with C" are **ambiguous** and refused,
   as is a reply stating none;
3. a confidence stated as 0–1 (``0.85``), a percentage (``85%``, ``85 percent``,
   ``85% confident``), a bare number above 1 (read as a percentage) or ``8/10``; words
   such as "high" are not numbers, so the confidence is then unknown (``None``).

A reply that yields no option raises :class:`~llmteams_lab.errors.MalformedOutputError`
(fault ``malformed``), naming what was found. ``tests/workloads/deliberation/replies.json``
is the corpus of chat-model replies (accepted and refused) this is tested on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from llmteams_lab.errors import MalformedOutputError

__all__ = ["ReplyFields", "json_object", "match_option", "parse_reply"]


@dataclass(frozen=True)
class ReplyFields:
    """A parsed reply: the matched option, confidence in [0, 1] (or ``None``), message."""

    answer: str
    confidence: float | None
    message: str


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_LETTER = re.compile(r"^\(?\[?([A-Za-z])\]?\)?(?:[.):,;!\s]|$)")
_SPLIT = re.compile(r"(?i)\s*(?:\bor\b|\band\b|/|\bvs\.?\b|\bversus\b)\s*")
_NEGATED = re.compile(r"(?i)^(?:not|n't|neither|no)\b")
# where the statement of a choice ends: a line or sentence end, a clause, a dash, a bracket
_SPAN_END = re.compile(r"[\n;]|(?<=[A-Za-z0-9)\]*])\.(?:\s|$)|,\s|\s+[—–-]\s+|(?<=\S)\s+\(|"
                       r"\s+(?:because|since|as|but|with|given)\b")
_HEDGED = re.compile(r"(?i)^(?:either|between|one\s+of)\b")
_TOKEN = re.compile(r"^\(?\[?(?:[A-Za-z]|-?[0-9][0-9,]*(?:\.[0-9]+)?)\]?\)?$")
# statements of a final answer, then of any answer: each captures the text that follows
_FINAL = re.compile(r"(?i)\bfinal\s+(?:answer|choice|decision|verdict|vote)\s*"
                    r"(?:is|:|=|-|–|—|would be|will be)?\s*:?\s*")
_STATED = re.compile(
    r"(?i)(?:\b(?:the\s+)?(?:correct|right|best|most\s+likely)?\s*answer\s*\"?\s*"
    r"(?:is|:|=|-|–|—|would\s+be|will\s+be|remains"
    r"|must\s+be|should\s+be)\s*:?\s*"
    r"|\bmy\s+(?:answer|choice|pick|vote|selection)\s*(?:is|:|=|-|–|—|remains|stays|would\s+be)\s*"
    r"|\bI(?:'ll|\s+will|'d|\s+would|'m|\s+am)?\s+(?:go(?:ing)?\s+with|choose|choosing|pick|picking|select"
    r"|selecting|vote\s+for|voting\s+for|opt\s+for|stick\s+with|stay\s+with|settle\s+on|say)\s+"
    r"|\bgoing\s+with\s+)")
_BOXED = re.compile(r"\\boxed\{\s*\\?(?:text\{)?([^{}]*)\}?\s*\}")
_IS_CORRECT = re.compile(r"(?i)\b(?:option|choice)\s+\(?([A-Za-z0-9]+)\)?\s+is\s+(?:correct|right|the\s+answer)\b")
_CONFIDENCE = (
    re.compile(r"(?i)\bconfidence(?:\s+(?:level|score))?\s*\"?\s*(?:is|of|:|=|-|–|—|at)?\s*"
               r"(?:about|around|~|≈)?\s*"
               r"([0-9]+(?:\.[0-9]+)?)\s*(%|percent|/\s*100|/\s*10)?"),
    re.compile(r"(?i)([0-9]+(?:\.[0-9]+)?)\s*(%|percent|/\s*10|/\s*100)?\s*(?:confident|sure|certain|confidence)\b"),
    re.compile(r"(?i)\b(?:confident|sure|certain)\b[^0-9%\n]{0,24}?([0-9]+(?:\.[0-9]+)?)\s*(%|percent)"),
)


def parse_reply(text: str | None, options: Sequence[str]) -> ReplyFields:
    """The reply's answer (one of ``options``), confidence and message; see module doc."""
    if text is None or not text.strip():
        raise MalformedOutputError("the model returned an empty reply")
    data = json_object(text)
    raw = None
    if data is not None:
        raw = next((data[k] for k in ("answer", "final_answer", "choice") if k in data), None)
    if raw is not None:
        confidence, message = _confidence(data.get("confidence")), data.get("message", "")  # type: ignore[union-attr]
        answer = match_option(raw, options)
        if answer is None:
            raise MalformedOutputError(f"the answer {_excerpt(str(raw))} is not one of the options {list(options)}")
    else:
        plain = text.replace("**", "").replace("__", "")  # markdown emphasis: "**Confidence:** 60%"
        answer, confidence, message = _from_prose(plain, options), _prose_confidence(plain), ""
    if not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False)
    return ReplyFields(answer, confidence, message.strip())


def _from_prose(text: str, options: Sequence[str]) -> str:
    """The one option the prose states (see the module docstring), or an error."""
    bare = text.strip().rstrip(".!")
    if len(bare) <= 24 and match_option(bare, options) is not None:  # the whole reply is the option: "B."
        return match_option(bare, options)  # type: ignore[return-value]
    finals = _chosen(text, _FINAL, options)
    found = finals or _chosen(text, _STATED, options) + _boxed(text, options) + _correct_option(text, options)
    named = sorted(set(found), key=found.index)
    if len(named) == 1 and named[0] is not None:
        return named[0]
    if len(named) > 1 or None in named:
        shown = [n for n in named if n is not None]
        raise MalformedOutputError(f"the reply is ambiguous: it names {shown or 'several options'} "
                                   f"{_excerpt(text)}")
    raise MalformedOutputError(f"no answer found in the reply {_excerpt(text)}")


def _chosen(text: str, cue: re.Pattern[str], options: Sequence[str]) -> list[str | None]:
    """The option after each match of ``cue`` (``None`` for an ambiguous one, e.g. "B or C")."""
    out: list[str | None] = []
    for found in cue.finditer(text):
        span = _SPAN_END.split(text[found.end():found.end() + 120], maxsplit=1)[0]
        if _NEGATED.match(span.strip()):
            continue
        if _HEDGED.match(span.strip()):  # "either B or C", "between A and B": not a choice
            out.append(None)
            continue
        choice = _option_of_span(span, options)
        if choice is not _NOTHING:
            out.append(choice)  # type: ignore[arg-type]
    return out


_NOTHING = object()


def _option_of_span(span: str, options: Sequence[str]) -> str | None | object:
    """The option a short span names; ``None`` if it names several; ``_NOTHING`` if none."""
    parts = [p for p in _SPLIT.split(span.strip()) if p.strip()]
    leads = [_lead(p, options) for p in parts[:4]]
    named = [match_option(lead, options) for lead in leads]
    hits = [n for n in named if n is not None]
    tokens = {n if n is not None else lead for n, lead in zip(named, leads)
              if n is not None or _TOKEN.match(lead)}  # "392 or 396": a number that is no option still counts
    if len(set(hits)) > 1 or (hits and len(tokens) > 1):
        return None
    if hits:
        return hits[0]
    whole = match_option(_lead(span, options), options)
    return whole if whole is not None else _NOTHING


def _lead(span: str, options: Sequence[str]) -> str:
    """The beginning of ``span`` that may be an option: a letter, a number, or the
    longest option text it starts with; "option B"/"choice (B)" count as "B"."""
    text = span.strip().strip("\"'`*_").strip()
    text = re.sub(r"(?i)^(?:option|choice|answer|letter)\s*", "", text).strip()
    folded = text.casefold()
    starting = [o for o in options if folded.startswith(o.casefold())
                and (len(folded) == len(o) or not folded[len(o)].isalnum())]
    if starting:
        return max(starting, key=len)
    first = re.match(r"[^\s]+", text)
    return first.group(0).rstrip(".,:;!?") if first else text


def _boxed(text: str, options: Sequence[str]) -> list[str | None]:
    out: list[str | None] = []
    for found in _BOXED.finditer(text):
        choice = _option_of_span(found.group(1), options)
        if choice is not _NOTHING:
            out.append(choice)  # type: ignore[arg-type]
    return out


def _correct_option(text: str, options: Sequence[str]) -> list[str | None]:
    return [o for o in (match_option(m.group(1), options) for m in _IS_CORRECT.finditer(text)) if o is not None]


def match_option(raw: Any, options: Sequence[str]) -> str | None:
    """``raw`` as one of ``options``: exact, case-insensitive, ``"(B)"``/``"B) 17"`` for a
    letter, or the same number (``"1,234.0"`` for ``"1234"``); ``None`` if none fits."""
    text = str(raw).strip().strip("\"'`*_").strip()
    if text in options:
        return text
    folded = {o.casefold(): o for o in options}
    if text.casefold() in folded:
        return folded[text.casefold()]
    letter = _LETTER.match(text)
    if letter and letter.group(1).upper() in options:
        return letter.group(1).upper()
    number = _number(text)
    if number is not None:
        for option in options:
            if _number(option) == number:
                return option
    return None


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "").rstrip("."))
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _prose_confidence(text: str) -> float | None:
    for pattern in _CONFIDENCE:
        found = pattern.search(text)
        if found:
            number, unit = found.group(1), (found.group(2) or "").replace(" ", "")
            value = _number(number)
            if value is None:
                continue
            if unit == "/10":
                return _confidence(value / 10)
            return _confidence(f"{number}%" if unit in ("%", "percent", "/100") else value)
    return None


def _confidence(value: Any) -> float | None:
    """Confidence in [0, 1]; ``"85%"`` and 85 mean 0.85 (numbers above 1 are read as
    percentages); anything else is unknown (``None``)."""
    percent = isinstance(value, str) and value.strip().endswith("%")
    number = _number(value.strip().rstrip("%")) if isinstance(value, str) else value
    if isinstance(number, bool) or not isinstance(number, (int, float)) or number != number:
        return None
    if percent or 1 < number <= 100:
        number = number / 100
    return float(number) if 0 <= number <= 1 else None


def json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (code fences and prose around it are ignored);
    every workload's codec reads model replies with it."""
    body = _FENCE.sub("", text.strip())
    try:
        data = json.loads(body)
        return data if isinstance(data, dict) else None
    except (ValueError, RecursionError):
        pass
    decoder = json.JSONDecoder()
    start = body.find("{")
    for _ in range(20):  # bounded: a reply is short, and garbage must not cost much
        if start < 0:
            return None
        try:
            data, _end = decoder.raw_decode(body, start)
            if isinstance(data, dict):
                return data
        except (ValueError, RecursionError):
            pass
        start = body.find("{", start + 1)
    return None


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
