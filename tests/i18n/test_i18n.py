"""German and English: the admin, lifecycle refusals, API errors, the vocabularies, and the
check that keeps every marked string translated.

Each page is asked for in both languages (Accept-Language, or the admin's language switcher)
and the tests assert the words a user reads, not that some translation happened.
"""

from __future__ import annotations

import datetime
import html
import io
import re
import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real
from rest_framework.test import APIClient

from registry import choices
from registry.models import Initiative
from tests import factories
from tools import check_translations
from tools.translation_check import catalogue_path, catalogue_problems, parse_po

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
GERMAN_PO = catalogue_path(LOCALE_DIR, "de")
GERMAN_MO = GERMAN_PO.with_suffix(".mo")
API = "/api/v1/"


@pytest.fixture(scope="module", autouse=True)
def german_catalogue_compiled() -> None:
    """`make test` compiles the catalogue; a bare `pytest` run gets it compiled here."""
    if GERMAN_MO.exists() and GERMAN_MO.stat().st_mtime >= GERMAN_PO.stat().st_mtime:
        return
    call_command("compile_translations", stdout=io.StringIO())
    # Catalogues loaded before the .mo existed are cached per process; start afresh.
    trans_real._translations = {}
    trans_real._default = None


@pytest.fixture(autouse=True)
def _language_restored():
    """LocaleMiddleware activates the request's language in this thread; undo it after."""
    yield
    translation.deactivate()


def german(client: Client | APIClient) -> Client | APIClient:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    return client


def english(client: Client | APIClient) -> Client | APIClient:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def visible_text(response) -> str:
    """The words a reader sees: tags, scripts and styles removed, entities decoded."""
    content = response.content.decode()
    content = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", content)
    content = re.sub(r"(?s)<!--.*?-->", " ", content)
    content = re.sub(r"(?s)<[^>]+>", " ", content)
    return re.sub(r"\s+", " ", html.unescape(content))


