from django.db import migrations

# The worker's hourly sweep of abandoned multipart uploads (vaults.multipart).
SCHEDULES = [("agentexec: expire abandoned multipart uploads", "vaults.tasks.expire_multipart_uploads")]


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "H", "repeats": -1}
        )


def remove_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("vaults", "0006_event_delivery_states"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
