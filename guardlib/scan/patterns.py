"""guardlib's own detectors, for what detect-secrets 1.5 misses, and the decoy rules.

Each pattern is a documented token format (a fixed prefix and a fixed alphabet and length),
or a keyword in context with an entropy floor where a format has no prefix (an unquoted
``PASSWORD=...`` in a ``.env``, an AWS secret access key next to its name, a bearer token in
a log). The labelled corpus of ``bench/scan_corpus.py`` measures them: every kind it plants
is found, and none of its decoys is reported.

A *decoy* is a value that looks like a credential and is not one: the documentation examples
(AWS's ``...EXAMPLE`` keys), placeholders (``<your-key>``, ``xxxx``, ``changeme``,
``${API_KEY}``), and checksums next to the word that names them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Iterator

# (kind, pattern): group 1, or the whole match, is the value
_NOT_BEFORE = r"(?<![0-9A-Za-z_\-])"
_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(pattern))
    for kind, pattern in [
        ("Google API Key", r"\b(AIza[0-9A-Za-z_\-]{35})(?![0-9A-Za-z_\-])"),
        ("Google OAuth Client Secret", r"\b(GOCSPX-[0-9A-Za-z_\-]{28})(?![0-9A-Za-z_\-])"),
        ("GitHub Token", r"\b(github_pat_[0-9A-Za-z_]{50,255})"),
        ("GitHub Token", r"\b((?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36,255})"),
        ("GitLab Token", r"\b(gl(?:pat|dt|ptt|rt|soat|cbt|ft|imt|oas)-[0-9A-Za-z_\-]{20,64})"),
        ("OpenAI Token", _NOT_BEFORE + r"(sk-(?:proj|svcacct|admin)-[0-9A-Za-z_\-]{40,300})"),
        (
            "Anthropic API Key",
            _NOT_BEFORE + r"(sk-ant-(?:api|admin)\d\d-[0-9A-Za-z_\-]{80,120})",
        ),
        ("Hugging Face Token", r"\b(hf_[A-Za-z]{34})\b"),
        ("NPM tokens", r"\b(npm_[0-9A-Za-z]{36})\b"),
        ("PyPI Token", r"\b(pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_\-]{50,})"),
        ("Slack Token", r"\b(xox[abposr]-(?:\d+-)+[0-9A-Za-z\-]{10,})"),
        ("Stripe Access Key", r"\b((?:sk|rk)_live_[0-9A-Za-z]{24,247})\b"),
        ("SendGrid API Key", r"\b(SG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43})\b"),
        ("Twilio API Key", r"\b(SK[0-9a-f]{32})\b"),
        ("DigitalOcean Token", r"\b(do[pro]_v1_[0-9a-f]{64})\b"),
        ("Shopify Token", r"\b(shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32})\b"),
        ("Vault Token", r"\b(hv[sb]\.[0-9A-Za-z_\-]{90,})"),
        ("Databricks Token", r"\b(dapi[0-9a-f]{32}(?:-\d)?)\b"),
        ("Doppler Token", r"\b(dp\.(?:st|pt|ct|sa|scim|audit)\.[0-9A-Za-z_\-]{40,})"),
        ("Postman API Key", r"\b(PMAK-[0-9a-f]{24}-[0-9a-f]{34})\b"),
        ("Linear API Key", r"\b(lin_api_[0-9A-Za-z]{40})\b"),
        ("Grafana Token", r"\b(glsa_[0-9A-Za-z]{32}_[0-9a-fA-F]{8})\b"),
        ("New Relic Key", r"\b(NRAK-[0-9A-Z]{27})\b"),
        ("Age Secret Key", r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b"),
        ("Azure Storage Account access key", r"(?i:AccountKey)=([0-9A-Za-z+/]{86}==)"),
        ("Azure Shared Access Key", r"(?i:SharedAccessKey)=([0-9A-Za-z+/]{43}=)"),
        ("Azure SAS Token", r"[?&]sig=([0-9A-Za-z%+/]{43,}(?:%3D|=))"),
        ("Private Key", r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"),
        ("AWS Access Key", r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b"),
    ]
]

#: every token pattern above starts with one of these (a cheap test before the patterns)
_TOKEN_HINT = re.compile(
    r"AIza|GOCSPX-|github_pat_|gh[pousr]_|gl[a-z]{1,3}t?-|sk-|hf_|npm_|pypi-|xox|_live_|SG\.|"
    r"SK[0-9a-f]|do[pro]_v1_|shp|hv[sb]\.|dapi|dp\.|PMAK-|lin_api_|glsa_|NRAK-|AGE-SECRET|"
    r"AccountKey|SharedAccessKey|sig=|PRIVATE KEY|A[SKB]IA|ACCA",
    re.IGNORECASE,
)
#: a word that names a secret, in a variable, key, flag or header name
_SECRET_WORD = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|"
    r"auth[_\-]?key|private[_\-]?key|client[_\-]?secret|credentials?|signing[_\-]?key)"
)
_SECRET_WORD_RE = re.compile(_SECRET_WORD, re.IGNORECASE)
# NAME=value / NAME: value / export NAME=value / ENV NAME value, unquoted (quoted values are
# detect-secrets' keyword detector's), in the files where values go unquoted
_ASSIGNMENT = re.compile(
    r"(?i)(?:^|[\s;{,]|^export\s+|^(?:ENV|ARG)\s+)(?P<name>[A-Za-z_][\w.\-]{0,40}?"
    + _SECRET_WORD
    + r"[\w\-]{0,40})['\"]?\s*[=:]\s*(?P<value>[^\s'\"`,;)(\]\[{}<>]{8,200})(?=$|[\s,;#'\"])"
)
_DOCKER_ENV = re.compile(
    r"(?i)^\s*(?:ENV|ARG)\s+(?P<name>[A-Za-z_]\w{0,40}?" + _SECRET_WORD + r"\w{0,40})\s+"
    r"(?P<value>[^\s'\"=]{8,200})\s*$"
)
#: files whose values are written unquoted (.env, INI, YAML, shell, Dockerfile, logs)
_UNQUOTED_SUFFIXES = (
    ".env",
    ".ini",
    ".cfg",
    ".conf",
    ".properties",
    ".yaml",
    ".yml",
    ".sh",
    ".bash",
    ".zsh",
    ".log",
    ".txt",
    ".envrc",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".tfvars",
    ".service",
)
_UNQUOTED_NAMES = ("dockerfile", "containerfile", "makefile", ".env", "docker-compose")


def unquoted_values(name: str) -> bool:
    """Whether ``name`` (a file name) is a kind of file whose values go unquoted."""
    lowered = name.lower()
    return lowered.endswith(_UNQUOTED_SUFFIXES) or lowered.startswith(_UNQUOTED_NAMES)


# %env NAME=value (IPython), export NAME=value in a notebook or a README: unquoted anywhere
_UNQUOTED_LINE = re.compile(r"^\s*(?:%env|%set_env|!?export|ENV|ARG|set)\s", re.IGNORECASE)
# curl -u user:password / --user user:password / wget --password
_CURL_USER = re.compile(
    r"(?:\s-u\s*|\s--user[=\s])['\"]?[^\s:'\"]+:([^\s'\"@{}()$]{6,200})(?![^\s'\"@])"
)
_HEROKU = re.compile(
    r"(?i)heroku.{0,30}?[=:]\s*['\"]?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"
)
_XML_ELEMENT = re.compile(
    r"(?i)<([\w.\-]{0,40}?" + _SECRET_WORD + r"[\w.\-]{0,40})>([^<\s{}()$]{8,200})</\1>"
)
_AWS_SECRET = re.compile(
    r"(?i)aws.{0,24}?(?:secret|sk).{0,24}?['\"]?\s*[=:]\s*['\"]?([0-9A-Za-z/+]{40})(?![0-9A-Za-z/+])"
)
_JWT = re.compile(r"\beyJ[0-9A-Za-z_\-]{8,}\.eyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{16,}")
_AUTH_HEADER = re.compile(r"(?i)\b(?:authorization|proxy-authorization)['\"]?\s*[:=]\s*['\"]?"
                          r"(bearer|token|basic)\s+([0-9A-Za-z._~+/\-]{16,}=*)")  # fmt: skip
_REFERENCE = re.compile(
    r"^(?:\$|%|@|&|\*|\\|~|/|\.|[a-z][\w+.\-]*://)|"  # $VAR, %VAR%, paths, secret references
    r"(?:getenv|environ|secrets\.|vars\.|env\.|\.get\b|\(\)|\.read|input)",
    re.I,
)
_ENTROPY_FLOOR = 3.0


def entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


_CODE = re.compile(r"^[A-Za-z_]\w*(?:[.:/][A-Za-z_*]\w*)+/?$")  # os.environ, re.compile, a/b


def _keyword_value_plausible(value: str) -> bool:
    """A credential, not a reference, a code name or a word: two character classes, one of
    them a digit or a symbol, and some entropy."""
    if _REFERENCE.search(value) or _CODE.match(value) or value.isalpha():
        return False
    if value.isidentifier() and "_" in value and (value.isupper() or value.islower()):
        return False  # SOME_NAME, some_name
    classes = sum(
        any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit)
    ) + any(not c.isalnum() for c in value)
    return classes >= 2 and entropy(value) >= _ENTROPY_FLOOR


def _jwt_plausible(token: str) -> bool:
    """A JWT's header decodes to a JSON object naming its algorithm."""
    header = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def _basic_auth_plausible(encoded: str) -> bool:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(":")
    return bool(sep and password)


