"""The worker's periodic jobs: the run reaper and the callback outbox sweep, every minute."""

from django.db import migrations

SCHEDULES = [
    ("agentexec: reap lost runs", "runs.tasks.reap_runs"),
    ("agentexec: deliver callbacks", "runs.tasks.deliver_callbacks"),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": 1, "repeats": -1}
        )


def remove(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create, remove)]
