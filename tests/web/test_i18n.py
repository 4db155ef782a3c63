"""Pages in the reader's language: the catalogs are complete and current, the language is
chosen in the documented order, translations are escaped like any data, and only words
change (codes and JSON keys never do)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from leadexec_signin import i18n
from support.signin import PASSWORD, sign_in

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "src" / "leadexec_signin" / "locales"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")
# Text that is the same in every language: names, the brand line, the language menu.
SAME_EVERYWHERE = {"ClickPoint Software · LeadExec Sign-In", "LeadExec", "LE", *i18n.NAMES.values()}


def extracted() -> set[str]:
    """What ``bash scripts/i18n extract`` would put in messages.pot today."""
    method_map, options_map = parse_mapping_cfg((ROOT / "babel.cfg").open())
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=())
    return {m if isinstance(m, str) else m[0] for _, _, m, _, _ in found}


def catalog(language: str) -> dict[str, tuple[str, ...]]:
    """Each entry by its (singular) msgid: its source forms and its translated forms (one,
    or one per plural form)."""
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {
            first(m.id): (tuple(m.id) if isinstance(m.id, tuple) else (m.id,), forms(m.string))
            for m in read_po(po)
            if m.id
        }


def first(msgid: str | tuple[str, ...]) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def forms(string: str | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, tuple) else (string,)


@pytest.mark.slow  # Babel extracts every message of the sources
def test_the_template_is_current_with_the_sources() -> None:
    with (LOCALES / "messages.pot").open("rb") as pot:
        committed = {first(m.id) for m in read_po(pot) if m.id}
    assert extracted() == committed, "run: bash scripts/i18n extract, then translate"


@pytest.mark.parametrize("language", [x for x in i18n.LANGUAGES if x != i18n.DEFAULT])
def test_every_catalog_translates_every_string(language: str) -> None:
    with (LOCALES / "messages.pot").open("rb") as pot:
        wanted = {first(m.id) for m in read_po(pot) if m.id}
    have = catalog(language)
    missing = sorted(m for m in wanted if m not in have or not all(have[m][1]))
    assert not missing, f"{language} lacks {missing}"
    for msgid, (sources, translations) in have.items():
        # A translation keeps every variable (else formatting fails or drops a value); each
        # plural form keeps the plural source's.
        keep = sorted(PLACEHOLDER.findall(sources[-1]))
        for translated in translations:
            assert sorted(PLACEHOLDER.findall(translated)) == keep, (language, msgid)


class Text(HTMLParser):
    """The sentences a person reads: text nodes outside script, style and code (an error code
    is machine-readable and the same in every language)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._skip += tag in ("script", "style", "code")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style", "code")

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skip:
            self.parts.append(text)


def sentences(page: str) -> set[str]:
    parser = Text()
    parser.feed(page)
    return {p for p in parser.parts if p not in SAME_EVERYWHERE and re.search("[A-Za-z]{2}", p)}


PAGES = {
    "sign-out, signed out": "/account/logout",
    "not found": "/account/no-such-page",
    "sign-in": "/account/login",
    "sign-in for the console": "/account/login?next=/developers",
    "sign-up": "/account/signup",
    "forgot password": "/account/forgot",
}


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_no_english_sentence_is_left_on_a_translated_page(
    client: TestClient, path: str, language: str
) -> None:
    english = client.get(path, headers={"Accept-Language": "en"})
    translated = client.get(path, headers={"Accept-Language": language})
    assert translated.status_code == english.status_code
    assert translated.headers["content-language"] == language
    assert f'<html lang="{language}">' in translated.text
    left = sentences(english.text) & sentences(translated.text)
    assert not left, f"English on the {language} page: {left}"


