"""Each clause's policy sentence and rule, as the dbt docs already state them.

The dbt project documents every clause once, in a docs block whose body
starts ``**<clause_id>** (Twilio Voice Services Policy: "<sentence>"): <rule>``
(``dbt_project/models/**/_*__docs.md``). The report quotes those blocks, so
the dbt docs site and the report never disagree on what a clause says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from voice_compliance.config import REPO_ROOT

MODELS_DIR = REPO_ROOT / "dbt_project" / "models"

_BLOCK = re.compile(r"{%\s*docs\s+(\w+)\s*%}(.*?){%\s*enddocs\s*%}", re.S)
_HEAD = re.compile(
    r'^\*\*(?P<clause>[\w.]+)\*\*\s*\((?P<source>[^"]*)"(?P<sentence>[^"]+)"\)?:?', re.S
)


@dataclass(frozen=True)
class ClauseText:
    """What a clause says: the policy's words and how the pipeline judges them."""

    clause_id: str
    sentence: str
    rule: str


@cache
def clause_texts(models_dir: Path = MODELS_DIR) -> dict[str, ClauseText]:
    """``{clause_id: ClauseText}`` from every docs block that documents a clause."""
    found: dict[str, ClauseText] = {}
    for path in sorted(models_dir.rglob("*.md")):
        for _, body in _BLOCK.findall(path.read_text(encoding="utf-8")):
            head = _HEAD.match(body.strip())
            if head is None:
                continue
            rest = body.strip()[head.end() :]
            found.setdefault(
                head["clause"],
                ClauseText(head["clause"], _one_line(head["sentence"]), _one_line(rest)),
            )
    return found


def _one_line(text: str) -> str:
    return " ".join(text.split()).strip()


def model_name(clause_id: str) -> str:
    """The clause's dbt mart: ``dnc.registry`` -> ``clause_dnc__registry``."""
    return "clause_" + clause_id.replace(".", "__")


_NO_ACCOUNT_REGISTRY = "dnc.registry_freshness"


def account_label(clause_id: str) -> tuple[str, str]:
    """What a ticket without an account concerns, and why, from its clause:
    ``(label, explanation)``. One wording for the report and the trackers."""
    if clause_id.startswith("dq."):
        return "whole warehouse", "a data-quality check of the data every clause stands on"
    if clause_id == _NO_ACCOUNT_REGISTRY:
        return "registry-wide", "a do-not-call registry, used for every account"
    return "no account", "its subject is a number in no account's inventory"
