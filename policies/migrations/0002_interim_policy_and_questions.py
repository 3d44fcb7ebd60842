from datetime import timedelta

from django.db import migrations

# DESIGN §4: the three questions of the adoption plan, each with the change that adopting
# it would make (the owner may answer with another change).
QUESTIONS = [
    {
        "question_key": "auto_touch_retry",
        "title": "When context / complete fetch fails, may a worker automatically touch and "
        "retry once?",
        "detail": "Adopting lets workers revive their own stuck claim (touch) and retry once "
        "without approval. Rejecting keeps touch behind the risk reviewer.",
        "policy_change": {"allow_auto_touch": True, "max_auto_retries": 1},
    },
    {
        "question_key": "auto_repair_proposal",
        "title": "When the same error repeats twice, should a repair proposal be created "
        "automatically?",
        "detail": "Adopting keeps the threshold at 2 repeats inside the window. Rejecting "
        "(with auto_proposal_threshold 0) turns automatic proposals off.",
        "policy_change": {"auto_proposal_threshold": 2},
    },
    {
        "question_key": "approval_matrix",
        "title": "Which self-heal actions need the risk reviewer's or the owner's approval?",
        "detail": "Answer with an approval_matrix: each risky action mapped to risk_reviewer "
        "or pls_owner. The interim policy sends every one of them to the risk reviewer.",
        "policy_change": {
            "approval_matrix": {
                "release": "risk_reviewer",
                "reclaim": "risk_reviewer",
                "restart_session": "risk_reviewer",
                "reset_session": "pls_owner",
                "rerun_pipeline": "risk_reviewer",
            }
        },
    },
]


def seed(apps, schema_editor):
    WorkerPolicy = apps.get_model("policies", "WorkerPolicy")
    Proposal = apps.get_model("policies", "Proposal")
    # The interim policy: diagnose, retry once and propose; nothing risky without approval.
    WorkerPolicy.objects.get_or_create(
        version=1,
        defaults={
            "max_auto_retries": 1,
            "allow_auto_touch": False,
            "auto_proposal_threshold": 2,
            "repeat_window": timedelta(hours=24),
            "approval_ttl": timedelta(hours=24),
            "approval_matrix": {
                action: "risk_reviewer"
                for action in (
                    "release",
                    "reclaim",
                    "restart_session",
                    "reset_session",
                    "rerun_pipeline",
                )
            },
            "protected_resources": ["*-db", "*postgres*"],
            "known_repairs": [],
            "answered_questions": {},
        },
    )
    for question in QUESTIONS:
        Proposal.objects.get_or_create(
            kind="policy_question",
            question_key=question["question_key"],
            defaults={
                "title": question["title"],
                "detail": question["detail"],
                "policy_change": question["policy_change"],
            },
        )


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