@pytest.fixture
def pmo(db) -> Client:
    user = factories.UserFactory(username="pmo-i18n", groups=["PMO"], is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def portfolio(db) -> dict[str, Initiative]:
    """A pilot-ready initiative that lacks its experiment design, and one at idea."""
    service = factories.DepartmentFactory(
        name="Kundenservice", slug="kundenservice", function=choices.DepartmentFunction.SERVICE
    )
    owner = factories.PersonFactory(name="Anna Becker", department=service)
    goal = factories.GoalFactory(code="G-NPS", title="Weiterempfehlung steigern")
    approved = factories.InitiativeFactory(
        name="Rechnungsbot", owner=owner, lead_department=service, start_date=None
    )
    factories.AlignmentFactory(initiative=approved, goal=goal)
    Initiative.objects.filter(pk=approved.pk).update(stage=choices.Stage.APPROVED)
    approved.refresh_from_db()
    idea = factories.InitiativeFactory(
        name="Rückrufplaner", owner=owner, lead_department=service, kind=choices.Kind.AUTOMATION
    )
    return {"approved": approved, "idea": idea}


# --- the admin ---------------------------------------------------------------------------------


def test_admin_changelist_in_german_and_english(pmo, portfolio):
    url = reverse("admin:registry_initiative_changelist")
    de = visible_text(german(pmo).get(url))
    assert "Initiativen" in de
    for column in ("Schlüssel", "Art", "Phase", "Verantwortlich", "Federführender Bereich"):
        assert column in de
    assert "Genehmigt" in de
    assert "Idee" in de
    assert "Automatisierung (Prozesse, RPA, Triage)" in de  # kind label
    assert "Ausgewählte Initiativen archivieren" in de  # admin action
    assert "Ausrichtungsgrad" in de  # filter title
    assert "KI-CX-Portfolio-Register" in de  # site header

    en = visible_text(english(pmo).get(url))
    assert "Select initiative to change" in en
    for column in ("Key", "Kind", "Stage", "Owner", "Lead department"):
        assert column in en
    assert "Approved" in en
    assert "Idea" in en
    assert "Archive selected initiatives" in en
    assert "Genehmigt" not in en
    assert "Initiativen" not in en


def test_admin_language_switcher_sets_the_language_for_the_next_pages(pmo, portfolio):
    url = reverse("admin:registry_initiative_changelist")
    page = pmo.get(url)
    assert 'action="/i18n/setlang/"' in page.content.decode()
    assert 'value="de"' in page.content.decode()
    assert "Deutsch" in visible_text(page)

    switched = pmo.post(reverse("set_language"), {"language": "de", "next": url})
    assert switched.status_code == 302
    assert switched["Location"] == url
    assert "Ausgewählte Initiativen archivieren" in visible_text(pmo.get(url))

    pmo.post(reverse("set_language"), {"language": "en", "next": url})
    assert "Archive selected initiatives" in visible_text(pmo.get(url))


def test_admin_login_page_offers_the_switcher_before_login(db):
    page = german(Client()).get(reverse("admin:login"))
    text = visible_text(page)
    assert "Anmelden" in text  # Django's own German
    assert "KI-CX-Portfolio-Register" in text
    assert 'action="/i18n/setlang/"' in page.content.decode()


def _move(pmo: Client, initiative: Initiative, to_stage: str) -> str:
    url = reverse("admin:registry_initiative_transition", args=[initiative.pk])
    response = pmo.post(
        url, {"to_stage": to_stage, "note": "", "version": initiative.version}, follow=True
    )
    assert response.status_code == 200
    return visible_text(response)


def test_gate_refusal_in_the_admin_in_german_and_english(pmo, portfolio):
    approved = portfolio["approved"]
    de = _move(german(pmo), approved, choices.Stage.PILOT)
    assert (
        f"{approved.key} kann nicht von Genehmigt zu Pilot wechseln: "
        "Dafür braucht es eine Hypothese und Erfolgskriterien."
    ) in de
    # The move control itself says what each move needs, before asking.
    assert "Pilot (braucht eine Hypothese, Erfolgskriterien)" in de
    assert "Aktuelle Phase:" in de

    en = _move(english(pmo), approved, choices.Stage.PILOT)
    assert (
        f"{approved.key} cannot move from Approved to Pilot: "
        "it needs a hypothesis and success criteria."
    ) in en
    approved.refresh_from_db()
    assert approved.stage == choices.Stage.APPROVED


def test_successful_move_is_reported_in_german(pmo, portfolio):
    idea = portfolio["idea"]
    text = _move(german(pmo), idea, choices.Stage.PROPOSED)
    assert f"{idea.key}: Von Idee nach Vorgeschlagen gewechselt." in text


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def api(pmo) -> APIClient:
    client = APIClient()
    client.force_login(factories.UserFactory(username="pmo-i18n"))
    return client


def test_api_gate_refusal_is_409_in_the_request_language_with_english_codes(api, portfolio):
    approved = portfolio["approved"]
    url = f"{API}initiatives/{approved.key}/transition/"

    de = german(api).post(url, {"to": "pilot"}, format="json")
    assert de.status_code == 409
    error = de.json()["errors"][0]
    assert error["code"] == "gate_not_met"
    assert error["missing"] == ["hypothesis", "success_criteria"]
    assert error["detail"] == (
        f"{approved.key} kann nicht von Genehmigt zu Pilot wechseln: "
        "Dafür braucht es eine Hypothese und Erfolgskriterien."
    )
    assert de["Content-Language"] == "de"

    en = english(api).post(url, {"to": "pilot"}, format="json")
    assert en.status_code == 409
    assert en.json()["errors"][0]["code"] == "gate_not_met"
    assert en.json()["errors"][0]["missing"] == ["hypothesis", "success_criteria"]
    assert en.json()["errors"][0]["detail"] == (
        f"{approved.key} cannot move from Approved to Pilot: "
        "it needs a hypothesis and success criteria."
    )


def test_api_400_in_german_and_english(api, portfolio):
    de = german(api).get(f"{API}initiatives/", {"active_in": "Herbst"})
    assert de.status_code == 400
    assert de.json()["type"] == "validation_error"
    [error] = de.json()["errors"]
    assert error["attr"] == "active_in"
    assert error["detail"] == "„HERBST“ ist kein Quartal wie 2026-Q4."

    en = english(api).get(f"{API}initiatives/", {"active_in": "Herbst"})
    assert en.status_code == 400
    [error_en] = en.json()["errors"]
    assert (error_en["attr"], error_en["code"]) == (error["attr"], error["code"])
    assert error_en["detail"] == "'HERBST' is not a quarter like 2026-Q4."


def test_api_validation_error_of_a_write_in_german(api, portfolio):
    url = f"{API}initiatives/{portfolio['idea'].key}/"
    de = german(api).patch(url, {"budget_planned": "-5"}, format="json")
    assert de.status_code == 400
    details = [e["detail"] for e in de.json()["errors"]]
    codes = [e["code"] for e in de.json()["errors"]]
    en = english(api).patch(url, {"budget_planned": "-5"}, format="json")
    assert [e["code"] for e in en.json()["errors"]] == codes  # codes never translate
    assert details != [e["detail"] for e in en.json()["errors"]]
    assert any(re.search(r"[äöüß]|größer|gleich|mindestens|Budget", d) for d in details)


def test_api_database_rule_message_in_german(api, portfolio):
    """A trigger-enforced rule (no Django constraint) still answers in the reader's language."""
    idea = portfolio["idea"]
    other = factories.InitiativeFactory(owner=idea.owner, lead_department=idea.lead_department)
    url = f"{API}dependencies/"
    first = german(api).post(url, {"initiative": idea.key, "depends_on": other.key})
    assert first.status_code == 201, first.content
    cycle = german(api).post(url, {"initiative": other.key, "depends_on": idea.key})
    assert cycle.status_code == 400, cycle.content
    assert "Diese Abhängigkeit würde einen Kreis bilden." in [
        e["detail"] for e in cycle.json()["errors"]
    ]


def test_api_codes_and_vocabulary_values_stay_english(api, portfolio):
    body = german(api).get(f"{API}initiatives/{portfolio['approved'].key}/").json()
    assert body["stage"] == "approved"
    assert body["kind"] == "chatbot"
    assert body["alignment_level"] == "strong"
    assert set(body["next_stages"]) >= {"pilot", "paused", "stopped"}


# --- the default language and the command line ------------------------------------------------


def test_language_code_from_the_environment_is_the_default(pmo, portfolio, settings):
    """LANGUAGE_CODE=de: a request that names no language gets the German admin."""
    settings.LANGUAGE_CODE = "de"
    page = pmo.get(reverse("admin:registry_initiative_changelist"))
    assert page["Content-Language"] == "de"
    assert "Ausgewählte Initiativen archivieren" in visible_text(page)
    # A user's own choice still wins.
    assert "Archive selected initiatives" in visible_text(
        english(pmo).get(reverse("admin:registry_initiative_changelist"))
    )


def test_import_command_summary_in_german(db):
    sample = Path(__file__).resolve().parents[1] / "data" / "us-federal-2025-sample.csv"
    out = io.StringIO()
    with translation.override("de"):
        call_command(
            "import_initiatives",
            str(sample),
            "--mapping",
            "us-federal-2025",
            "--dry-run",
            "--no-progress",
            stdout=out,
        )
    summary = out.getvalue()
    assert summary.startswith(
        "Probelauf (nichts geschrieben; die Zahlen zeigen, was ein Import täte)"
    )
    assert re.search(r"^  Zeilen gelesen +\d+$", summary, re.MULTILINE)
    assert re.search(r"^  angelegt +\d+$", summary, re.MULTILINE)
    assert "rows read" not in summary


# --- the vocabularies --------------------------------------------------------------------------


def _catalogue() -> dict[tuple[str | None, str], dict[int, str]]:
    return {
        (entry.msgctxt, entry.msgid): entry.msgstr
        for entry in parse_po(GERMAN_PO.read_text(encoding="utf-8"))
        if not entry.is_header
    }


def _vocabularies() -> list[type[models.Choices]]:
    return [
        value
        for value in vars(choices).values()
        if isinstance(value, type)
        and issubclass(value, models.Choices)
        and value.__module__ == choices.__name__
    ]


def test_every_vocabulary_label_has_a_german_entry():
    catalogue = _catalogue()
    vocabularies = _vocabularies()
    assert {v.__name__ for v in vocabularies} >= {
        "Kind",
        "Stage",
        "Touchpoint",
        "JourneyStage",
        "RiskTier",
        "Decision",
        "TeamRoleKind",
        "Gate",
        "AlignmentLevel",
        "Metric",
    }
    for vocabulary in vocabularies:
        for member in vocabulary:
            label = member.label
            context, message = (None, *label._args) if len(label._args) == 1 else label._args
            translations = catalogue.get((context, message))
            assert translations, f"{vocabulary.__name__}.{member.name}: no entry for {message!r}"
            assert all(t.strip() for t in translations.values()), (vocabulary, member)
            # Some words are the same in German (Pilot, Chatbot, API); the label is shown
            # from the catalogue either way.
            with translation.override("de"):
                assert str(label) == translations[0]


def test_german_vocabulary_labels_read_as_the_glossary_says():
    with translation.override("de"):
        stages = [str(label) for label in choices.Stage.labels]
        assert stages == [
            "Idee",
            "Vorgeschlagen",
            "Genehmigt",
            "Pilot",
            "Skalierung",
            "Betrieb",
            "Außer Betrieb",
            "Pausiert",
            "Eingestellt",
        ]
        assert str(choices.VisionStatus.RETIRED.label) == "Abgelöst"
        assert [str(label) for label in choices.Decision.labels] == [
            "Fortführen",
            "Skalieren",
            "Neu ausrichten",
            "Pausieren",
            "Einstellen",
        ]
        assert str(Initiative._meta.verbose_name_plural) == "Initiativen"
        assert str(Initiative._meta.get_field("budget_planned").verbose_name) == "Planbudget"
    assert str(choices.VisionStatus.RETIRED.label) == "Retired"


# --- the untranslated-string check --------------------------------------------------------------


def test_check_passes_on_the_real_catalogue():
    assert any(line.startswith("de: all") for line in check_translations.check())


def _copy_catalogue(tmp_path: Path) -> Path:
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copy, ignore=shutil.ignore_patterns("*.mo"))
    return copy


