from django.db import migrations

OLD = (
    "Adopting keeps the threshold at 2 repeats inside the window. Rejecting (with "
    "auto_proposal_threshold 0) turns automatic proposals off."
)
NEW = (
    "Adopting keeps the threshold at 2 repeats inside the window; to turn automatic "
    "proposals off, adopt with auto_proposal_threshold 0. Rejecting records the answer and "
    "changes no rule."
)


def reword(apps, schema_editor):
    # A reject never changes the policy (issue 12): the seeded wording said otherwise. Only
    # the seeded text of a question nobody has reworded is touched.
    Proposal = apps.get_model("policies", "Proposal")
    Proposal.objects.filter(question_key="auto_repair_proposal", detail=OLD).update(detail=NEW)


def restore(apps, schema_editor):
    Proposal = apps.get_model("policies", "Proposal")
    Proposal.objects.filter(question_key="auto_repair_proposal", detail=NEW).update(detail=OLD)


class Migration(migrations.Migration):
    dependencies = [("policies", "0005_question_three_names_no_approval")]

    operations = [migrations.RunPython(reword, restore)]
