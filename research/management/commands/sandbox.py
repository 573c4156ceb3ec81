"""``python manage.py sandbox``: run the offline MPP gateway + Tempo chain in the foreground."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the offline Clado MPP gateway and Tempo JSON-RPC chain until Ctrl-C."

    def add_arguments(self, parser) -> None:
        # Listen where the app expects the sandbox (SANDBOX_URL) unless told otherwise.
        where = urlsplit(settings.SANDBOX_URL)
        parser.add_argument(
            "--host",
            default=where.hostname or "127.0.0.1",
            help="Address to listen on (default: SANDBOX_URL's).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=where.port or 8777,
            help="Port to listen on (default: SANDBOX_URL's, 8777).",
        )
        parser.add_argument(
            "--job-seconds",
            type=float,
            default=20.0,
            help="How long a simulated deep-research job runs (default 20).",
        )
        parser.add_argument("--realm", default=None, help="Challenge realm (default: the real one).")
        parser.add_argument("--verbose-http", action="store_true", help="Log every HTTP request.")

    def handle(self, *args, **options) -> None:
        from research.sandbox import CHAIN_ID, GATEWAY_RECIPIENT, USDC_E, Sandbox

        sandbox = Sandbox(
            host=options["host"],
            port=options["port"],
            job_seconds=options["job_seconds"],
            realm=options["realm"],
            verbose=options["verbose_http"],
        )
        self.stdout.write(f"MPP gateway:   {sandbox.url}  (POST {sandbox.url}/clado/<endpoint>)")
        self.stdout.write(f"Tempo JSON-RPC: {sandbox.rpc_url}  (chain id {CHAIN_ID})")
        self.stdout.write(f"Recipient {GATEWAY_RECIPIENT}, currency USDC.e {USDC_E}")
        self.stdout.write("Every new address is auto-funded with 1000 USDC.e and 1000 pathUSD.")
        self.stdout.write("Query markers: [seconds=N] [results=N] [error].  Ctrl-C to stop.")
        try:
            sandbox.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("sandbox stopped")
