"""The SCIM User as LeadExec serves it (RFC 7643 section 4.1), built with ``scim2-models``.

The published schema is the core User cut down to what LeadExec keeps and returns as it came:
``userName``, ``name`` (formatted, givenName, familyName), ``displayName``, ``emails``
(value, type, primary), ``active``, ``locale``, ``timezone``, and ``externalId``. An attribute
outside it is refused (400 ``invalidValue``), never silently dropped.

Where each lives: ``displayName`` is the account's name, the primary email its address,
``active`` the opposite of disabled; ``locale`` and ``timezone`` the profile's, kept as the
directory sent them when LeadExec cannot use them (a free-form value); ``userName``,
``externalId``, the name's parts and each email's type are kept with the account
(``users.scim_user_name``, ``users.scim_attributes``).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from leadexec_signin.core.accounts import User
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.people import Profile, time_zones

if TYPE_CHECKING:
    import scim2_models as scim
else:
    from leadexec_signin.web.scim.lazy import scim

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
_KEPT = {"userName", "name", "displayName", "emails", "active", "locale", "timezone"}
_NAME_PARTS = {"formatted", "givenName", "familyName"}
_EMAIL_PARTS = {"value", "type", "primary"}


@cache
def user_schema() -> scim.Schema:
    full = scim.User.to_schema()
    kept = []
    for attribute in full.attributes or []:
        if attribute.name not in _KEPT:
            continue
        parts = _NAME_PARTS if attribute.name == "name" else _EMAIL_PARTS
        if attribute.sub_attributes:
            subs = [s for s in attribute.sub_attributes if s.name in parts]
            attribute = attribute.model_copy(update={"sub_attributes": subs})
        if attribute.name == "emails":
            # An account is an email address: a directory must send one.
            subs = [
                s.model_copy(update={"required": scim.Required(s.name == "value")})
                for s in attribute.sub_attributes or []
            ]
            attribute = attribute.model_copy(
                update={"required": scim.Required.true, "sub_attributes": subs}
            )
        kept.append(attribute)
    return full.model_copy(
        update={"attributes": kept, "description": "A LeadExec account (User, cut down)."}
    )


@cache
def user_model() -> type[scim.Resource[Any]]:
    return scim.Resource.from_schema(user_schema())


def to_scim(user: User, base: str) -> scim.Resource[Any]:
    """A provisioned account is returned as its directory sent it (what it removed stays
    unassigned); any other account from its profile."""
    extra = user.scim_attributes
    provisioned = user.scim_user_name is not None
    found = extra.get("name")
    name = dict(found) if isinstance(found, dict) else {}
    types = extra.get("emailType")

    def kept(key: str, profile_value: object) -> object:
        return extra.get(key) if provisioned else profile_value

    return user_model().model_validate(
        {
            "schemas": [USER_SCHEMA],
            "id": user.id,
            "externalId": extra.get("externalId"),
            "userName": user.scim_user_name or user.email,
            "displayName": kept("displayName", user.name),
            "name": name or None,
            "emails": [
                {
                    "value": user.email,
                    "primary": extra.get("emailPrimary") if provisioned else True,
                    **({"type": types} if types else {}),
                }
            ],
            "active": None if extra.get("activeUnset") else not user.disabled,
            "locale": kept("locale", user.locale),
            "timezone": kept("timezone", user.timezone),
            "meta": {
                "resourceType": "User",
                "created": iso_z(user.created_at) if user.created_at else None,
                "lastModified": iso_z(user.disabled_at or user.created_at)
                if user.created_at
                else None,
                "location": f"{base}/Users/{user.id}",
            },
        },
        scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE,
    )


class Wanted:
    """A received SCIM User as LeadExec's parts: the address, profile, state, and what is
    kept only to be returned."""

    def __init__(self, resource: scim.Resource[Any], current: User | None) -> None:
        data = resource.model_dump(scim_ctx=scim.Context.RESOURCE_REPLACEMENT_REQUEST)
        user_name = data.get("userName")
        if not isinstance(user_name, str) or not user_name.strip():
            raise InvalidRequest("userName is required.")
        self.user_name = user_name.strip()
        emails = data.get("emails") or []
        primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
        address = primary.get("value") if primary else None
        if not address and "@" in self.user_name:
            address = self.user_name
        if not address:
            raise InvalidRequest("Give an email address (emails) or a userName that is one.")
        self.email = str(address)
        name = {k: v for k, v in (data.get("name") or {}).items() if k in _NAME_PARTS and v}
        display = data.get("displayName") or name.get("formatted") or " ".join(
            p for p in (name.get("givenName"), name.get("familyName")) if p
        ) or self.user_name  # fmt: skip
        locale, timezone = data.get("locale"), data.get("timezone")
        base = current or User(id="", email="", name="", password_hash="")
        # A value LeadExec cannot use (an unknown zone) is kept to be returned, and the
        # profile keeps what it had.
        usable_zone = timezone if timezone in time_zones() else base.timezone
        usable_locale = locale if isinstance(locale, str) and _usable_locale(locale) else None
        self.profile = Profile(str(display)[:120], base.company, usable_zone,
                               usable_locale or base.locale)  # fmt: skip
        self.active = data.get("active")
        self.attributes: dict[str, object] = {
            k: v
            for k, v in {
                "externalId": data.get("externalId"),
                "name": name or None,
                "emailType": primary.get("type") if primary else None,
                "emailPrimary": primary.get("primary") if primary else None,
                "displayName": data.get("displayName"),
                "locale": locale,
                "timezone": timezone,
                # Removed by the directory: unassigned, the account's state unchanged.
                "activeUnset": True if self.active is None else None,
            }.items()
            if v is not None
        }


def _usable_locale(locale: str) -> bool:
    try:
        Profile("x", "", "UTC", locale).checked()
    except InvalidRequest:
        return False
    return True


def service_provider_config(base: str) -> scim.ServiceProviderConfig:
    return scim.ServiceProviderConfig(
        documentation_uri=None,
        patch=scim.Patch(supported=True),
        bulk=scim.Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=scim.Filter(supported=True, max_results=200),
        change_password=scim.ChangePassword(supported=False),
        sort=scim.Sort(supported=False),
        etag=scim.ETag(supported=False),
        authentication_schemes=[
            scim.AuthenticationScheme.model_validate(
                {
                    "type": "oauthbearertoken",
                    "name": "Operator API token",
                    "description": "A LeadExec operator API token with the scim scope "
                    "(Authorization: Bearer lxa_...).",
                    "primary": True,
                }
            )
        ],
        meta=scim.Meta(
            resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"
        ),
    )


def resource_type(base: str) -> scim.ResourceType:
    return scim.ResourceType.model_validate(
        {
            "id": "User",
            "name": "User",
            "description": "A LeadExec account",
            "endpoint": "/Users",
            "schema": USER_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        }
    )


def schema_document(base: str) -> scim.Schema:
    return user_schema().model_copy(
        update={"meta": scim.Meta(resource_type="Schema", location=f"{base}/Schemas/{USER_SCHEMA}")}
    )
