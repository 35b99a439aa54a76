"""The mentor's two safety checks, both plain pattern rules so they are auditable.

Before the model: `is_crisis` recognises messages about suicide or self-harm; the API then
answers with a fixed, caring text and help lines, and never calls a model.

After the model: `policy_findings` checks a reply against `POLICY` (docs/mentor.md, "Safety
policy"): no medical, legal or financial directive presented as certain, no claim of fate.
Each rule says whether a finding annotates the reply (a note is added) or replaces it.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

_CRISIS = re.compile(
    r"\b("
    r"kill(ing)? my ?self|end(ing)? my life|take my (own )?life|suicid\w*|self[- ]?harm\w*"
    r"|hurt(ing)? my ?self|cut(ting)? my ?self|want(ed)? to die|don'?t want to (live|be alive)"
    r"|better off dead|no reason to live|overdos\w*"
    r"|matarme|quitarme la vida|suicidarme|me quiero morir|hacerme daño"
    r"|me tuer|me suicider|en finir avec (la|ma) vie|envie de mourir|me faire du mal"
    r"|mich umbringen|selbstmord|suizid\w*|nicht mehr leben|mich verletzen"
    r"|me matar|tirar minha vida|quero morrer"
    r")\b",
    re.IGNORECASE | re.UNICODE,
)


def is_crisis(text: str) -> bool:
    """Whether `text` speaks of suicide or self-harm (English, Spanish, French, German,
    Portuguese). False positives are accepted: they get help lines, not a refusal."""
    return _CRISIS.search(text) is not None


class Action(StrEnum):
    ANNOTATE = "annotate"
    REPLACE = "replace"


@dataclass(frozen=True)
class PolicyRule:
    code: str
    action: Action
    pattern: re.Pattern[str]
    meaning: str


def _rule(code: str, action: Action, pattern: str, meaning: str) -> PolicyRule:
    return PolicyRule(code, action, re.compile(pattern, re.IGNORECASE), meaning)


POLICY: tuple[PolicyRule, ...] = (
    _rule(
        "medical-directive",
        Action.REPLACE,
        r"\b(stop|quit|start|double|skip) (taking )?(your|the) (medication|medicine|pills|"
        r"treatment|therapy)\b|\byou (definitely |certainly )?(have|suffer from) "
        r"(depression|cancer|adhd|bipolar|anxiety disorder)\b",
        "tells the person to change a medical treatment, or diagnoses them",
    ),
    _rule(
        "legal-directive",
        Action.ANNOTATE,
        r"\byou (will|are going to) (win|lose) (the|your) (case|lawsuit|custody)\b"
        r"|\b(you should|you must) (sue|sign the contract|divorce)\b",
        "presents a legal outcome or step as certain",
    ),
    _rule(
        "financial-directive",
        Action.ANNOTATE,
        r"\b(invest (all|everything)|buy (this|the) (stock|coin|crypto)|guaranteed "
        r"(return|profit)s?|you (will|are going to) (get rich|make a fortune))\b",
        "presents a financial step or outcome as certain",
    ),
    _rule(
        "fate-claim",
        Action.ANNOTATE,
        r"\b(it is|it's) (your|written in your) (destiny|fate)\b|\byou are (doomed|destined)\b"
        r"|\bthe stars (guarantee|decide|have decided)\b|\byou will (never|definitely|surely) ",
        "claims the chart decides what will happen",
    ),
)


def policy_findings(text: str) -> tuple[PolicyRule, ...]:
    """The rules `text` breaks, in `POLICY` order."""
    return tuple(rule for rule in POLICY if rule.pattern.search(text))