def find_patterns(lines: list[str], name: str = "") -> Iterator[tuple[int, str, str]]:
    """``(line, kind, value)`` for every match of guardlib's own detectors; ``name`` is the
    file's name (it tells whether values go unquoted)."""
    unquoted = unquoted_values(name)
    for number, line in enumerate(lines, start=1):
        if len(line) < 8:
            continue
        if _TOKEN_HINT.search(line):
            for kind, pattern in _TOKENS:
                for match in pattern.finditer(line):
                    yield number, kind, match.group(1)
        if "eyJ" in line:
            for match in _JWT.finditer(line):
                if _jwt_plausible(match.group(0)):
                    yield number, "JSON Web Token", match.group(0)
        lowered = line.lower()
        if "aws" in lowered:
            for match in _AWS_SECRET.finditer(line):
                yield number, "AWS Secret Access Key", match.group(1)
        if "authorization" in lowered:
            yield from _auth_headers(number, line)
        if "curl" in lowered or "wget" in lowered:
            for match in _CURL_USER.finditer(line):
                if _keyword_value_plausible(match.group(1)):
                    yield number, "Basic Auth Credentials", match.group(1)
        if "heroku" in lowered:
            for match in _HEROKU.finditer(line):
                yield number, "Heroku API Key", match.group(1)
        if "<" in line and _SECRET_WORD_RE.search(line):
            for match in _XML_ELEMENT.finditer(line):
                if _keyword_value_plausible(match.group(2)):
                    yield number, "Secret Keyword", match.group(2)
        if (unquoted or _UNQUOTED_LINE.match(line)) and _SECRET_WORD_RE.search(line):
            matches = [*_ASSIGNMENT.finditer(line), *_DOCKER_ENV.finditer(line)]
            for match in matches:
                value = match.group("value")
                if _keyword_value_plausible(value):
                    yield number, "Secret Keyword", value


