"""Sample secrets of every shape ``config/redaction/rules.py`` knows, and look-alikes it must leave
alone. Shared by the corpus test, the property tests and the API tests.

Every secret here is fake: generated at import from a fixed seed, in the alphabet and length
of its kind, so no credential-shaped literal sits in the source (and scanners stay quiet).
Adding a rule to ``RULES``? Add a ``Sample`` of its kind here; ``test_redaction_corpus``
fails until there is one.
"""

import base64
import json
import random
import string
from dataclasses import dataclass

_rng = random.Random(20250612)  # fixed: the same corpus every run

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64URL = ALNUM + "_-"
B64 = ALNUM + "+/"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


def fake(alphabet: str, length: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(length))


def digits(length: int) -> str:
    return str(_rng.randrange(1, 10)) + fake(string.digits, length - 1)


def b64url_json(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def password() -> str:
    """A password as people make them: letters, digits and punctuation, ";" "," "@" "&"
    included, the characters a value used to be cut at."""
    return fake(ALNUM, 5) + _rng.choice(";,@&!#%") + fake(ALNUM, 5) + _rng.choice(";,&") + "9"


@dataclass(frozen=True)
class Sample:
    kind: str  # the marker it must leave: [REDACTED:<kind>]
    text: str  # the secret as it appears in a worker's output
    secret: str  # what must not survive (a part of ``text``)


def _whole(kind: str, token: str) -> Sample:
    return Sample(kind, token, token)


def _after(kind: str, context: str, secret: str, tail: str = "") -> Sample:
    return Sample(kind, context + secret + tail, secret)


def _discord_bot_token() -> str:
    # base64 of the bot's numeric id, a timestamp, an HMAC.
    bot_id = base64.b64encode(digits(18).encode()).decode().rstrip("=")
    return f"{bot_id}.{fake(B64URL, 6)}.{fake(B64URL, 38)}"


def _jwt(signed: bool) -> str:
    header = b64url_json({"alg": "HS256" if signed else "none", "typ": "JWT"})
    payload = b64url_json({"sub": digits(10), "role": "admin", "iat": 1718000000})
    return f"{header}.{payload}.{fake(B64URL, 43) if signed else ''}"


def _azure_account_key() -> str:
    return base64.b64encode(_rng.randbytes(64)).decode()


PRIVATE_KEY_BODY = fake(B64, 64)

# The examples of issue 12, finding 5: each survived redaction (in the ingest answer, the
# stored event and the console) before the rules were rebuilt.
FINDINGS: dict[str, Sample] = {
    "discord_bot_token": _whole("discord_bot_token", _discord_bot_token()),
    "azure_connection_string": _after(
        "azure_storage_key",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=",
        _azure_account_key(),
        ";EndpointSuffix=core.windows.net",
    ),
    "pypi_token": _whole("pypi_token", "pypi-AgEIcHlwaS5vcmc" + fake(B64URL, 150)),
    "password_with_semicolon": _after("assigned_secret", "password=", "Wint3r;after-the-semicolon"),
    "password_with_comma": _after("assigned_secret", "password=", "Wint3r,after-the-comma"),
    "url_password_with_at": _after(
        "url_password", "postgres://app:", "Pa55@after-the-at-sign", "@db.internal:5432/orders"
    ),
    "slack_app_token": _whole(
        "slack_app_token", f"xapp-1-A{fake(UPPER_DIGITS, 10)}-{digits(13)}-{fake(HEX, 64)}"
    ),
    "stripe_webhook_secret": _whole("stripe_webhook_secret", "whsec_" + fake(ALNUM, 32)),
    "unsigned_jwt": _whole("jwt", _jwt(signed=False)),
    "curl_user": _after("basic_auth", "curl -sS -u deploy:", "Curl-pw-" + fake(ALNUM, 6)),
    "password_option": _after("cli_secret", "psql-admin --password ", "Opt1on-" + fake(ALNUM, 8)),
    # "&" is where the old rule cut a value off.
    "password_option_with_equals": _after(
        "cli_secret", "--password=", "c0rrect&after-the-ampersand"
    ),
    "cookie_header": _after(
        "cookie",
        "Cookie: ",
        f"sessionid={fake(LOWER_DIGITS, 32)}; csrftoken={fake(ALNUM, 32)}",
    ),
    "gpg_passphrase": _after("assigned_secret", "GPG_PASSPHRASE=", "Gpg-" + fake(ALNUM, 12)),
    "aws_secret_key_argument": _after(
        "aws_secret_key", "aws configure set aws_secret_access_key ", fake(B64, 40)
    ),
    "aws_secret_key_option": _after(
        "aws_secret_key",
        "aws-vault add ci --access-key-id AKIA… --secret-access-key ",
        fake(B64, 40),
    ),
}

SAMPLES: list[Sample] = [
    *FINDINGS.values(),
    Sample(
        "private_key",
        f"-----BEGIN RSA PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END RSA PRIVATE KEY-----",
        PRIVATE_KEY_BODY,
    ),
    # A key cut off by the evidence limit before its END line.
    Sample(
        "private_key", f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PRIVATE_KEY_BODY}", PRIVATE_KEY_BODY
    ),
    _whole("onepassword_secret", "ops_eyJ" + fake(B64, 260)),
    _whole(
        "onepassword_secret",
        f"A3-{fake(UPPER_DIGITS, 6)}-{fake(UPPER_DIGITS, 11)}-{fake(UPPER_DIGITS, 5)}"
        f"-{fake(UPPER_DIGITS, 5)}-{fake(UPPER_DIGITS, 5)}",
    ),
    _whole("age_secret_key", "AGE-SECRET-KEY-1" + fake(BECH32, 58)),
    _whole("adobe_client_secret", "p8e-" + fake(ALNUM, 32)),
    _whole("alibaba_access_key", "LTAI" + fake(ALNUM, 20)),
    _whole("anthropic_key", "sk-ant-api03-" + fake(B64URL, 93) + "AA"),
    _whole("artifactory_token", "AKCp" + fake(ALNUM, 69)),
    _whole("artifactory_token", "cmVmd" + fake(ALNUM, 59)),
    _whole("atlassian_token", "ATATT3" + fake(ALNUM, 186)),
    _whole("aws_access_key", "AKIA" + fake(UPPER_DIGITS, 16)),
    _whole("aws_access_key", "ASIA" + fake(UPPER_DIGITS, 16)),
    _whole("azure_ad_client_secret", fake(ALNUM, 3) + "8Q~" + fake(ALNUM + "_~.-", 34)),
    _whole("clojars_token", "CLOJARS_" + fake(LOWER_DIGITS, 60)),
    _whole("cloudflare_origin_ca_key", f"v1.0-{fake(HEX, 24)}-{fake(HEX, 146)}"),
    _whole("databricks_token", "dapi" + fake(HEX, 32)),
    _whole("digitalocean_token", "dop_v1_" + fake(HEX, 64)),
    _whole("doppler_token", "dp.pt." + fake(ALNUM, 43)),
    _whole("duffel_token", "duffel_test_" + fake(ALNUM, 43)),
    _whole("dynatrace_token", f"dt0c01.{fake(UPPER_DIGITS, 24)}.{fake(ALNUM, 64)}"),
    _whole("easypost_token", "EZAK" + fake(ALNUM, 54)),
    _whole("facebook_token", "EAAC" + fake(ALNUM, 120)),
    _whole("flutterwave_key", f"FLWSECK_TEST-{fake(HEX, 32)}-X"),
    _whole("flyio_token", "fo1_" + fake(B64URL, 43)),
    _whole("frameio_token", "fio-u-" + fake(ALNUM, 64)),
    _whole("github_token", "ghp_" + fake(ALNUM, 36)),
    _whole("github_token", "ghs_" + fake(ALNUM, 36)),
    _whole("github_token", "github_pat_" + fake(ALNUM + "_", 82)),
    _whole("gitlab_token", "glpat-" + fake(ALNUM, 20)),
    _whole("gitlab_token", "glrt-" + fake(ALNUM, 20)),
    _whole("gitlab_token", "glptt-" + fake(HEX, 40)),
    _whole("gitlab_token", "GR1348941" + fake(ALNUM, 20)),
    _after("gitlab_token", "curl -b _gitlab_session=", fake(HEX, 32)),
    _whole("google_api_key", "AIza" + fake(B64URL, 35)),
    _whole("google_oauth_secret", "GOCSPX-" + fake(B64URL, 28)),
    _whole("google_oauth_token", "ya29." + fake(B64URL, 120)),
    _whole("grafana_token", "glc_" + fake(ALNUM, 48)),
    _whole("grafana_token", f"glsa_{fake(ALNUM, 32)}_{fake(HEX, 8)}"),
    _whole("grafana_token", "eyJrIjoi" + fake(ALNUM, 80)),
    _whole("harness_token", f"pat.{fake(B64URL, 22)}.{fake(ALNUM, 24)}.{fake(ALNUM, 20)}"),
    _whole("heroku_token", "HRKU-AA" + fake(ALNUM, 58)),
    _whole("huggingface_token", "hf_" + fake(ALNUM, 34)),
    _whole("huggingface_token", "api_org_" + fake(ALNUM, 34)),
    _whole("infracost_token", "ico-" + fake(ALNUM, 32)),
    _whole("jwt", _jwt(signed=True)),
    _whole("linear_token", "lin_api_" + fake(ALNUM, 40)),
    _whole("mailchimp_key", fake(HEX, 32) + "-us14"),
    _whole("maxmind_key", f"{fake(ALNUM, 6)}_{fake(ALNUM, 29)}_mmk"),
    _whole("notion_token", "ntn_" + digits(11) + fake(ALNUM, 35)),
    _whole("npm_token", "npm_" + fake(ALNUM, 36)),
    _whole("octopus_deploy_key", "API-" + fake(UPPER_DIGITS, 26)),
    _whole("openai_key", "sk-proj-" + fake(B64URL, 74) + "T3BlbkFJ" + fake(B64URL, 74)),
    _whole("openai_key", "sk-" + fake(ALNUM, 48)),
    _whole("openshift_token", "sha256~" + fake(B64URL, 43)),
    _whole("perplexity_key", "pplx-" + fake(ALNUM, 48)),
    _whole("planetscale_token", "pscale_tkn_" + fake(ALNUM, 43)),
    _whole("pls_token", "pls_" + fake(B64URL, 43)),
    _whole("postman_token", f"PMAK-{fake(HEX, 24)}-{fake(HEX, 34)}"),
    _whole("prefect_token", "pnu_" + fake(ALNUM, 36)),
    _whole("pulumi_token", "pul-" + fake(HEX, 40)),
    _whole("readme_token", "rdme_" + fake(LOWER_DIGITS, 70)),
    _whole("rubygems_token", "rubygems_" + fake(HEX, 48)),
    _whole("scalingo_token", "tk-us-" + fake(B64URL, 48)),
    _whole("sendgrid_key", f"SG.{fake(B64URL, 22)}.{fake(B64URL, 43)}"),
    _whole("sendinblue_key", f"xkeysib-{fake(HEX, 64)}-{fake(ALNUM, 16)}"),
    _whole("sentry_token", "sntryu_" + fake(HEX, 64)),
    _whole("shippo_token", "shippo_live_" + fake(HEX, 40)),
    _whole("shopify_token", "shpat_" + fake(HEX, 32)),
    _whole("slack_token", f"xoxb-{digits(12)}-{digits(13)}-{fake(ALNUM, 24)}"),
    _whole("slack_token", "xoxe.xoxp-1-" + fake(UPPER_DIGITS, 163)),
    _whole("square_token", "sq0atp-" + fake(B64URL, 22)),
    _whole("stripe_key", "sk_live_" + fake(ALNUM, 24)),
    _whole("stripe_key", "rk_test_" + fake(ALNUM, 24)),
    _whole("telegram_bot_token", f"{digits(9)}:AA{fake(B64URL, 33)}"),
    _whole("terraform_token", f"{fake(ALNUM, 14)}.atlasv1.{fake(ALNUM, 67)}"),
    _whole("twilio_key", "SK" + fake(HEX, 32)),
    _whole("twitter_bearer_token", "A" * 22 + fake(ALNUM, 90)),
    _whole("vault_token", "hvs." + fake(B64URL, 95)),
    _whole(
        "webhook_url",
        f"https://hooks.slack.com/services/T{fake(UPPER_DIGITS, 8)}/B"
        f"{fake(UPPER_DIGITS, 8)}/{fake(ALNUM, 24)}",
    ),
    _whole(
        "webhook_url",
        f"https://discord.com/api/webhooks/{digits(18)}/{fake(B64URL, 68)}",
    ),
    _whole(
        "webhook_url",
        f"https://acme.webhook.office.com/webhookb2/{fake(HEX, 8)}@{fake(HEX, 8)}"
        f"/IncomingWebhook/{fake(HEX, 32)}/{fake(HEX, 8)}",
    ),
    _after("url_password", "redis://:", password(), "@cache:6379/0"),
    _after("url_password", "DSN=root:", password(), "@tcp(127.0.0.1:3306)/orders"),
    _after(
        "url_signature",
        "GET https://acme.blob.core.windows.net/builds/app.tgz?sv=2022-11-02&sp=r&sig=",
        fake(B64, 43) + "%3D",
        " 403",
    ),
    _after(
        "url_signature",
        "https://b.s3.amazonaws.com/a.zip?X-Amz-Date=20250101T000000Z&X-Amz-Signature=",
        fake(HEX, 64),
    ),
    _after("aws_secret_key", "AWS_SECRET_ACCESS_KEY=", fake(B64, 40)),
    _after("aws_secret_key", "aws_session_token = ", fake(B64, 300)),
    _after("authorization", "Authorization: Basic ", fake(B64, 28) + "=="),
    _after("authorization", "authorization: SSWS ", fake(ALNUM, 42)),
    _after("authorization", '{"Authorization": "', "Bot " + fake(ALNUM, 30), '"}'),
    _after("bearer_token", "curl -H 'X-Upstream: Bearer ", fake(B64URL, 40), "'"),
    _after("cookie", "< Set-Cookie: ", f"_session={fake(ALNUM, 40)}; Path=/; HttpOnly"),
    _after("cookie", "curl -H 'Cookie: ", f"sid={fake(ALNUM, 24)}; theme=dark", "' https://x"),
    _after("basic_auth", "curl --user 'ci:", password(), "' https://ci.example.com/api"),
    _after("netrc_password", "machine api.example.com login bot password ", password()),
    _after("cli_secret", "mysql -h db -u root -p", "My-" + fake(ALNUM, 10), " orders"),
    _after("cli_secret", "docker login -u bot -p ", password(), " registry.example.com"),
    _after("cli_secret", "sshpass -p ", password(), " ssh deploy@host"),
    _after("cli_secret", "keytool -list -storepass ", password()),
    _after("cli_secret", "az login --service-principal -u ci -p ", password(), " --tenant acme"),
    _after("cli_secret", "datadog-ci sourcemaps upload --api-key ", fake(ALNUM, 32)),
    _after("cli_secret", '--db-password "', "two words " + fake(ALNUM, 8), '"'),
    _after("sql_password", "ALTER ROLE app WITH PASSWORD '", "Sql-" + fake(ALNUM, 10), "';"),
    _after("sql_password", "CREATE USER 'app'@'%' IDENTIFIED BY '", "My-" + fake(ALNUM, 10), "'"),
    _after("assigned_secret", "DB_PASSWORD=", password()),
    _after("assigned_secret", "DB_PASS=", password()),
    _after("assigned_secret", "MYSQL_PWD=", password()),
    _after("assigned_secret", "Server=db;Uid=app;Pwd=", password()),
    _after("assigned_secret", '{"client_secret": "', fake(ALNUM, 32), '"}'),
    _after("assigned_secret", "x-api-key: ", fake(ALNUM, 32)),
    _after("assigned_secret", "OPENROUTER_API_KEY=", fake(ALNUM, 40)),
    _after("assigned_secret", "access_token=", fake(ALNUM, 32), "&expires_in=3600"),
    _after("assigned_secret", "credentials: ", fake(ALNUM, 32)),
    _after("assigned_secret", '{"auths": {"ghcr.io": {"auth": "', fake(B64, 32) + "=", '"}}}'),
    _after("assigned_secret", 'body: "{\\"password\\": ', '\\"' + fake(ALNUM, 12) + '\\"', '}"'),
    # A secret assigned a whole header: the header's own value is the secret.
    _after("assigned_secret", "SECRET_HEADER=x-api-key: ", fake(ALNUM, 32)),
]

