"""The papers a centre keeps on a case (一表两单四函一书): their kinds, titles and number marks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Kind:
    code: str  # what the API, the CLI and the number table use
    title: str  # the paper's title as the centres print it
    mark: str  # the character of its document number: 罗综治〔2026〕催字第0012号
    english: str


#: Every kind, in the order a case meets them.
KINDS: Final[tuple[Kind, ...]] = (
    Kind("registration", "登记受理表", "登", "Registration form"),
    Kind("acceptance_notice", "受理告知单", "受", "Acceptance notice"),
    Kind("assignment", "转送交办单", "交", "Transfer and assignment slip"),
    Kind("reminder", "催办函", "催", "Reminder letter"),
    Kind("prompt", "提示函", "提", "Prompt letter"),
    Kind("warning", "预警函", "警", "Warning letter"),
    Kind("supervision", "督办函", "督", "Supervision letter"),
    Kind("result_notice", "办理结果告知书", "结", "Result notice"),
)
BY_CODE: Final[dict[str, Kind]] = {k.code: k for k in KINDS}
#: The four letters (四函): one per notice event.
LETTERS: Final[tuple[str, ...]] = ("reminder", "prompt", "warning", "supervision")
