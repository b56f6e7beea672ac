"""The shape of one cloud account in ``PUT /enterprises/{enterprise}/accounts``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

Text = Annotated[str, Field(max_length=255)]
OrgRole = Literal["member", "owner", "billing_manager"]


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AccountEmail(_Input):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    verified: StrictBool


class SamlIdentity(_Input):
    name_id: Text | None = None
    username: Text | None = None
    emails: list[Text] = Field(default_factory=list)
    name_claim: Text | None = None
    emailaddress_claim: Text | None = None


class OrgMembership(_Input):
    org: Annotated[str, Field(min_length=1, max_length=100)]
    role: OrgRole


class CollaboratorRepo(_Input):
    repo: Annotated[str, Field(min_length=1, max_length=200)]
    visibility: Literal["private", "internal", "public"]


class CloudAccountInput(_Input):
    id: Annotated[StrictInt, Field(gt=0, le=2**63 - 1)]
    login: Annotated[str, Field(min_length=1, max_length=100)]
    name: Text | None = None
    emails: list[AccountEmail] = Field(default_factory=list)
    saml_identity: SamlIdentity | None = None
    two_factor_auth: StrictBool | None = None
    suspended: StrictBool = False
    org_memberships: list[OrgMembership] = Field(default_factory=list)
    outside_collaborator_repos: list[CollaboratorRepo] = Field(default_factory=list)
    pending_invitations: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list
    )
    enterprise_owner: StrictBool = False


class AccountsImport(_Input):
    accounts: list[CloudAccountInput]
