"""Authentication for the schemathesis run against Vigil (make test-api).

Each run signs in as the account the Makefile created, the way a client would: bearer
tokens from /api/auth/token (VIGIL_ST_AUTH=bearer), or the browser's session cookie from
/api/auth/login (VIGIL_ST_AUTH=cookie). Operations that end the session (logout, ending
one's own session, a password change ending the others) are part of the run, so a 401
signs in afresh and the request is sent again, as a client would.
"""

import itertools
import os
import re

import requests
import schemathesis

BASE = os.environ["VIGIL_ST_BASE"]
USER = os.environ["VIGIL_ST_USER"]
PASSWORD = os.environ["VIGIL_ST_PASSWORD"]
MODE = os.environ.get("VIGIL_ST_AUTH", "bearer")
COOKIE = "__Host-vigil-session"


def sign_in():
    path = "/api/auth/token" if MODE == "bearer" else "/api/auth/login"
    response = requests.post(
        BASE + path, json={"username": USER, "password": PASSWORD}, timeout=10
    )
    response.raise_for_status()
    if MODE == "bearer":
        return response.json()["access_token"]
    return response.cookies.get(COOKIE) or _cookie_from_header(response)


def _cookie_from_header(response):
    # requests keeps Secure cookies out of its jar on http://; read the header itself.
    for part in response.headers.get("set-cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    raise RuntimeError("the sign-in set no session cookie")


@schemathesis.auth(refresh_interval=60, retry_on=[401])
class VigilAuth:
    def get(self, case, context):
        return sign_in()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        if MODE == "bearer":
            case.headers["Authorization"] = f"Bearer {data}"
        else:
            case.headers["Cookie"] = f"{COOKIE}={data}"


_keys = itertools.count()
# vigil::work::IDEMPOTENCY_KEY_PATTERN
VALID_KEY = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def before_call(context, case, kwargs):
    """A valid Idempotency-Key stands for one change: the same key with another request is
    refused (422, as the API suite checks). A generator reuses its few values across
    requests, so each valid key is made unique; invalid keys are sent as they are."""
    headers = case.headers or {}
    key = next((name for name in headers if name.lower() == "idempotency-key"), None)
    if key and isinstance(headers[key], str) and VALID_KEY.fullmatch(headers[key]):
        headers[key] = f"schemathesis-{os.getpid()}-{next(_keys)}"
