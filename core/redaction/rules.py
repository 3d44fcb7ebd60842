"""The shapes of secrets ``core.redaction`` cuts out: a table of named rules.

The token shapes (prefixes, alphabets, lengths) are carried over from gitleaks' rule set
(``config/gitleaks.toml`` in github.com/gitleaks/gitleaks), the most widely maintained public
one, with a few it lacks (Discord bot tokens, Azure account keys, Stripe webhook secrets,
curl ``-u``, command-line options, cookies, SQL passwords). Where a secret is known by what
stands before it (``password=``, ``Authorization:``, ``postgres://user:``), the rule keeps
that part and masks only the value, which runs to whitespace or a quote: a password may hold
``;``, ``,``, ``&`` or ``@``. A rule may take a little more than the secret; it never leaves
part of one.

Rules run in order: the shapes first, then the rules that know a secret by its context (each
of which leaves an earlier marker alone).

Adding one: a ``rule(...)`` line here and a sample of its shape in
``tests/security/redaction_corpus.py`` (a test fails until the rule finds a sample).
"""

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """One shape of secret.

    The whole match is masked, or only its ``secret`` group when the pattern has one (the
    rest of the match, a key or a scheme, stays as context).

    ``keywords`` (lower case, as gitleaks has them) let a rule be skipped cheaply: it runs
    only when one of them is in the text. A pattern that starts with a plain literal needs
    none: Python finds such a literal as fast as it checks a keyword. A case-insensitive
    pattern is slow to search (Python tries it at every position), so when every match
    starts with one of the keywords, ``at_keyword`` tries it only where they stand.
    """

    kind: str
    pattern: re.Pattern[str]
    keywords: tuple[str, ...] = ()
    at_keyword: bool = False
    marker: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "marker", f"[REDACTED:{self.kind}]")

    def applies_to(self, lowered: str) -> bool:
        return not self.keywords or any(keyword in lowered for keyword in self.keywords)

    def apply(self, text: str) -> tuple[str, int]:
        """``text`` with this rule's secrets masked, and how many."""
        if not self.at_keyword:
            # Most texts hold no secret of most shapes, and a search that finds none costs a
            # third of a substitution that replaces none.
            if self.pattern.search(text) is None:
                return text, 0
            return self.pattern.subn(self.mask, text)
        lowered = text.lower()
        if len(lowered) != len(text):  # a few letters lower to two characters
            return self.pattern.subn(self.mask, text)
        starts: set[int] = set()
        for keyword in self.keywords:
            at = lowered.find(keyword)
            while at >= 0:
                starts.add(at)
                at = lowered.find(keyword, at + 1)
        pieces, done, count = [], 0, 0
        for at in sorted(starts):
            if at < done:  # inside the previous match
                continue
            match = self.pattern.match(text, at)
            if match is not None:
                pieces += [text[done:at], self.mask(match)]
                done, count = match.end(), count + 1
        if not count:
            return text, 0
        pieces.append(text[done:])
        return "".join(pieces), count

    def mask(self, match: re.Match[str]) -> str:
        if "secret" not in self.pattern.groupindex:
            return self.marker
        start, end = match.span("secret")
        secret = match.string[start:end]
        # A quoted value keeps its quotes, so JSON and shell lines still read as such.
        quote = secret[0] if len(secret) > 1 and secret[0] in "\"'" else ""
        if secret[-1:] != quote:
            quote = ""
        return (
            match.string[match.start() : start]
            + quote
            + self.marker
            + quote
            + match.string[end : match.end()]
        )


def rule(kind: str, pattern: str, *keywords: str, flags: int = 0, at_keyword: bool = False) -> Rule:
    return Rule(kind, re.compile(pattern, flags), tuple(keywords), at_keyword)


def _starts_word(head: str) -> str:
    """``head`` (a fixed-width pattern) where a word starts: ``sk-`` but not ``task-``.

    The check comes after the literal, not as a leading ``\\b``: a pattern that starts
    with a literal is searched for far faster than one that starts with an assertion.
    """
    return f"{head}(?<![A-Za-z0-9_]{head})"


