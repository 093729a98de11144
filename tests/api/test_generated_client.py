"""A client generated from `/api/schema/` with openapi-python-client runs README's API tour
against a live server: get a token, list with filters, read one, create, align, transition,
sync one and a batch, follow the change feed, read the reports.

The generated code parses every answer into typed models and refuses what its schema does
not allow (a missing required field, an unknown enum value such as "" for a stage), so the
tour fails the moment the schema and the API part ways. Generation is offline: the
generator is a dev dependency (pinned in constraints.txt), fed the schema the server serves;
no formatter runs afterwards.

The server is gunicorn (production settings) on the test database, loaded with the demo
portfolio as `make run` loads it.
"""

from __future__ import annotations

import datetime
import importlib
import io
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.management import call_command

from reliability.live import LiveServer, production_env
from tests import processes
from tests.processes import database_url

PACKAGE = "registry_client"


@pytest.fixture
def live_registry(transactional_db, tmp_path):
    """gunicorn on the test database with the demo portfolio and its logins."""
    call_command("load_demo", stdout=io.StringIO())
    env = production_env(database_url(), DATABASE_CONN_MAX_AGE="0")
    server = LiveServer(env, workers=2, log_path=tmp_path / "gunicorn.log").start()
    try:
        yield server
    finally:
        server.stop()


