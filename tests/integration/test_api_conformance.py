"""Issue 18 (REC-4, X-6): the JSON API agrees with its own OpenAPI description. schemathesis,
driven only by /api/v1/openapi.json as an organisation's token sees it, runs all its checks on
every operation the description has (coverage and fuzzing, valid and invalid data), then the
stateful phase (create → read → update along the description's links), against gunicorn on the
test database with DEBUG off. Any finding fails the test; so does a 500, an answer the
description does not list, or valid data refused.

Deterministic: a fixed seed, derandomized Hypothesis, no example database."""

import re
import sys
from collections import Counter

import hypothesis
import pytest
import schemathesis
from django_scopes import scope, scopes_disabled

from records.api import api_token_create
from records.models import Account, CustomField
from tests.users.factories import CrmUserFactory, OrganizationFactory
from tests.workers import Process, process_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SEED = 18
# Enough for every operation within ~2 minutes on a loaded 2-core machine: the coverage phase
# adds its own boundary cases (empty, too long, each wrong type) whatever this says.
MAX_EXAMPLES = 10
STATEFUL_SCENARIOS = 15
STATEFUL_STEPS = 6
# One custom field of every type, so each type's rule is in the description and fuzzed.
CUSTOM_FIELDS = [
    ("note", "text", [], True),
    ("work_email", "email", [], False),
    ("fax", "phone", [], False),
    ("plan", "picklist", ["Gold", "Silver"], False),
    ("topics", "multiselect", ["News", "Offers"], False),
    ("seats", "number", [], False),
    ("budget", "currency", [], False),
    ("birthday", "date", [], False),
    ("met_at", "datetime", [], False),
    ("vip", "checkbox", [], False),
]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, django_db_setup):
    """gunicorn serving the app on a free port, ready when it says where it listens. The rate
    limit is lifted: the fuzzer makes thousands of requests a minute."""
    env = process_env(API_RATE_LIMIT_PER_MINUTE="1000000000", DEBUG="false")
    command = [sys.executable, "-m", "gunicorn", "crm_portal.wsgi", "--bind", "127.0.0.1:0"]
    logs = tmp_path_factory.mktemp("gunicorn")
    server = Process("gunicorn", [*command, "--workers", "1"], env, logs)
    server.until_ready("Booting worker")
    yield re.search(r"Listening at: (http://\S+)", server.log())[1]
    server.stop()


@pytest.fixture
def api_secret():
    """An organisation with a custom field of every type, two accounts and a token."""
    with scopes_disabled():
        org = OrganizationFactory(name="Fuzz", slug="fuzz")
        admin = CrmUserFactory(org=org, is_super_admin=True)
        for position, (key, kind, choices, required) in enumerate(CUSTOM_FIELDS):
            CustomField.objects.create(
                org=org,
                module="contacts",
                key=key,
                label=key.replace("_", " ").capitalize(),
                field_type=kind,
                choices=choices,
                required=required,
                position=position,
            )
        Account.objects.create(org=org, name="Acme")
        Account.objects.create(org=org, name="Globex")
    with scope(org=org):
        return api_token_create(org=org, actor=admin, name="Fuzzer")[1]


@pytest.fixture
def api_schema(api_server, api_secret):
    auth = {"Authorization": f"Bearer {api_secret}"}
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": auth,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
        }
    )
    return schemathesis.openapi.from_url(
        f"{api_server}/api/v1/openapi.json", config=config, headers=auth
    )


@pytest.fixture
def answers(api_schema):
    """Statuses per operation. Afterwards every operation of the description must have been
    called, and the token must have worked (contacts created and listed, not just 401s)."""
    seen: dict[str, Counter] = {}
    yield seen
    every = {result.ok().label for result in api_schema.get_all_operations()}
    assert set(seen) == every
    assert seen["POST /contacts/"][201] and seen["GET /contacts/"][200], seen


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_rec4_every_operation_does_what_the_description_says(case, answers):
    response = case.call_and_validate()
    answers.setdefault(case.operation.label, Counter())[response.status_code] += 1


def test_rec4_create_read_update_along_the_links_does_what_the_description_says(api_schema):
    statuses = Counter()

    class Scenarios(api_schema.as_state_machine()):
        def after_call(self, response, case):
            super().after_call(response, case)
            statuses[(case.operation.label, response.status_code)] += 1

    Scenarios.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    assert statuses[("POST /contacts/", 201)], statuses
    assert statuses[("PATCH /contacts/{contact_id}/", 200)], statuses
    assert statuses[("GET /contacts/{contact_id}/", 200)], statuses