def _drop_entry(po: Path, msgid: str) -> None:
    text = po.read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    kept = [b for b in blocks if f'\nmsgid "{msgid}"\n' not in f"\n{b}\n"]
    assert len(kept) == len(blocks) - 1
    po.write_text("\n\n".join(kept), encoding="utf-8")


def test_check_fails_when_a_marked_string_has_no_german_entry(tmp_path):
    crafted = _copy_catalogue(tmp_path)
    _drop_entry(catalogue_path(crafted, "de"), "Scaling")
    with pytest.raises(check_translations.TranslationCheckFailedError) as refused:
        check_translations.check(locale_dir=crafted)
    # Extracted afresh, the dropped message comes back empty (or, when msgmerge finds a
    # similar one, as a fuzzy guess): either way the check refuses it.
    assert re.search(r"'Scaling' (has no translation|is fuzzy)", str(refused.value))
    # The project's own catalogue is left as it was.
    assert 'msgid "Scaling"\nmsgstr "Skalierung"' in GERMAN_PO.read_text(encoding="utf-8")


def test_check_fails_on_fuzzy_empty_and_broken_placeholder_entries(tmp_path):
    crafted = _copy_catalogue(tmp_path)
    po = catalogue_path(crafted, "de")
    text = po.read_text(encoding="utf-8")
    text = text.replace(
        'msgid "Pilot"\nmsgstr "Pilot"', '#, fuzzy\nmsgid "Pilot"\nmsgstr "Pilot"', 1
    )
    text = text.replace('msgid "Idea"\nmsgstr "Idee"', 'msgid "Idea"\nmsgstr ""', 1)
    text = text.replace("Von %(from)s nach %(to)s gewechselt.", "Von %(von)s nach %(to)s.", 1)
    po.write_text(text, encoding="utf-8")
    with pytest.raises(check_translations.TranslationCheckFailedError) as refused:
        check_translations.check(locale_dir=crafted, extract=False)
    message = str(refused.value)
    assert "'Pilot' is fuzzy" in message
    assert "'Idea' has no translation" in message
    assert "unknown placeholders ['%(von)']" in message