def generate_client(schema_url: str, folder: Path) -> ModuleType:
    """Generate the client package from the served schema into `folder` and import it."""
    schema = requests.get(schema_url, timeout=120)
    schema.raise_for_status()
    (folder / "openapi.json").write_bytes(schema.content)
    (folder / "config.yaml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = processes.run(
        [
            str(generator),
            "generate",
            "--path",
            str(folder / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(folder / "config.yaml"),
        ],
        cwd=folder,
        timeout=180,
    )
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    return importlib.import_module(PACKAGE)


@pytest.fixture
def generated(live_registry, tmp_path):
    """The generated package (imported from a temporary folder, forgotten afterwards)."""
    try:
        yield generate_client(f"{live_registry.url}/api/schema/?format=json", tmp_path)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_readme_tour_through_a_generated_client(live_registry, generated):
    models = module("models")
    stage = models.StageEnum

    # Get a token (README: manage.py create_token … --user pmo).
    out = io.StringIO()
    call_command("create_token", "generated-client", "--user", "pmo", stdout=out)
    client = generated.AuthenticatedClient(
        base_url=live_registry.url,
        token=out.getvalue().strip(),
        prefix="Token",
        raise_on_unexpected_status=True,
    )
    list_initiatives = module("api.initiatives.initiatives_list")

    # Which pilots serve no goal of the active vision? What serves G-NPS in 2026-Q4?
    pilots = list_initiatives.sync(
        client=client,
        stage=[models.InitiativesListStageItem.PILOT],
        alignment=[models.InitiativesListAlignmentItem.NONE],
    )
    assert isinstance(pilots, models.PaginatedInitiativeList), pilots
    assert pilots.count > 0
    assert {item.stage for item in pilots.results} == {stage.PILOT}
    serving = list_initiatives.sync(client=client, goal="G-NPS", active_in="2026-Q4")
    assert isinstance(serving, models.PaginatedInitiativeList), serving
    assert serving.count > 0
    assert all(isinstance(item, models.Initiative) for item in serving.results)

    # Create, align, read (ETag), PATCH with If-Match, move to pilot through the gates.
    created = module("api.initiatives.initiatives_create").sync(
        client=client,
        body=models.InitiativeRequest(
            name="Outage notification bot",
            summary="Tells customers about outages in their area.",
            kind=models.InitiativeKindEnum.CHATBOT,
            owner="anna.meyer@nordlicht-energie.example",
            lead_department="customer-service",
            touchpoints=[models.TouchpointsEnum.APP],
            journey_stages=[models.JourneyStagesEnum.SUPPORT],
        ),
    )
    assert isinstance(created, models.InitiativeWrite), created
    key = created.key
    assert created.stage == stage.IDEA
    assert created.paused_from is None
    aligned = module("api.alignments.alignments_create").sync(
        client=client,
        body=models.AlignmentRequest(
            initiative=key, goal="G-NPS", strength=models.StrengthEnum.VALUE_3, is_primary=True
        ),
    )
    assert isinstance(aligned, models.Alignment), aligned
    assert aligned.initiative.key == key
    read = module("api.initiatives.initiatives_retrieve").sync_detailed(key, client=client)
    assert isinstance(read.parsed, models.Initiative), read.parsed
    assert read.headers["ETag"] == f'"{read.parsed.version}"'
    assert read.parsed.alignment_level.value == "strong"
    patched = module("api.initiatives.initiatives_partial_update").sync(
        key,
        client=client,
        if_match=read.headers["ETag"],
        body=models.PatchedInitiativeRequest(
            hypothesis="Proactive outage messages cut outage calls by a third.",
            success_criteria="Outage calls -30% in the pilot region within 8 weeks.",
        ),
    )
    assert isinstance(patched, models.InitiativeWrite), patched
    transition = module("api.initiatives.initiatives_transition_create")
    for target in (stage.PROPOSED, stage.APPROVED, stage.PILOT):
        moved = transition.sync(key, client=client, body=models.TransitionRequest(to=target))
        assert isinstance(moved, models.Initiative), moved
        assert moved.stage == target
    refused = transition.sync(key, client=client, body=models.TransitionRequest(to=stage.PAUSED))
    assert isinstance(refused, models.ErrorResponse409), refused  # a pause needs a note

    # Sync one initiative twice (201 created, then 200 unchanged), then a batch.
    sync_one = module("api.initiatives.initiatives_sync_one")
    answers = [
        sync_one.sync_detailed(
            "jira",
            "CX-101",
            client=client,
            body=models.SyncItemRequest(
                name="Billing chatbot", kind=models.InitiativeKindEnum.CHATBOT, stage=stage.PILOT
            ),
        )
        for _attempt in range(2)
    ]
    assert [answer.status_code for answer in answers] == [201, 200]
    assert [answer.parsed.result.value for answer in answers] == ["created", "unchanged"]
    batch = module("api.initiatives.initiatives_sync_batch").sync(
        client=client,
        idempotency_key="jira-batch-0001",
        body=models.SyncBatchRequest(
            source="jira",
            items=[
                models.SyncItemRequest(
                    external_id="CX-102", name="Triage", kind=models.InitiativeKindEnum.AUTOMATION
                )
            ],
        ),
    )
    assert isinstance(batch, models.SyncBatchResponse), batch
    assert [item.result.value for item in batch.items] == ["created"]

    # The change feed: cursor pages with `resume`, rows (and tombstones) oldest first.
    feed = list_initiatives.sync(
        client=client,
        updated_since=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        include_archived=True,
        page_size=500,
    )
    assert isinstance(feed, models.PaginatedInitiativeFeedItemList), feed
    assert feed.resume
    assert any(getattr(row, "key", None) == key for row in feed.results)
    cursor = parse_qs(urlsplit(feed.resume).query)["cursor"][0]
    resumed = list_initiatives.sync(client=client, cursor=cursor)
    assert isinstance(resumed, models.PaginatedInitiativeFeedItemList), resumed

    # Reports for the quarterly review, and where they are served.
    portfolio = module("api.reports.reports_portfolio_retrieve").sync(
        client=client, period="2026-Q4"
    )
    assert isinstance(portfolio, models.PortfolioReport), portfolio
    matrix = module("api.reports.reports_alignment_matrix_retrieve").sync(client=client)
    assert isinstance(matrix, models.AlignmentMatrixReport), matrix
    overlaps = module("api.reports.reports_overlaps_retrieve").sync(client=client)
    assert isinstance(overlaps, models.OverlapsReport), overlaps
    index = module("api.reports.reports_list").sync(client=client)
    assert isinstance(index, models.ReportIndex), index
    assert index.portfolio.endswith("/api/v1/reports/portfolio/")
