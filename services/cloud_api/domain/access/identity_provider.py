"""The cloud as an OpenID Connect relying party: the authorization code flow with PKCE,
through Authlib (the OAuth client, the ID token's claims rules) and joserfc (the token's
signature against the provider's published keys).

Nothing here trusts the browser: the code is exchanged by the cloud itself, with its client
secret and the PKCE verifier it kept; the ID token must be signed by a key of the
configured issuer, name this client as its audience, be unexpired, and carry the nonce of
this sign-in. Claims from the userinfo endpoint are taken only for the same subject.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from services.cloud_api.domain.access.browser_sessions import (
    PendingSignIn,
    Person,
    ReturningSignIn,
)
from services.cloud_api.domain.errors import NotAuthenticatedError, ProviderUnavailableError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Identity:
    person: Person
    verified_email: str | None
    """The e-mail claim, when the provider says it is verified; None otherwise."""
    groups: tuple[str, ...]


class IdentityProvider:
    """One configured provider. Its discovery document and keys are fetched when first
    needed and kept (the keys again when a token names one not seen yet), so the cloud
    starts, and owner tokens work, while the provider is down."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        scopes: str,
        groups_claim: str,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = scopes
        self.groups_claim = groups_claim
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None
        self._lock = anyio.Lock()

    def _client(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            scope=self.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT_SECONDS,
        )

    async def authorization_url(self, pending: PendingSignIn, redirect_uri: str) -> str:
        metadata = await self.metadata()
        async with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=pending.state,
                code_verifier=pending.code_verifier,
                nonce=pending.nonce,
            )
        return str(url)

    async def identify(
        self, code: str, returning: ReturningSignIn, issuer_param: str | None
    ) -> Identity:
        """Exchange the code, check the ID token, read the claims."""
        # RFC 9207: a provider that names itself in the answer must name this issuer
        # (a mix-up attack sends another provider's answer here).
        if issuer_param is not None and issuer_param.rstrip("/") != self.issuer:
            raise NotAuthenticatedError(
                "the answer came from another issuer than the configured one",
                code="issuer_mismatch",
            )
        metadata = await self.metadata()
        async with self._client(returning.redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=returning.code_verifier,
                    redirect_uri=returning.redirect_uri,
                )
            except OAuthError as error:
                # invalid_grant: a code used twice, expired, or not issued for this verifier.
                raise NotAuthenticatedError(
                    f"the provider refused the sign-in code: {error.error}",
                    code="code_refused",
                ) from None
            except (httpx2.HTTPError, ValueError) as error:
                raise self._unavailable("token endpoint", error) from None
            claims = await self._id_token_claims(token, returning.nonce)
            userinfo = await self._userinfo(client, metadata, claims["sub"])
        merged = {**userinfo, **claims}
        email = merged.get("email") if isinstance(merged.get("email"), str) else None
        verified = email if merged.get("email_verified") is True else None
        name = merged.get("name") if isinstance(merged.get("name"), str) else None
        return Identity(
            person=Person(subject=str(claims["sub"]), email=email, name=name),
            verified_email=verified,
            groups=_groups(merged.get(self.groups_claim)),
        )

    async def _id_token_claims(self, token: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        if "id_token" not in token:
            raise NotAuthenticatedError(
                "the provider gave no ID token (is openid among the scopes?)",
                code="id_token_missing",
            )
        metadata = await self.metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
        try:
            try:
                decoded = jwt.decode(token["id_token"], await self._key_set(), registry=registry)
            except InvalidKeyIdError:
                # Perhaps signed with a key published since the last fetch: once more.
                decoded = jwt.decode(
                    token["id_token"], await self._key_set(refresh=True), registry=registry
                )
            options = {
                "iss": {"essential": True, "value": self.issuer_claim},
                "aud": {"essential": True, "value": self.client_id},
            }
            params = {
                "nonce": nonce,
                "client_id": self.client_id,
                "access_token": token.get("access_token"),
            }
            claims = CodeIDToken(decoded.claims, decoded.header, options, params)
            claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
        except (JoseError, ValueError) as error:
            raise NotAuthenticatedError(
                f"the ID token was refused: {_describe(error)}", code="id_token_invalid"
            ) from None
        return dict(claims)

    async def _userinfo(
        self, client: AsyncOAuth2Client, metadata: Mapping[str, Any], subject: str
    ) -> dict[str, Any]:
        endpoint = metadata.get("userinfo_endpoint")
        if not endpoint:
            return {}
        try:
            response = await client.get(endpoint)
            response.raise_for_status()
            info = response.json()
        except (httpx2.HTTPError, ValueError, OAuthError) as error:
            raise self._unavailable("userinfo endpoint", error) from None
        if not isinstance(info, dict) or info.get("sub") != subject:
            # OpenID Connect Core 5.3.2: otherwise the answer must not be used.
            raise NotAuthenticatedError(
                "the userinfo answer is not about the person the ID token names",
                code="userinfo_mismatch",
            )
        return info

    @property
    def issuer_claim(self) -> str:
        """The issuer exactly as the discovery document spells it (a trailing slash and all)."""
        assert self._metadata is not None
        return str(self._metadata["issuer"])

    async def metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._metadata is None:
                self._metadata = await self._discover()
            return self._metadata

    async def _discover(self) -> dict[str, Any]:
        url = f"{self.issuer}/.well-known/openid-configuration"
        document = await self._get_json(url, "discovery document")
        if str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnavailableError(
                f"the discovery document at {url} names issuer {document.get('issuer')!r}, "
                f"not {self.issuer!r}: check CLOUD_API_OIDC_ISSUER"
            )
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(endpoint), str):
                raise ProviderUnavailableError(f"the discovery document at {url} has no {endpoint}")
        return document

    async def _key_set(self, refresh: bool = False) -> KeySet:
        metadata = await self.metadata()
        async with self._lock:
            if self._keys is None or refresh:
                self._keys = await self._get_json(metadata["jwks_uri"], "signing keys")
            keys = self._keys
        try:
            return KeySet.import_key_set(keys)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise self._unavailable("signing keys", error) from None

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                response = await client.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx2.HTTPError, ValueError) as error:
            raise self._unavailable(what, error) from None
        if not isinstance(document, dict):
            raise ProviderUnavailableError(f"the provider's {what} at {url} is not a JSON object")
        return document

    def _unavailable(self, what: str, error: Exception) -> ProviderUnavailableError:
        log.warning("identity provider %s: %s: %s", what, type(error).__name__, error)
        return ProviderUnavailableError(
            f"the identity provider's {what} did not answer as expected "
            f"({type(error).__name__}); try again, or ask the operator to check "
            "CLOUD_API_OIDC_ISSUER"
        )


def _groups(value: object) -> tuple[str, ...]:
    """A groups claim is a list of names; a single string is taken as one group."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