def _auth_headers(number: int, line: str) -> Iterator[tuple[int, str, str]]:
    for match in _AUTH_HEADER.finditer(line):
        scheme, value = match.group(1).lower(), match.group(2)
        if scheme == "basic":
            if _basic_auth_plausible(value):
                yield number, "Basic Auth Header", value
        elif entropy(value) >= _ENTROPY_FLOOR:
            yield number, "Bearer Token", value


# -- decoys ---------------------------------------------------------------------------------
_PLACEHOLDER = re.compile(
    r"(?i)x{4,}|\*{3,}|\.{3}|changeme|change[_\-]me|replace[_\-]?me|placeholder|redacted|"
    r"your[_\-]|<[^>]*>|\$\{|\{\{|\{\w*\}|%\(|todo|fixme|example|dummy|not[_\-]?set"
)
_CHECKSUM_WORDS = re.compile(
    r"(?i)sha(?:1|224|256|384|512)?\b|sha\d+[:\-=]|md5|checksum|digest|integrity|hash|commit|etag"
)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_INTEGRITY = re.compile(r"^sha(?:1|256|384|512)-[0-9A-Za-z+/]+={0,2}\\?$")  # npm, SRI
# a hex JSON key opening an object (saved widget state's model ids), or a widget reference
_WIDGET_ID = re.compile(r'^\s*"[0-9a-f]{16,64}": \{\s*$|model_id|IPY_MODEL_')
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
# names, not values: boto3's and the Secrets Manager API's ``SecretId`` names a secret (a name or
# an ARN; botocore's secretsmanager model, shape SecretIdType), a KMS alias names a key, and a
# secret reference names a store and a secret (guardlib.resolve and its schemes)
_SECRET_ID_ARG = re.compile(r"""\b(?:SecretId|KmsKeyId)["']?\s*[=:]\s*["']([^"'\s]+)["']""")
_NAMES = re.compile(
    r"^(?:alias/[\w/\-]+|(?:aws-sm|azure-kv|gcp-sm|vault|env|dotenv|sops|dotenvx)://[^\s]+)$"
)


def is_decoy(value: str, line: str = "") -> bool:
    """A documentation example, a placeholder, a checksum or an id, not a credential."""
    if "EXAMPLE" in value or _PLACEHOLDER.search(value):
        return True
    if "`" in value and " " in value:
        return True  # Markdown prose (`code` words and spaces), not one value
    if len(value) >= 8 and len(set(value)) <= 3:
        return True  # aaaaaaaa, 00000000, abababab
    if _NAMES.match(value) or any(m.group(1) == value for m in _SECRET_ID_ARG.finditer(line)):
        return True  # a secret's or a key's name, or a reference to a secret
    if _UUID.match(value):
        return "heroku" not in line.lower()  # Heroku's API keys are UUIDs
    if _HEX.match(value) and _WIDGET_ID.search(line):
        return True  # an ipywidgets model id in saved widget state
    if _HEX.match(value) and len(value) in (32, 40, 56, 64, 96, 128):
        return bool(_CHECKSUM_WORDS.search(line))
    return bool(_INTEGRITY.match(value))