def test_catalogue_reader_handles_plurals_contexts_and_continuation_lines():
    text = (
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\n'
        '#: a.py:1\n#, python-format\nmsgid "%(n)d row"\nmsgid_plural "%(n)d rows"\n'
        'msgstr[0] "%(n)d Zeile"\nmsgstr[1] ""\n\n'
        'msgctxt "vision status"\nmsgid "Retired"\nmsgstr "Abgelöst"\n\n'
        'msgid ""\n"A long "\n"message"\nmsgstr ""\n"Eine lange "\n"Meldung"\n\n'
        '#~ msgid "Gone"\n#~ msgstr ""\n'
    )
    entries = parse_po(text)
    assert [(e.msgctxt, e.msgid) for e in entries] == [
        (None, ""),
        (None, "%(n)d row"),
        ("vision status", "Retired"),
        (None, "A long message"),
        (None, "Gone"),
    ]
    assert entries[1].msgstr == {0: "%(n)d Zeile", 1: ""}
    assert entries[3].msgstr == {0: "Eine lange Meldung"}
    assert entries[4].obsolete
    assert catalogue_problems(text) == ["a.py:1: '%(n)d row' has no translation"]


def test_the_german_catalogue_has_a_glossary_and_a_clean_header():
    text = GERMAN_PO.read_text(encoding="utf-8")
    assert text.startswith("# German catalogue")
    for line in ("initiative            → Initiative", "vision                → Zielbild"):
        assert line in text
    header = parse_po(text)[0]
    assert header.is_header
    assert "fuzzy" not in header.flags
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr[0]


