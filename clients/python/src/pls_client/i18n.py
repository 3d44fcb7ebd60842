"""Translation of the messages people and agents read (catalogs come with the console's i18n
work; until then every message falls back to English)."""

import gettext

_ = gettext.translation("pls_client", fallback=True).gettext