def test_connected_apps_speak_the_users_language_and_time_zone(client: TestClient, world) -> None:
    from support.signin import authorize

    world.services.accounts.create_user(
        email="de@example.com", name="Dora", password=PASSWORD, locale="de-DE",
        timezone="Europe/Berlin",
    )  # fmt: skip
    sign_in(client, "de@example.com")
    authorize(client, world.btn_id)
    english = client.get("/account/apps", params={"lang": "en"})
    german = client.get("/account/apps", params={"lang": "de"})
    assert "Verbundene Anwendungen" in german.text and "Zugriff entfernen" in german.text
    assert "Ihren Namen und Ihre LeadExec-Nutzer-ID sehen" in german.text  # a scope, translated
    # Dates in German, in the user's zone (CET/CEST), never a bare UTC.
    assert re.search(r"Zugriff erteilt am \d{2}\.\d{2}\.\d{4}", german.text), german.text
    assert re.search(r"CES?T", german.text)
    left = sentences(english.text) & sentences(german.text)
    assert not left - {"Acme CRM", "de@example.com"}, left  # names and addresses stay


def test_the_language_is_chosen_in_order(client: TestClient, world) -> None:
    def words(**kwargs: object) -> str:
        page = client.get("/account/logout", **kwargs)  # type: ignore[arg-type]
        return page.headers["content-language"]

    assert words() == "en"
    assert words(headers={"Accept-Language": "de-CH, fr;q=0.9"}) == "de"
    assert words(headers={"Accept-Language": "xx, es;q=0.4, fr;q=0.8"}) == "fr"
    # The partner's request (ui_locales, hl) beats the browser's.
    assert words(params={"hl": "es"}, headers={"Accept-Language": "de"}) == "es"
    assert words(params={"ui_locales": "zz fr-CA"}, headers={"Accept-Language": "de"}) == "fr"
    # The signed-in user's LeadExec locale beats the browser, not the partner.
    world.services.accounts.create_user(
        email="fr@example.com", name="Fanny", password=PASSWORD, locale="fr-FR"
    )
    sign_in(client, "fr@example.com")
    assert words(headers={"Accept-Language": "en"}) == "fr"
    assert words(params={"hl": "de"}) == "de"
    # The person's own choice is remembered and beats everything.
    chosen = client.get("/account/logout", params={"lang": "es"})
    assert chosen.headers["content-language"] == "es"
    assert "le_lang=es" in chosen.headers["set-cookie"]
    assert "HttpOnly" in chosen.headers["set-cookie"]
    assert words(params={"hl": "de"}, headers={"Accept-Language": "fr"}) == "es"


def test_the_menu_links_keep_the_page_and_its_query(client: TestClient) -> None:
    page = client.get("/account/logout", params={"next": "/account/apps"})
    links = dict(re.findall(r'<a href="([^"]+)" lang="([a-z]{2})"', page.text))
    assert set(links.values()) == {"fr", "de", "es"}
    for href in links:
        assert html.unescape(href).startswith("/account/logout?next=%2Faccount%2Fapps&lang=")
    # A path that would read as another host is never echoed into a link.
    odd = client.get("//evil.example/x", headers={"Accept-Language": "fr"})
    assert "//evil.example" not in odd.text


@pytest.mark.parametrize(
    "headers, params",
    [
        ({"Accept-Language": "x" * 5000}, {}),
        ({"Accept-Language": "fr;q=abc, de;q=2, ;;;"}, {}),
        ({"Cookie": "le_lang=<script>"}, {"lang": "../../etc/passwd"}),
        ({}, {"hl": "é" * 300, "ui_locales": " " * 100}),
    ],
)
def test_hostile_language_input_falls_back_quietly(client: TestClient, headers, params) -> None:
    page = client.get("/account/logout", headers=headers, params=params)
    assert page.status_code == 200
    assert page.headers["content-language"] in i18n.LANGUAGES
    assert "<script>" not in page.text.split("<body", 1)[1].replace('<script src="', "")


