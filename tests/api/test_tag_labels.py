"""Tags are labels: a name people read ("Classical ML") and a slug tools use (classical-ml).

Tools and spreadsheets name tags either way; an unknown one is created only for the PMO and
for integrations whose token may create tags — everyone else gets the item refused with the
unknown labels listed. Tried through the tags endpoint, the sync endpoints, the admin's token
page and the import.
"""

from __future__ import annotations

import pytest

from registry.models import ApiToken, Initiative, Tag
from registry.spreadsheets import imports
from registry.sync import upsert
from tests.api.support import API, error_attrs, error_codes, make_portfolio

TAGS = f"{API}tags/"
BATCH = f"{API}initiatives/sync/"


@pytest.fixture
def portfolio(db):
    return make_portfolio()


def item(external_id: str, **fields):
    return {"external_id": external_id, "name": "Claims triage", "kind": "automation", **fields}


def allow_tags(portfolio) -> None:
    ApiToken.objects.filter(pk=portfolio.tokens["jira"][0].pk).update(can_create_tags=True)


def test_the_pmo_creates_a_tag_by_name_and_the_slug_is_derived(portfolio):
    pmo = portfolio.client("pmo")

    response = pmo.post(TAGS, {"name": "  Classical   ML "}, format="json")

    assert response.status_code == 201
    assert (response.json()["name"], response.json()["slug"]) == ("Classical ML", "classical-ml")
    shown = pmo.get(f"{TAGS}classical-ml/").json()
    assert shown["name"] == "Classical ML"
    assert shown["url"].endswith("/tags/classical-ml/")


def test_a_tag_with_the_same_slug_is_a_400_naming_the_field(portfolio):
    pmo = portfolio.client("pmo")
    pmo.post(TAGS, {"name": "Classical ML"}, format="json")

    response = pmo.post(TAGS, {"name": "classical-ml"}, format="json")

    assert response.status_code == 400
    assert error_attrs(response) == ["name"]
    assert error_codes(response) == ["unique"]
    assert "Classical ML" in response.json()["errors"][0]["detail"]
    assert Tag.objects.filter(slug="classical-ml").count() == 1


def test_renaming_a_tag_keeps_its_slug(portfolio):
    pmo = portfolio.client("pmo")

    response = pmo.patch(f"{TAGS}gdpr/", {"name": "GDPR"}, format="json")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["slug"]) == ("GDPR", "gdpr")


@pytest.mark.parametrize("role", ["viewer", "contributor", "integration", "norole"])
def test_only_the_pmo_and_allowed_tokens_create_tags(portfolio, role):
    response = portfolio.client(role).post(TAGS, {"name": "Law Enforcement"}, format="json")

    assert response.status_code == 403
    assert not Tag.objects.filter(slug="law-enforcement").exists()


def test_a_token_that_may_create_tags_creates_them_but_edits_none(portfolio):
    allow_tags(portfolio)
    jira = portfolio.client("integration")

    assert jira.post(TAGS, {"name": "Law Enforcement"}, format="json").status_code == 201
    assert jira.patch(f"{TAGS}gdpr/", {"name": "x"}, format="json").status_code == 403
    assert jira.delete(f"{TAGS}law-enforcement/").status_code == 403


def test_sync_names_tags_by_label_or_slug(portfolio):
    jira = portfolio.client("integration")

    response = jira.post(
        BATCH, {"source": "jira", "items": [item("T-1", tags=["GDPR", "gdpr"])]}, format="json"
    )

    assert response.status_code == 200, response.json()
    initiative = Initiative.objects.get(external_id="T-1")
    assert list(initiative.tags.values_list("slug", flat=True)) == ["gdpr"]
    assert jira.get(f"{API}initiatives/{initiative.key}/").json()["tags"] == ["gdpr"]


def test_sync_refuses_unknown_labels_for_a_token_that_may_not_create_tags(portfolio):
    jira = portfolio.client("integration")
    labels = ["Classical ML", "Law Enforcement", "gdpr"]

    response = jira.post(
        BATCH,
        {"source": "jira", "items": [item("T-1", tags=labels), item("T-2", tags=["gdpr"])]},
        format="json",
    )

    assert response.status_code == 400
    [first, second] = response.json()["items"]
    [error] = first["errors"]
    assert (error["attr"], error["code"]) == ("tags", "does_not_exist")
    assert "Classical ML, Law Enforcement" in error["detail"]
    assert (second["result"], second.get("errors", [])) == ("not_written", [])
    assert not Tag.objects.filter(slug__in=["classical-ml", "law-enforcement"]).exists()
    assert not Initiative.objects.filter(source="jira", external_id__startswith="T-").exists()