def test_dates_and_numbers_in_the_admin_follow_the_language(pmo, portfolio):
    approved = portfolio["approved"]
    Initiative.objects.filter(pk=approved.pk).update(
        target_date=datetime.date(2026, 12, 31), budget_planned="1234567.50"
    )
    url = reverse("admin:registry_initiative_changelist")
    assert "31. Dezember 2026" in visible_text(german(pmo).get(url))
    assert "Dec. 31, 2026" in visible_text(english(pmo).get(url))


# --- the final pass: a German PMO meets no English label --------------------------------------

# English words of third-party pages that no catalogue of ours carries.
THIRD_PARTY_ENGLISH = frozenset({"Pghistory", "Events", "events", "Tracks", "References"})
PLACEHOLDER = re.compile(r"%\(|%[sd]|\{")


def english_labels() -> set[str]:
    """Every English message of ours whose German differs, as a reader would meet it."""
    labels = set(THIRD_PARTY_ENGLISH)
    for entry in parse_po(GERMAN_PO.read_text(encoding="utf-8")):
        if entry.is_header or PLACEHOLDER.search(entry.msgid) or len(entry.msgid) > 80:
            continue
        german_text = entry.msgstr.get(0, "")
        if german_text.strip().lower() != entry.msgid.strip().lower():
            labels.add(entry.msgid.strip())
    return labels


def german_texts() -> set[str]:
    return {
        text.strip().lower()
        for entry in parse_po(GERMAN_PO.read_text(encoding="utf-8"))
        for text in entry.msgstr.values()
    }


def data_texts() -> set[str]:
    """What the registry's rows say (names, slugs, job titles, sources): data, not labels.

    Choice fields are left out: their codes must never reach a reader; so are the report
    rollups, summary tables of such codes (stage, kind, dimension names) no page shows.
    """
    texts = set()
    for model in apps.get_app_config("registry").get_models():
        if model.__module__ == "registry.models.rollup":
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField) and not field.choices:
                texts |= {
                    str(value).strip().lower()
                    for value in model._default_manager.values_list(field.attname, flat=True)
                    if value
                }
    return texts