# After a key, a value that is not already a marker (a second pass leaves a redacted text
# alone; also behind an opening quote: '"password": "[REDACTED:…]"').
_NOT_YET = r"(?![\"']?\[REDACTED)"
# A value runs to its closing quote, past escaped quotes ("pa\"ss" in JSON), or unquoted to
# whitespace or a quote. JSON inside a JSON string quotes with \". Never empty. An unquoted
# value that is itself a header ("AUTH_HEADER=X-Api-Key: <key>") runs on to the header's own
# value, which is the secret (possessive: no backtracking when it is not a header).
_VALUE = (
    r"(?P<secret>\"(?:[^\"\\\n]|\\.)+\"|'(?:[^'\\\n]|\\.)+'"
    r"|\\\"(?:(?!\\\")[^\n])+\\\"|\\'(?:(?!\\')[^\n])+\\'"
    r"|(?:[A-Za-z][\w-]*+:[ \t]++(?=[^\s\"']))?+[\"']?[^\s\"']+)"
)
# The rest of a key after its word (DB_PASSWORD_FILE, token.value), possessive and bounded:
# in a word that repeats the word ("tokentoken…"), each occurrence looks a few characters
# ahead, not to the end of the word, so the work stays linear.
_KEY_TAIL = r"[\w.-]{0,64}+"
# Between a key and its value: "=", ":", ":=", "=>", "?=", quotes around the key. Atomic:
# a second pass must not read "=>" as "=" and take ">" for the value.
_SEPARATOR = r"(?:\\?[\"'])?[ \t]*(?>:=|=>(?=[ \t\"'])|\?=|[:=])[ \t]*+"


def _rest_of_line(command: str) -> str:
    """The rest of a command's line, up to where the command is named again: a line that
    names it a thousand times must not make each of them search the whole line."""
    return rf"(?:(?!{command})[^\n])*?"


# The end of a token: the rest of its alphabet would be part of it.
_END = r"(?![A-Za-z0-9_-])"
_B64URL = "[A-Za-z0-9_-]"


def _assignment(key: str, *words: str) -> Rule:
    """``<key> = <value>``: ``key`` starts with one of ``words`` (lower case)."""
    return rule("assigned_secret", key + _SEPARATOR + _NOT_YET + _VALUE, *words, at_keyword=True)