def test_a_catalog_entry_with_markup_is_shown_as_text(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = i18n.translations("fr")
    monkeypatch.setattr(
        hostile,
        "gettext",
        lambda m: '<img src=x onerror="alert(1)">' if m == "Sign out" else m,
        raising=False,
    )
    page = client.get("/account/logout", headers={"Accept-Language": "fr"})
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page.text


def test_machine_fields_never_change_with_the_language(client: TestClient) -> None:
    answer = client.get(
        "/api/token", params={"appId": "app_x", "refreshToken": "ler_x"},
        headers={"Accept-Language": "fr"},
    )  # fmt: skip
    body = answer.json()
    assert set(body) >= {"valid", "error", "errorMessage"} and body["error"] == "invalid_client"


def test_the_check_your_email_page_speaks_french(client: TestClient) -> None:
    from support.signin import csrf_of

    form = client.get("/account/signup", headers={"Accept-Language": "fr"})
    done = client.post(
        "/account/signup",
        data={
            "csrf": csrf_of(form.text),
            "name": "Zoé",
            "email": "zoe@example.com",
            "password": "un mot de passe long",
        },
        headers={"Accept-Language": "fr"},
    )
    assert done.status_code == 200
    assert "Consultez vos e-mails" in done.text
    assert "Nous avons envoyé un message à zoe@example.com." in done.text
    assert "We sent" not in done.text


@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_the_consent_dialog_has_no_english_sentence(client: TestClient, world, language) -> None:
    from support.signin import PARTNER

    sign_in(client)
    query = {"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
    english = client.get("/signin/authorize", params={**query, "lang": "en"})
    translated = client.get("/signin/authorize", params={**query, "lang": language})
    assert english.status_code == translated.status_code == 200
    assert 'name="decision" value="allow"' in translated.text  # the dialog itself
    left = sentences(english.text) & sentences(translated.text)
    assert not left - {"Acme CRM", "ann@example.com", PARTNER}, left


@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_no_english_sentence_on_the_console_operator_and_account_pages(
    client: TestClient, world, language: str
) -> None:
    """A partner who is also an operator sees every console page, the operator pages and the
    account's email page; each, in each language, keeps only names, addresses and codes."""
    owner = world.services.accounts.create_user(
        email="pat@example.com", name="Pat Partner", password=PASSWORD, operator=True
    )
    own, _ = world.services.registry.register(
        name="Pat's CRM",
        origins=["http://localhost:3000"],
        scopes="profile,email",
        owner_id=owner.id,
        notice_url="https://crm.example.com/notices",
    )
    world.services.registry.create_button(app_id=own.id, scopes="profile")
    world.services.registry.ensure_try_it(world.services.settings.issuer_origin)
    sign_in(client, "pat@example.com")
    same = {
        "Pat's CRM", "Acme CRM", "pat@example.com", "ann@example.com", "Pat Partner",
        "http://localhost:3000", "https://crm.example.com/notices", "OAuth 2.1 / OpenID Connect",
        "JWKS", "PKCE", "Pat's CRM · LeadExec", "OAuth",
        # Names of formats and algorithms, an audit event code, the test client's address.
        "jwt", "EdDSA", "signout", "testclient",
    }  # fmt: skip
    # Words the language writes exactly as English does (French "client public").
    same |= {"fr": {"public", "opaque", "Application", "public · none", "Secret"}}.get(
        language, set()
    )
    paths = [
        "/developers",
        f"/developers/apps/{own.id}",
        "/developers/buttons",
        "/developers/docs",
        "/developers/try",
        "/admin",
        "/admin/audit",
        "/account/email",
    ]
    for path in paths:
        english = client.get(path, params={"lang": "en"})
        translated = client.get(path, params={"lang": language})
        assert english.status_code == translated.status_code == 200, path
        assert f'<html lang="{language}">' in translated.text, path
        left = sentences(english.text) & sentences(translated.text)
        # Ids, addresses and codes (a digit, an underscore, a dot or a slash in one token) and
        # the names above are the same in every language.
        left = {s for s in left - same if not re.fullmatch(r"[\w.:/@-]*[\d_./:@][\w.:/@-]*", s)}
        assert not left, f"English on the {language} page {path}: {left}"