def english_leftovers(response, labels: set[str], exempt: set[str] | None = None) -> list[str]:
    """Text nodes of a page that are one of our English labels (capitalised or not).

    A node that is also German (E-Mail), a language's own name in the switcher, or a value
    of the portfolio's data (the demo portfolio is English) is not a leftover.
    """
    if exempt is None:
        exempt = german_texts() | data_texts() | {"english", "deutsch"}
    content = response.content.decode()
    content = re.sub(r"(?is)<(script|style|textarea|code)\b.*?</\1>", "<x>", content)
    nodes = [
        html.unescape(node).strip().rstrip(":").strip() for node in re.split(r"<[^>]*>", content)
    ]
    folded = {label.lower() for label in labels} - exempt
    return sorted({node for node in nodes if node and node.lower() in folded})


@pytest.fixture
def demo_portfolio(db):
    from registry.demo import ensure_demo_logins, load_demo_portfolio

    load_demo_portfolio()
    ensure_demo_logins()


def _admin_pages() -> list[str]:
    from registry.models import Goal, Person, Review, ReviewDecision, System, Vision

    initiative = (
        Initiative.objects.filter(alignments__isnull=False, notes__isnull=False)
        .distinct()
        .order_by("key")
        .first()
    )
    review = Review.objects.order_by("period").first()
    pages = [
        reverse("admin:index"),
        reverse("admin:app_list", args=["registry"]),
        reverse("admin:registry_initiative_changelist") + "?alignment=none",
        reverse("admin:registry_initiative_change", args=[initiative.pk]),
        reverse("admin:registry_initiative_add"),
        reverse("admin:registry_goal_change", args=[Goal.objects.first().pk]),
        reverse("admin:registry_vision_change", args=[Vision.objects.first().pk]),
        reverse("admin:registry_review_change", args=[review.pk]),
        reverse("admin:registry_reviewdecision_change", args=[ReviewDecision.objects.first().pk]),
        reverse("admin:registry_person_change", args=[Person.objects.first().pk]),
        reverse("admin:registry_system_change", args=[System.objects.first().pk]),
        reverse("registry_import:start"),
        # The change history the History button opens (the PMO holds its view permission).
        reverse("admin:pghistory_events_changelist")
        + f"?obj=registry.Initiative:{initiative.pk}&method=tracks",
    ]
    for model_admin in admin_site_registry():
        opts = model_admin.model._meta
        if opts.app_label == "registry":
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    return pages


def admin_site_registry():
    from django.contrib import admin

    return list(admin.site._registry.values())


def test_a_german_pmo_meets_no_english_label_in_the_admin(demo_portfolio):
    client = german(Client())
    assert client.login(username="pmo", password="pmo-demo")
    labels = english_labels()
    assert {"Scaling", "Stage", "alignment level", "Events"} <= labels
    exempt = german_texts() | data_texts() | {"english", "deutsch"}
    leftovers = {}
    for url in _admin_pages():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Language"] == "de", url
        found = english_leftovers(response, labels, exempt)
        if found:
            leftovers[url] = found
    assert leftovers == {}, "\n".join(f"{url}: {found}" for url, found in leftovers.items())
    # The same pass over the English page finds the labels: it tells the languages apart.
    english_page = english(client).get(reverse("admin:registry_initiative_changelist"))
    assert {"Stage", "Kind"} <= set(english_leftovers(english_page, labels, exempt))


# --- the dashboard, the review pages, the board summary and the exports ------------------------


@pytest.fixture
def reviewed(pmo, portfolio):
    """A 2026-Q4 review of the active vision that decided to scale a pilot."""
    from registry.services import reviews

    approved = portfolio["approved"]
    Initiative.objects.filter(pk=approved.pk).update(
        stage=choices.Stage.PILOT,
        learnings="Kundinnen nehmen den Bot an.",
        start_date=datetime.date(2026, 1, 1),
        budget_planned="1234567.50",
    )
    approved.refresh_from_db()
    user = factories.UserFactory(username="pmo-i18n")
    review = reviews.review_open(
        vision=approved.alignments.get().goal.vision, period="2026-Q4", actor=user
    )
    reviews.review_decide(
        review=review,
        initiative=approved,
        decision=choices.Decision.SCALE,
        rationale="Trägt das NPS-Ziel.",
        apply_move=True,
        actor=user,
    )
    return review


def board(name: str, *args: object) -> str:
    return reverse(f"registry_board:{name}", args=args)


