"""The texts data migrations wrote into the database (the policy questions of DESIGN §4),
marked for translation here because migrations are not collected. The rows keep their
English, so stored data and the questions' keys stay stable; they are shown in the reader's
language by ``seeded_text`` (``Proposal.title_display``, ``Proposal.detail_display``).

A migration that seeds or rewords such a text adds its wording here;
tests/i18n/test_seeded_texts_follow_the_language.py checks every seeded row is listed."""

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

SEEDED_TEXTS = frozenset(
    {
        # policies/migrations/0002_interim_policy_and_questions.py
        _("When context / complete fetch fails, may a worker automatically touch and retry once?"),
        _(
            "Adopting lets workers revive their own stuck claim (touch) and retry once without "
            "approval. Rejecting keeps touch behind the risk reviewer."
        ),
        _("When the same error repeats twice, should a repair proposal be created automatically?"),
        _("Which self-heal actions need the risk reviewer's or the owner's approval?"),
        # policies/migrations/0005_question_three_names_no_approval.py
        _(
            "Answer with an approval_matrix: each risky action mapped to risk_reviewer or "
            'pls_owner, or to "none" when it needs nobody\'s approval. The interim policy sends '
            "every one of them to the risk reviewer."
        ),
        # policies/migrations/0006_question_two_turns_off_by_adoption.py
        _(
            "Adopting keeps the threshold at 2 repeats inside the window; to turn automatic "
            "proposals off, adopt with auto_proposal_threshold 0. Rejecting records the answer "
            "and changes no rule."
        ),
    }
)


def seeded_text(text: str) -> str:
    """``text`` in the active language when a migration seeded it; as stored otherwise (a
    text a person wrote or reworded is theirs)."""
    return gettext(text) if text in SEEDED_TEXTS else text
