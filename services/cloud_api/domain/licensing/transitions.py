"""Who started and who stopped consuming between two states of the figure.

A state's consuming persons are the person keys on some instance (the tally's
``everyone``) and the cloud accounts that consume by themselves. Between two states under
one accounts version only the keys of the instances whose report changed can differ, so a
new report costs the keys that differ between its old and new report, never a comparison
of two whole listings. When the accounts or the matching rules changed (an import, SAML
switched) every key may have moved, and the two sets are compared whole (set arithmetic,
C loops; such changes are rare and already cost a recount).

``tests/cloud_api/test_person_changes.py`` checks both ways against persons matched one by
one (``rules.match_persons``) in each state.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from services.cloud_api.domain.licensing.figures import KeyTally


@dataclass(frozen=True, slots=True)
class KeyChanges:
    started: frozenset[str]
    """Person keys consuming after and not before."""
    stopped: frozenset[str]
    """Person keys consuming before and not after."""


def key_changes(
    before: KeyTally,
    before_consuming: AbstractSet[str],
    after: KeyTally,
    after_consuming: AbstractSet[str],
) -> KeyChanges:
    if before.accounts_version != after.accounts_version or before_consuming != after_consuming:
        was = before.everyone.as_set() | before_consuming
        now = after.everyone.as_set() | after_consuming
        return KeyChanges(frozenset(now - was), frozenset(was - now))
    touched: set[str] = set()
    for instance in before.reports.keys() | after.reports.keys():
        if before.reports.get(instance) != after.reports.get(instance):
            touched |= before.keys.get(instance, set()) ^ after.keys.get(instance, set())
    touched -= after_consuming  # a cloud account consuming by itself consumes either way
    # Set arithmetic, not a membership test per key: a first report touches every key.
    now, was = after.everyone.among(touched), before.everyone.among(touched)
    return KeyChanges(frozenset(now - was), frozenset(was - now))