def test_dashboard_in_german_and_english(pmo, reviewed):
    url = board("dashboard") + "?period=2026-Q4"
    de = visible_text(german(pmo).get(url))
    for words in (
        "Portfolio-Dashboard",
        "Ausrichtungs-Heatmap: CX-Ziele × federführende Bereiche",
        "Phasentrichter",
        "Fortschritt der CX-Ziele",
        "Initiativen, die in 2026-Q4 laufen",
        "Quartalsreviews",
        "Vorstandsübersicht",
        "Skalierung",  # a stage of the funnel
    ):
        assert words in de, words
    assert "1.234.567 EUR" in de  # planned budget, German grouping

    en = visible_text(english(pmo).get(url))
    for words in ("Portfolio dashboard", "Stage funnel", "initiatives active in 2026-Q4"):
        assert words in en, words
    assert "1,234,567 EUR" in en
    assert "Phasentrichter" not in en


def test_review_page_in_german_shows_labels_not_codes(pmo, reviewed):
    key = Initiative.objects.get(review_decisions__review=reviewed).key
    url = board("review", reviewed.pk) + f"?initiative={key}"
    de = visible_text(german(pmo).get(url))
    assert "Review 2026-Q4" in de
    assert "Entscheidung: Skalieren" in de
    assert "gewechselt Pilot → Skalierung" in de
    assert "Art Chatbot / virtueller Assistent" in de
    assert "1.234.567 EUR geplant" in de
    assert "Mit dem vorigen Review vergleichen" in de
    for code in (" scale ", "pilot → scaling", " strong "):
        assert code not in f" {de} "

    en = visible_text(english(pmo).get(url))
    assert "Decision: Scale" in en
    assert "moved Pilot → Scaling" in en


def test_board_summary_in_german_and_english(pmo, reviewed):
    de_page = german(pmo).get(board("review-summary", reviewed.pk))
    assert '<html lang="de">' in de_page.content.decode()
    de = visible_text(de_page)
    assert "Quartalsreview des Portfolios 2026-Q4" in de
    assert "Skalieren (1)" in de
    assert "Skalierung" in de  # the stage column, as a label
    assert "Stark" in de  # the alignment column
    assert "1.234.568 EUR" in de
    assert "Seit dem vorigen Review" in de

    en = visible_text(english(pmo).get(board("review-summary", reviewed.pk)))
    assert "Quarterly portfolio review 2026-Q4" in en
    assert "Scale (1)" in en
    assert "1,234,568 EUR" in en


def test_review_csv_export_speaks_the_readers_language(pmo, reviewed):
    import csv

    de = german(pmo).get(board("review-export-csv", reviewed.pk))
    rows = list(csv.reader(io.StringIO(de.content.decode("utf-8-sig"))))
    header, row = rows[0], rows[1]
    assert header[:3] == ["Schlüssel", "Initiative", "Entscheidung"]
    record = dict(zip(header, row, strict=True))
    assert record["Entscheidung"] == "Skalieren"
    assert record["Wechsel vollzogen"] == "Pilot → Skalierung"
    assert record["Ausrichtung"] == "Stark"
    assert record["Silo"] in ("ja", "nein")

    en = english(pmo).get(board("review-export-csv", reviewed.pk))
    en_rows = list(csv.reader(io.StringIO(en.content.decode("utf-8-sig"))))
    assert en_rows[0][:3] == ["Key", "Initiative", "Decision"]
    assert dict(zip(en_rows[0], en_rows[1], strict=True))["Decision"] == "Scale"


