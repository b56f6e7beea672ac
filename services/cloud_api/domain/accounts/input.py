"""The shape of one cloud account in ``PUT /enterprises/{enterprise}/accounts``.

Typed dictionaries, validated by pydantic without a model object per account: an import
of a hundred thousand accounts validated into models took five times as long as parsing
its JSON. Optional keys are absent when not sent; readers use ``.get`` with the default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, StrictBool, StrictInt, TypeAdapter, with_config
from typing_extensions import TypedDict

Text = Annotated[str, Field(max_length=255)]
OrgRole = Literal["member", "owner", "billing_manager"]
_STRICT = ConfigDict(extra="forbid")


@with_config(_STRICT)
class AccountEmail(TypedDict):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    verified: StrictBool


@with_config(_STRICT)
class SamlIdentity(TypedDict):
    name_id: NotRequired[Text | None]
    username: NotRequired[Text | None]
    emails: NotRequired[list[Text]]
    name_claim: NotRequired[Text | None]
    emailaddress_claim: NotRequired[Text | None]


@with_config(_STRICT)
class OrgMembership(TypedDict):
    org: Annotated[str, Field(min_length=1, max_length=100)]
    role: OrgRole


@with_config(_STRICT)
class CollaboratorRepo(TypedDict):
    repo: Annotated[str, Field(min_length=1, max_length=200)]
    visibility: Literal["private", "internal", "public"]


@with_config(_STRICT)
class CloudAccountInput(TypedDict):
    id: Annotated[StrictInt, Field(gt=0, le=2**63 - 1)]
    login: Annotated[str, Field(min_length=1, max_length=100)]
    name: NotRequired[Text | None]
    emails: NotRequired[list[AccountEmail]]
    saml_identity: NotRequired[SamlIdentity | None]
    two_factor_auth: NotRequired[StrictBool | None]
    suspended: NotRequired[StrictBool]
    org_memberships: NotRequired[list[OrgMembership]]
    outside_collaborator_repos: NotRequired[list[CollaboratorRepo]]
    pending_invitations: NotRequired[list[Annotated[str, Field(min_length=1, max_length=100)]]]
    enterprise_owner: NotRequired[StrictBool]
    advanced_security_committer: NotRequired[StrictBool]
    """A GitHub Advanced Security active committer on the cloud (pushed in the last 90 days
    to a repository with it enabled). Counts while the person consumes a license."""


@with_config(_STRICT)
class AccountsImport(TypedDict):
    accounts: list[CloudAccountInput]


ACCOUNTS_IMPORT: TypeAdapter[AccountsImport] = TypeAdapter(AccountsImport)
CLOUD_ACCOUNT: TypeAdapter[CloudAccountInput] = TypeAdapter(CloudAccountInput)


def accounts_import_schema() -> dict[str, Any]:
    """The JSON schema of the import body (for the OpenAPI description)."""
    return ACCOUNTS_IMPORT.json_schema()
