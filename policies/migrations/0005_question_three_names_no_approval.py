from django.db import migrations

OLD = (
    "Answer with an approval_matrix: each risky action mapped to risk_reviewer or pls_owner. "
    "The interim policy sends every one of them to the risk reviewer."
)
NEW = (
    "Answer with an approval_matrix: each risky action mapped to risk_reviewer or pls_owner, "
    'or to "none" when it needs nobody\'s approval. The interim policy sends every one of '
    "them to the risk reviewer."
)


def name_no_approval(apps, schema_editor):
    # Only the seeded wording of a question nobody has reworded.
    Proposal = apps.get_model("policies", "Proposal")
    Proposal.objects.filter(question_key="approval_matrix", detail=OLD).update(detail=NEW)


def restore(apps, schema_editor):
    Proposal = apps.get_model("policies", "Proposal")
    Proposal.objects.filter(question_key="approval_matrix", detail=NEW).update(detail=OLD)


class Migration(migrations.Migration):
    dependencies = [("policies", "0004_append_only")]

    operations = [migrations.RunPython(name_no_approval, restore)]