RULES: tuple[Rule, ...] = (
    # --- Keys and tokens recognised by their own shape: the whole match is the secret. ---
    rule(
        "private_key",
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        # The body runs to the next "-----" and no further: a text of many BEGIN lines and
        # no END must not make each of them search the rest of the text.
        r"(?:(?:[^-]|-(?!----))*+-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        # Output is often cut before the END line: the key runs on while its lines look
        # like key lines (base64, a PGP checksum, a "Proc-Type:" header, a blank line), also
        # where a JSON string writes its line breaks as "\n".
        r"|(?:(?:\r?\n|\\n)"
        r"(?:[A-Za-z0-9+/]{16,}={0,2}|=[A-Za-z0-9+/]{4}|[A-Za-z-]+: [^\r\n]*|(?=\r?\n)))*)",
        flags=re.DOTALL,
    ),
    rule("onepassword_secret", r"ops_eyJ[A-Za-z0-9+/]{250,}={0,3}"),
    rule(
        "onepassword_secret",
        r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}"
        r"-[A-Z0-9]{5}",
    ),
    rule("age_secret_key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    rule("adobe_client_secret", _starts_word("p8e-") + r"[A-Za-z0-9]{32,}"),
    rule("alibaba_access_key", _starts_word("LTAI") + r"[A-Za-z0-9]{20}" + _END),
    rule("anthropic_key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    rule("artifactory_token", _starts_word("AKCp") + r"[A-Za-z0-9]{69}"),
    rule("artifactory_token", _starts_word("cmVmd") + r"[A-Za-z0-9]{59}"),
    rule("atlassian_token", r"ATATT3[A-Za-z0-9_=-]{186,}"),
    rule(
        "aws_access_key",
        _starts_word("A")
        + r"(?:3T[A-Z0-9]|KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|PKA)[A-Z0-9]{16}"
        + _END,
    ),
    rule(
        "azure_ad_client_secret",
        r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}",
        "q~",
    ),
    rule("clojars_token", r"(?i:clojars_)[A-Za-z0-9]{60}", "clojars_", at_keyword=True),
    rule("cloudflare_origin_ca_key", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}"),
    rule("databricks_token", _starts_word("dapi") + r"[a-f0-9]{32}(?:-\d)?"),
    rule("digitalocean_token", _starts_word("do[opr]_v1_") + r"[a-f0-9]{64}"),
    # Discord bot tokens: the base64 of the bot's id, a timestamp, an HMAC. No keyword: the
    # first letter is the base64 of the id's first digit.
    rule(
        "discord_bot_token",
        r"[MNO](?<![A-Za-z0-9_-].)" + _B64URL + r"{23,27}\." + _B64URL + r"{6,7}\."
        r"" + _B64URL + r"{27,}" + _END,
    ),
    rule("doppler_token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}"),
    rule("duffel_token", r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}"),
    rule("dynatrace_token", r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}"),
    rule("easypost_token", r"EZ[AT]K[A-Za-z0-9]{54}"),
    rule("facebook_token", _starts_word("EAA[MC]") + r"[A-Za-z0-9]{100,}"),
    rule("flutterwave_key", r"FLW(?:SECK|PUBK)_TEST-[A-Za-z0-9]{12,}(?:-X)?"),
    rule(
        "flyio_token",
        r"f(?:o1_[\w-]{43}|m1[ar]_[A-Za-z0-9+/]{100,}={0,3}|m2_[A-Za-z0-9+/]{100,}={0,3})",
        "fo1_",
        "fm1",
        "fm2_",
    ),
    rule("frameio_token", r"fio-u-[A-Za-z0-9_=-]{64}"),
    rule("github_token", r"gh[pousr]_[A-Za-z0-9]{30,}"),
    rule("github_token", r"github_pat_[A-Za-z0-9_]{22,}"),
    rule(
        "gitlab_token",
        r"gl(?:pat|dt|rt|ft|imt|agent|oas|soat|ffct)-[\w-]{20,}(?:\.[0-9a-z]{9})?",
    ),
    rule("gitlab_token", r"gl(?:cbt-[0-9a-zA-Z]{1,5}_[\w-]{20,}|ptt-[0-9a-f]{40})"),
    rule("gitlab_token", r"GR1348941[\w-]{20,}"),
    rule("gitlab_token", r"_gitlab_session=[0-9a-z]{32,}"),
    rule("google_api_key", r"AIza[0-9A-Za-z_-]{35}"),
    rule("google_oauth_secret", r"GOCSPX-[A-Za-z0-9_-]{28,}"),
    rule("google_oauth_token", _starts_word(r"ya29\.") + r"[0-9A-Za-z_-]{20,}"),
    rule(
        "grafana_token",
        r"gl(?:c_[A-Za-z0-9+/]{32,400}={0,3}|sa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
    ),
    rule("grafana_token", r"eyJrIjoi[A-Za-z0-9]{70,400}={0,3}"),
    rule(
        "harness_token",
        _starts_word(r"[ps]at\.") + r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}",
        "pat.",
        "sat.",
    ),
    rule("heroku_token", r"HRKU-AA[0-9a-zA-Z_-]{58}"),
    rule("huggingface_token", _starts_word("hf_") + r"[A-Za-z0-9]{30,}"),
    rule("huggingface_token", _starts_word("api_org_") + r"[A-Za-z0-9]{30,}"),
    rule("infracost_token", _starts_word("ico-") + r"[A-Za-z0-9]{32}"),
    # Header and payload of a JSON Web Token; the signature is optional ("alg": "none").
    rule(
        "jwt",
        r"eyJ[A-Za-z0-9_-]{5,}={0,2}\.eyJ[A-Za-z0-9_-]{2,}={0,2}(?:\.[A-Za-z0-9_-]*={0,2})?",
    ),
    rule("linear_token", r"lin_api_[A-Za-z0-9]{40}"),
    rule("mailchimp_key", r"(?<![a-f0-9])[a-f0-9]{32}-us\d{1,2}" + _END, "-us"),
    rule("maxmind_key", r"(?<![A-Za-z0-9])[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk", "_mmk"),
    rule("notion_token", _starts_word("ntn_") + r"[0-9]{11}[A-Za-z0-9]{35}"),
    rule("npm_token", _starts_word("npm_") + r"[A-Za-z0-9]{36,}"),
    rule("octopus_deploy_key", _starts_word("API-") + r"[A-Z0-9]{26}" + _END),
    rule("openai_key", _starts_word("sk-") + r"[A-Za-z0-9_-]{20,}"),
    rule("openshift_token", r"sha256~[\w-]{43}"),
    rule("perplexity_key", r"pplx-[A-Za-z0-9]{48}"),
    rule("planetscale_token", r"pscale_(?:tkn|oauth|pw)_[\w=.-]{32,64}"),
    rule("pls_token", _starts_word("pls_") + r"[A-Za-z0-9_-]{20,}"),
    rule("postman_token", r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}"),
    rule("prefect_token", _starts_word("pnu_") + r"[A-Za-z0-9]{36}"),
    rule("pulumi_token", _starts_word("pul-") + r"[a-f0-9]{40}"),
    # PyPI tokens are macaroons: "pypi-AgE…", 150 characters and more. 50 keeps package
    # names ("pypi-simple") out.
    rule("pypi_token", _starts_word("pypi-") + r"[A-Za-z0-9_-]{50,}"),
    rule("readme_token", r"rdme_[a-z0-9]{70}"),
    rule("rubygems_token", r"rubygems_[a-f0-9]{48}"),
    rule("scalingo_token", _starts_word("tk-us-") + r"[\w-]{48}"),
    rule("sendgrid_key", _starts_word(r"SG\.") + r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    rule("sendinblue_key", r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"),
    rule("sentry_token", r"sntry[su]_[A-Za-z0-9+/=_]{64,}"),
    rule("shippo_token", r"shippo_(?:live|test)_[a-fA-F0-9]{40}"),
    rule("shopify_token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    rule("slack_app_token", r"xapp-\d-[A-Za-z0-9-]{10,}"),
    rule("slack_token", r"xox(?:e\.xox[bp]|[abposre])-[A-Za-z0-9-]{8,}"),
    rule("square_token", r"sq0(?:atp|csp)-[\w-]{22,}"),
    rule(
        "stripe_key",
        r"[spr]k_(?<![A-Za-z0-9][spr]k_)(?:live|test|prod)_[A-Za-z0-9]{10,}",
        "k_live",
        "k_test",
        "k_prod",
    ),
    rule("stripe_webhook_secret", r"whsec_[A-Za-z0-9+/=]{20,}"),
    rule("telegram_bot_token", r"(?<![\w:])\d{5,16}:A[A-Za-z0-9_-]{34,}", ":a"),
    rule("terraform_token", r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}", "atlasv1"),
    rule("twilio_key", _starts_word("SK") + r"[0-9a-fA-F]{32}" + _END),
    rule("twitter_bearer_token", r"A{22}[A-Za-z0-9%]{80,}", "a" * 22),
    rule("vault_token", _starts_word(r"hv[sb]\.") + r"[\w-]{90,}"),
    rule(
        "webhook_url",
        r"https?://(?:hooks\.slack\.com/(?:services|workflows|triggers)"
        r"|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks"
        r"|[A-Za-z0-9-]+\.webhook\.office\.com/webhookb2)/[^\s\"'<>]+",
    ),
    # --- Secrets known by what stands before them: that part stays, the value goes. ---
    # scheme://user:password@host; the user may be empty (redis://:password@host), and the
    # password may hold "@": it runs to the last "@" of the authority.
    rule("url_password", r"://[^/\s:@\"']*:" + _NOT_YET + r"(?P<secret>[^/\s\"']+)@"),
    # Go's MySQL DSN: user:password@tcp(host:3306)/db.
    rule(
        "url_password",
        r":(?<=[\w.-]:)(?<!\[REDACTED:)" + _NOT_YET + r"(?P<secret>[^\s/\"':]+)@(?:tcp|unix)\(",
        "@tcp(",
        "@unix(",
    ),
    rule(
        "azure_storage_key",
        r"(?i:accountkey|sharedaccesskey|sharedsecretvalue)[ \t]*=[ \t]*"
        + _NOT_YET
        + r"(?P<secret>[A-Za-z0-9+/=]{16,})",
        "accountkey",
        "sharedaccesskey",
        "sharedsecretvalue",
        at_keyword=True,
    ),
    # Signed URLs (Azure SAS, S3 and GCS presigned): the signature is the credential.
    rule(
        "url_signature",
        r"[?&;](?i:sig|x-amz-signature|x-goog-signature|signature)="
        + _NOT_YET
        + r"(?P<secret>[^\s&\"'#]+)",
        "sig=",
        "signature=",
    ),
    # Also as a bare argument: aws configure set aws_secret_access_key <key>.
    rule(
        "aws_secret_key",
        r"(?i:secret[_-]?access[_-]?key|session[_-]?token)(?:\\?[\"'])?"
        r"(?:[ \t]*(?>:=|=>(?=[ \t\"'])|[:=])[ \t]*+|[ \t]++(?![:=]))" + _NOT_YET + _VALUE,
        "secret",
        "session",
        at_keyword=True,
    ),
    # Any scheme but the four below (Discord's "Bot", Okta's "SSWS", "ApiKey", …) is masked
    # with its value; "Authorization: <raw token> <next word>" loses the next word too.
    rule(
        "authorization",
        r"(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
        + _NOT_YET
        + r"(?!(?i:bearer|basic|token|digest)\b)"
        r"(?P<secret>[A-Za-z][\w.+/~-]*[ \t]+(?!\[REDACTED)[^\s\"']+)",
        "authorization",
        at_keyword=True,
    ),
    # The scheme is possessive: backtracking past it made a second pass redact "Bearer".
    rule(
        "authorization",
        r"(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
        r"(?:(?i:bearer|basic|token|digest)[ \t]*)?+" + _NOT_YET + r"(?P<secret>[^\s\"']+)",
        "authorization",
        at_keyword=True,
    ),
    rule(
        "bearer_token",
        r"(?i:bearer)[ \t]+" + _NOT_YET + r"(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)",
        "bearer",
        at_keyword=True,
    ),
    # A Cookie header carries sessions; its value runs to the end of the line or a quote.
    rule(
        "cookie",
        r"(?i:cookie)(?:\\?[\"'])?[ \t]*[:=][ \t]*+(?:\\?[\"'])?"
        + _NOT_YET
        + r"(?P<secret>[^\r\n\"'\\]*[^\s\"'\\])",
        "cookie",
        at_keyword=True,
    ),
    # curl -u user:password (also --user, -su, --user=), on the curl's own line.
    rule(
        "basic_auth",
        r"curl\b"
        + _rest_of_line("curl\\b")
        + r"[ \t](?:-[A-Za-z]*u|--user)(?:=|[ \t]*)[\"']?[^\s:\"']*:"
        + _NOT_YET
        + r"(?P<secret>[^\s\"']+)",
        "curl",
    ),
    rule(
        "netrc_password",
        r"machine\s+\S+\s+login\s+\S+\s+password\s+" + _NOT_YET + r"(?P<secret>\S+)",
        "machine",
    ),
    # Passwords given as options: mysql -pSECRET, docker login -p SECRET, az login … -p SECRET,
    # sshpass -p SECRET.
    rule(
        "cli_secret",
        r"m(?:ysql(?:dump|admin)?|ariadb)\b"
        + _rest_of_line("m(?:ysql|ariadb)")
        + r"[ \t]-p"
        + _NOT_YET
        + r"(?P<secret>[^\s\"']+)",
        "mysql",
        "mariadb",
    ),
    rule(
        "cli_secret",
        r"(?:(?:docker|podman|nerdctl|buildah|skopeo|helm(?:[ \t]+registry)?|oras|crane|az)"
        r"[ \t]+login\b"
        + _rest_of_line("login\\b")
        + r"[ \t]|sshpass[ \t]+)-p[ \t]+(?!-)"
        + _NOT_YET
        + _VALUE,
        "login",
        "sshpass",
    ),
    # --password X, --password=X, -storepass X, --api-key X, --cookie X, -Password X: an
    # option whose name ends in a secret's word (--token-file and --password-stdin do not).
    rule(
        "cli_secret",
        r"-(?<![\w-]-)-?(?!no-)(?:[A-Za-z][\w-]*?)?"
        r"(?i:password|passwd|passphrase|pass|secret|token|api-?key|access-key|account-key"
        r"|private-key|cookie|auth|credentials?)(?:=|[ \t]+(?!-))" + _NOT_YET + _VALUE,
        "pass",
        "secret",
        "token",
        "key",
        "cookie",
        "auth",
        "credential",
    ),
    # SQL: CREATE USER … IDENTIFIED BY 'x', ALTER ROLE … PASSWORD 'x'.
    rule(
        "sql_password",
        r"(?i:identified[ \t]+by|password)[ \t]+" + _NOT_YET + r"(?P<secret>'(?:[^'\n]|'')+')",
        "identified",
        "password",
        at_keyword=True,
    ),
    # Assignments: password=…, "client_secret": "…", api-key: …, GPG_PASSPHRASE=…. The match
    # starts at the word (the key's prefix stays where it is either way); one rule per word,
    # each run only when its word is in the text, keeps the common case fast.
    _assignment(
        r"(?i:pass(?:w(?:or)?d|phrase)" + _KEY_TAIL + r"|(?<![a-z])pass(?=(?:\\?[\"'])?[ \t]*=))",
        "pass",
    ),
    # PWD=/srv/app in an env dump is the working directory, MYSQL_PWD=… a password.
    _assignment(r"(?i:pwd)(?!=/)" + _KEY_TAIL, "pwd"),
    _assignment(r"(?i:secret)" + _KEY_TAIL, "secret"),
    _assignment(r"(?i:token)" + _KEY_TAIL, "token"),
    _assignment(
        r"(?i:(?:api|access|account|auth|private|encryption|signing|master|client)[_.-]?key"
        r"|apikey)" + _KEY_TAIL,
        *("api", "access", "account", "auth", "private", "encryption", "signing", "master"),
        "client",
    ),
    _assignment(r"(?i:credentials?)" + _KEY_TAIL, "credential"),
    # "auth" alone is a credential in Docker's config.json ({"auth": "dXNlcjpw…"}).
    _assignment(r"(?<![A-Za-z])(?i:auth)(?=(?:\\?[\"'])?[ \t]*[:=])", "auth"),
)
