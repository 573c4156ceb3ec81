"""The JSON API for agents and scripts, under /api/v1/: the same jobs, budgets and ledger as the pages.

Built with django-ninja: the OpenAPI schema (/api/v1/openapi.json) and the interactive docs
(/api/v1/docs) come from the code. Every endpoint needs a personal API token and acts as its
person; errors are problem+json (`research.api.errors`). docs/api.md is the guide.

Like the pages, this face acts through `research.jobs` and reads through `leads`, `exports`,
`spend`, `budgets`, `pricing`: it never reaches the spending side itself.
"""

from ninja import NinjaAPI, Router

from . import endpoints, errors, reading
from .auth import TokenAuth, TokenRateThrottle

api = NinjaAPI(
    title="Lead finder API",
    version="1",
    description=(
        "Quote, launch and follow Clado deep-research jobs, page through their leads, export CSV "
        "and read your spend, with a personal API token (`Authorization: Bearer cdr_…`, from "
        "/account/tokens/). Money is base units (6 decimals) with a dollar string beside it. "
        "Errors are application/problem+json with a stable `type` per cause."
    ),
    urls_namespace="api",
    auth=TokenAuth(),
    throttle=[TokenRateThrottle()],
)
errors.install(api)
problems = Router(tags=["problems"])


@problems.get("/problems/{kind}", auth=None, throttle=[], summary="What a problem type means")
def problem(request, kind: str):
    if kind not in errors.PROBLEMS:
        raise errors.Problem("not-found", f"No problem type {kind[:40]!r}.")
    return errors.describe(kind)


api.add_router("/", endpoints.router)
api.add_router("/", reading.router)
api.add_router("/", problems)
