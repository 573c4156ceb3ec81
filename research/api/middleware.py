"""Errors Django answers itself under /api/ (no such path, a wrong method, a crash outside a view)
become problem+json too, so a program never has to parse an HTML error page."""

from . import errors

# Statuses Django or ninja may answer with a body of their own, and the problem each becomes.
KINDS = {404: "not-found", 405: "method-not-allowed", 500: "server-error"}


class ProblemMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code not in KINDS:
            return response
        if response.get("Content-Type", "").startswith((errors.CONTENT_TYPE, "application/json")):
            return response  # the API answered this one itself
        kind = KINDS[response.status_code]
        problem = errors.response(kind, _detail(kind, request))
        if response.has_header("Allow"):
            problem["Allow"] = response["Allow"]
        return problem


def _detail(kind, request):
    if kind == "not-found":
        return f"No API endpoint at {request.path[:200]}. The endpoints are listed at /api/v1/docs."
    if kind == "method-not-allowed":
        return f"{request.method} is not allowed here."
    return "An unexpected error; it was logged."