# Text a worker sends that carries no secret, near the shapes above: kept as it is.
BENIGN: list[str] = [
    "commit 3f1c9e2a7b4d8e6f0a1b2c3d4e5f60718293a4b5 (HEAD -> main)",
    "request 123e4567-e89b-12d3-a456-426614174000 failed after 3 attempts",
    "docker pull python@sha256:" + "0" * 63 + "f",
    "TZ=Asia/Taipei date",
    "1 failed, 118 passed, 1 skipped in 14.02s",
    "--- PASS: TestShipOnSettle (0.01s)",
    "PASS: t/ship.sh",
    "PWD=/srv/app",
    "OLDPWD=/srv",
    'FATAL:  password authentication failed for user "app"',
    "docker run -u 1000:1000 --rm python:3.11",
    "git clone git@github.com:acme/orders.git",
    "https://github.com/acme/orders/pull/42",
    "http://localhost:8000/admin/repairs/job/?status__exact=open",
    "tokenizers loaded in 2.1s",
    "docker login --password-stdin -u bot registry.example.com",
    "kubectl create secret generic orders --from-file=./creds.json --dry-run=client",
    "Set the API key in the console, then retry.",
    "keyboard-interactive authentication",
    "task-20250601-abcdefghijklmnopqrstu done",
    "pip install pypi-simple==1.6",
    "ModuleNotFoundError: No module named 'orders.carriers'",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    "max_retries=3 timeout=30 retry=2 user=bob",
    "ssh -p 2222 deploy@orders.internal",
    "mysql -h db -u root -p orders",
    "org.apache.kafka.common.errors.TimeoutException: Expiring 1 record(s)",
    "eyJhbGciOiJIUzI1NiJ9 is the header alone",
    "mail bob@example.com about the outage",
]
