"""Whether a cloud account consumes a license by itself (SPEC section 1, cloud side)."""

from __future__ import annotations

from services.cloud_api.domain.accounts.input import CloudAccountInput, OrgRole

CONSUMING_ORG_ROLES: frozenset[OrgRole] = frozenset({"member", "owner"})
BILLING_MANAGER: OrgRole = "billing_manager"  # sees the bills, consumes no license
CONSUMING_REPO_VISIBILITIES = frozenset({"private", "internal"})


def consumes_license(account: CloudAccountInput) -> bool:
    """A member or owner of an organization, an outside collaborator on a private or
    internal repository, or a pending invitee consumes a license. Enterprise owners in no
    organization, billing managers, collaborators on public repositories only and
    suspended (managed) users do not."""
    if account.get("suspended", False):
        return False
    if any(m["role"] in CONSUMING_ORG_ROLES for m in account.get("org_memberships", ())):
        return True
    repos = account.get("outside_collaborator_repos", ())
    if any(r["visibility"] in CONSUMING_REPO_VISIBILITIES for r in repos):
        return True
    return bool(account.get("pending_invitations"))
