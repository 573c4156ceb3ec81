"""One name per idea (Clado's id, the lease token, the budget window), and what issue 8 needs:
the claim's action, holds (budget / outage), the search fingerprint, criteria, the last check,
and a charge's transaction expiry."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("research", "0006_lead_sort_indexes"),
    ]

    operations = [
        migrations.RenameField("researchjob", "clado_job_id", "clado_id"),
        migrations.RenameField("researchjob", "lease_owner", "lease_token"),
        migrations.RenameModel("SpendWindow", "BudgetWindow"),
        migrations.AddField(
            model_name="researchjob",
            name="lease_action",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name="researchjob",
            name="hold",
            field=models.CharField(
                blank=True,
                choices=[("", "—"), ("budget", "Paused: budget"), ("outage", "Waiting: outage")],
                default="",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="researchjob",
            name="criteria",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="researchjob",
            name="fingerprint",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AddField(
            model_name="researchjob",
            name="checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="charge",
            name="valid_before",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="researchjob",
            index=models.Index(fields=["owner", "fingerprint", "created_at"], name="job_owner_fingerprint"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("launch", "Launched"),
                    ("refresh", "Refreshed"),
                    ("cancel", "Cancelled"),
                    ("more", "Asked for more results"),
                    ("export", "Exported"),
                    ("reconcile", "Reconciled"),
                    ("resume", "Fetched results again"),
                    ("refused", "Refused"),
                ],
                max_length=20,
            ),
        ),
    ]