def test_sync_creates_unknown_labels_for_a_token_that_may(portfolio):
    allow_tags(portfolio)
    jira = portfolio.client("integration")
    labels = ["Classical ML", "Law Enforcement", "gdpr"]

    response = jira.post(
        BATCH,
        {
            "source": "jira",
            "items": [item("T-1", tags=labels), item("T-2", tags=["law enforcement"])],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert set(Tag.objects.values_list("slug", "name")) >= {
        ("classical-ml", "Classical ML"),
        ("law-enforcement", "Law Enforcement"),
    }
    one = Initiative.objects.get(external_id="T-1")
    assert sorted(one.tags.values_list("slug", flat=True)) == [
        "classical-ml",
        "gdpr",
        "law-enforcement",
    ]
    two = Initiative.objects.get(external_id="T-2")
    assert list(two.tags.values_list("slug", flat=True)) == ["law-enforcement"]

    again = jira.post(BATCH, {"source": "jira", "items": [item("T-1", tags=labels)]}, format="json")

    assert [i["result"] for i in again.json()["items"]] == ["unchanged"]


def test_a_dry_run_or_a_refused_batch_creates_no_tag(portfolio):
    pmo = portfolio.users["pmo"]
    preview = upsert.sync_batch(
        source="jira", items=[item("T-1", tags=["Brand New"])], actor=pmo, dry_run=True
    )
    refused = upsert.sync_batch(
        source="jira",
        items=[item("T-2", tags=["Brand New"]), item("T-3", kind="spaceship")],
        actor=pmo,
    )

    assert preview.items[0].result == "created"
    assert not refused.written
    assert not Tag.objects.filter(slug="brand-new").exists()


def test_a_tag_made_from_a_slug_alone_is_named_by_it(db):
    tag = Tag.objects.create(slug="quick-win")
    bulk = Tag.objects.bulk_create([Tag(name="Law Enforcement")])

    assert tag.name == "quick-win"
    assert bulk[0].slug == "law-enforcement"


def test_the_admin_token_page_sets_whether_a_token_may_create_tags(portfolio, pmo_client):
    client = pmo_client
    token = portfolio.tokens["jira"][0]

    page = client.get(f"/admin/registry/apitoken/{token.pk}/change/")
    assert 'name="can_create_tags"' in page.text
    response = client.post(
        f"/admin/registry/apitoken/{token.pk}/change/",
        {
            "name": token.name,
            "user": token.user_id,
            "source": token.source,
            "can_create_tags": "on",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )

    assert response.status_code == 302, response.text[:2000]
    token.refresh_from_db()
    assert token.can_create_tags


SIMPLE_MAPPING = {
    "name": "Simple",
    "id": "ID",
    "create_missing_tags": True,
    "fields": {
        "name": "Title",
        "kind": {"value": "other"},
        "tags": {"column": "Topics", "split": ";"},
    },
}


def test_import_creates_labels_only_for_an_actor_that_may(portfolio):
    data = b"ID,Title,Topics\nA-1,Bot,Law Enforcement; GDPR\nA-2,Bot 2,law enforcement\n"
    mapping = imports.parse_mapping(SIMPLE_MAPPING, slug="simple")

    refused = imports.import_file(
        data, mapping=mapping, source="jira", actor=portfolio.users["integration"], atomic=False
    )

    assert refused.counts()["rejected"] == 2
    assert "Unknown tags: Law Enforcement." in refused.rejections()[0]["message"]
    assert not Tag.objects.filter(slug="law-enforcement").exists()

    report = imports.import_file(data, mapping=mapping, source="jira", actor=portfolio.users["pmo"])

    assert report.counts()["created"] == 2
    assert report.tags_created == ["Law Enforcement"]
    assert Tag.objects.get(slug="law-enforcement").name == "Law Enforcement"
    tagged = Initiative.objects.get(external_id="A-1").tags.values_list("slug", flat=True)
    assert sorted(tagged) == ["gdpr", "law-enforcement"]


def test_loading_tags_with_deferred_fields_costs_no_extra_query(db, django_assert_num_queries):
    Tag.objects.bulk_create([Tag(name=f"Label {n}") for n in range(5)])

    with django_assert_num_queries(1):
        assert len([tag.pk for tag in Tag.objects.only("id")]) == 5
