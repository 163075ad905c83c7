"""Which reviewer group reviews a submission (seed 004: 科普部 / 学会部 / 调宣部 归口初审)."""
from __future__ import annotations

from mailbridge.config import Config, ReviewGroup, RoutingRule
from mailbridge.ledger.models import Submission


def _matches(rule: RoutingRule, sub: Submission) -> bool:
    if rule.categories and sub.category not in rule.categories:
        return False
    if rule.unit_types and (sub.unit is None or sub.unit.type not in rule.unit_types):
        return False
    if rule.mailboxes and sub.message.mailbox not in rule.mailboxes:
        return False
    if rule.keywords:
        fields = {"subject": sub.message.subject or "", "title": sub.title or "", "text": sub.text or ""}
        haystack = " ".join(fields[f] for f in rule.keyword_fields)
        if not any(keyword in haystack for keyword in rule.keywords):
            return False
    return True


def group_for(config: Config, submission: Submission) -> ReviewGroup | None:
    """The group of the first route that matches, else the default group, else None.

    A submission already decided on keeps the group that decided, whatever the routes say now.
    """
    review = config.review
    if submission.review_group:
        kept = review.group(submission.review_group)
        if kept is not None:
            return kept
    for rule in review.routes:
        if _matches(rule, submission):
            return review.group(rule.group)
    return review.group(review.default_group)


def groups_of(config: Config, address: str) -> list[ReviewGroup]:
    """The groups an address reviews for (a reviewer or a leader)."""
    address = address.strip().lower()
    return [g for g in config.review.groups if address in g.addresses or address in g.leaders]


def is_reviewer(config: Config, address: str, group: ReviewGroup | None = None) -> bool:
    """May this address decide (first review, adopt, reject) — for `group`, or for any group."""
    address = address.strip().lower()
    candidates = [group] if group is not None else config.review.groups
    return any(address in g.addresses or address in g.leaders for g in candidates)


def is_leader(config: Config, address: str, group: ReviewGroup | None = None) -> bool:
    """May this address approve (two-stage review) — for `group`, or for any group."""
    address = address.strip().lower()
    candidates = [group] if group is not None else config.review.groups
    return any(address in g.leaders for g in candidates)