def test_review_xlsx_export_has_german_headers_and_locale_formats(pmo, reviewed):
    from openpyxl import load_workbook

    response = german(pmo).get(board("review-export-xlsx", reviewed.pk))
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook[reviewed.period]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Schlüssel", "Initiative", "Entscheidung"]
    row = {header[cell.column - 1]: cell for cell in sheet[2]}
    assert row["Entscheidung"].value == "Skalieren"
    assert row["Phase"].value == "Pilot"  # the stage the board saw (the same word in German)
    assert row["Planbudget"].value == pytest.approx(1234567.5)
    assert row["Planbudget"].number_format == "#,##0.00"  # Excel shows 1.234.567,50
    assert row["Entschieden am"].is_date
    assert row["Entschieden am"].number_format == "DD.MM.YYYY HH:MM"
    about = workbook[workbook.sheetnames[1]]
    assert workbook.sheetnames[1] == "Zu"
    assert [cell.value for cell in about["A"]][:3] == ["Zielbild", "Quartal", "Status"]

    english_book = load_workbook(
        io.BytesIO(english(pmo).get(board("review-export-xlsx", reviewed.pk)).content)
    )
    english_sheet = english_book[reviewed.period]
    assert [cell.value for cell in english_sheet[1]][:3] == ["Key", "Initiative", "Decision"]
    english_header = [cell.value for cell in english_sheet[1]]
    decided_at = english_sheet.cell(row=2, column=english_header.index("Decided at") + 1)
    assert decided_at.number_format == "YYYY-MM-DD HH:MM"


def test_label_filters_and_signed_numbers():
    from registry.i18n import labels

    with translation.override("de"):
        assert labels.label_of("stage", "scaling") == "Skalierung"
        assert labels.label_of("decision", "pivot") == "Neu ausrichten"
        assert labels.label_of("stage", "unknown-code") == "unknown-code"
        assert labels.label_of("stage", None) == ""
        assert labels.move_label({"from": "pilot", "to": "scaling"}) == "Pilot → Skalierung"
        assert labels.signed_number(25) == "+25,0"
        assert labels.signed_number(-1.25, 2) == "−1,25"
    with translation.override("en"):
        assert labels.signed_number(25) == "+25.0"


def test_a_german_board_meets_no_english_label_in_the_quarterly_review(demo_portfolio):
    """The whole review as the German PMO does it: dashboard, review, compare, summary."""
    from registry.models import Review

    client = german(Client())
    assert client.login(username="pmo", password="pmo-demo")
    labels = english_labels()
    exempt = german_texts() | data_texts() | {"english", "deutsch"}
    review = Review.objects.order_by("-period").first()
    pages = [
        board("dashboard"),
        board("dashboard") + f"?period={review.period}",
        board("review", review.pk),
        board("review-compare", review.pk),
        board("review-summary", review.pk),
    ]
    leftovers = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        found = english_leftovers(response, labels, exempt)
        if found:
            leftovers[url] = found
    assert leftovers == {}, "\n".join(f"{url}: {found}" for url, found in leftovers.items())


def test_check_finds_messages_marked_inside_f_strings():
    from tools.translation_check import gettext_in_fstrings

    source = (
        "from django.utils.translation import gettext as _\n"
        "no_goal = _('No goal')\n"
        'title = f"{no_goal} × {name}"\n'
        "hidden = f\"{_('no lead department')} × {name}\"\n"
    )
    assert gettext_in_fstrings(source, "registry/example.py") == [
        "registry/example.py:4: _('no lead department') is inside an f-string, where "
        "makemessages cannot see it; assign it to a name first"
    ]


def test_the_import_in_german_from_upload_to_preview(pmo, portfolio):
    """The spreadsheet import, mapping names and descriptions included, speaks German."""
    sample = Path(__file__).resolve().parents[1] / "data" / "us-federal-2025-sample.csv"
    start = german(pmo).get(reverse("registry_import:start"))
    text = visible_text(start)
    assert "KI-Anwendungsverzeichnis der US-Bundesbehörden (Aufbau 2025)" in text
    assert "Das Verzeichnis kennt keine verantwortlichen Personen" in text
    labels = english_labels()
    assert english_leftovers(start, labels) == []
    with sample.open("rb") as upload:
        preview = german(pmo).post(
            reverse("registry_import:start"),
            {"file": upload, "mapping": "us-federal-2025", "source": "", "atomic": "on"},
            follow=True,
        )
    assert preview.status_code == 200
    text = visible_text(preview)
    assert "Vorschau" in text
    assert "mit der Zuordnung KI-Anwendungsverzeichnis der US-Bundesbehörden (Aufbau 2025)" in text
    assert "Noch ist nichts geschrieben" in text
    assert english_leftovers(preview, labels) == []
