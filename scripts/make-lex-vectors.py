#!/usr/bin/env python3
"""Generates Tests/LexTests/Vectors/lex-requests.json: Lex V1 PostContent and
V2 RecognizeUtterance requests signed by botocore (1.43.11), for the Swift
signer and request builders to reproduce header for header.

Each case is sent through a real botocore client whose HTTP layer is replaced
by a `before-send` hook that records the signed request; the signing time is
frozen. What is recorded: URL, the headers botocore sends (minus User-Agent,
Content-Length and the amz-sdk-* telemetry headers, which botocore adds
unsigned), the Host it signs, and the Authorization header.

botocore takes V2's session state and request attributes as opaque strings;
this script makes them as Lex documents (JSON, gzip, base64), with the same
settings as the Swift builder: JSON with sorted keys and no spaces (Python's
json.dumps(..., separators=(',', ':')), ensure_ascii), gzip through
zlib.compress(level 9, wbits 31) (header mtime 0). V1's attribute headers are
botocore's own serialisation of dicts built in sorted key order.

Run:  python3 scripts/make-lex-vectors.py > Tests/LexTests/Vectors/lex-requests.json
"""

import base64
import datetime
import json
import sys
import zlib
from unittest import mock
from urllib.parse import urlsplit

import botocore
import botocore.session
from botocore.awsrequest import AWSResponse

assert botocore.__version__ == "1.43.11", botocore.__version__

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCWV1LXdlc3QtMiJHMEUCIQD+token/with+slash=="
UNSENT = {"user-agent", "content-length", "amz-sdk-invocation-id", "amz-sdk-request"}


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def sorted_dict(d):
    return dict(sorted(d.items()))


def gzip_base64(text):
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9, wbits=31)).decode("ascii")


def pcm(count):
    """A deterministic 16-bit LE ramp of `count` bytes."""
    return bytes((i * 7 + 3) & 0xFF for i in range(count))


class _Raw:
    def stream(self, **kwargs):
        return iter([b""])


def record(service, region, creds, when, call):
    session = botocore.session.get_session()
    client = session.create_client(
        service, region_name=region,
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds.get("sessionToken"))
    captured = {}

    def before_send(request, **kwargs):
        captured["request"] = request
        return AWSResponse(request.url, 200, {"content-type": "audio/pcm"}, _Raw())

    client.meta.events.register("before-send", before_send)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        call(client)
    request = captured["request"]
    headers = {}
    for name, value in request.headers.items():
        if name.lower() in UNSENT:
            continue
        headers[name] = value.decode("utf-8") if isinstance(value, bytes) else value
    return {
        "method": request.method,
        "url": request.url,
        "host": urlsplit(request.url).netloc,
        "headers": headers,
        "authorization": headers["Authorization"],
    }


def v2_case(name, region, when, bot_id, alias_id, locale_id, session_id, input_, creds,
            session_attributes=None, request_attributes=None, session_state=None):
    kwargs = dict(botId=bot_id, botAliasId=alias_id, localeId=locale_id, sessionId=session_id,
                  responseContentType="audio/pcm")
    if input_["type"] == "audio":
        body = pcm(input_["bytes"])
        kwargs["requestContentType"] = (
            "audio/l16; rate=16000; channels=1" if input_["sampleRate"] == 16000 else
            "audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false")
    else:
        body = input_["text"].encode("utf-8")
        kwargs["requestContentType"] = "text/plain; charset=utf-8"
    kwargs["inputStream"] = body
    if session_state is not None:
        kwargs["sessionState"] = gzip_base64(session_state)
    elif session_attributes:
        kwargs["sessionState"] = gzip_base64(
            '{"sessionAttributes":' + compact(sorted_dict(session_attributes)) + "}")
    if request_attributes:
        kwargs["requestAttributes"] = gzip_base64(compact(sorted_dict(request_attributes)))
    expected = record("lexv2-runtime", region, creds, when, lambda c: c.recognize_utterance(**kwargs))
    return {
        "name": name, "api": "v2", "region": region,
        "date": when.strftime("%Y%m%dT%H%M%SZ"),
        "target": {"botId": bot_id, "aliasId": alias_id, "localeId": locale_id, "sessionId": session_id},
        "input": input_, "bodyBase64": base64.b64encode(body).decode("ascii"),
        "sessionAttributes": session_attributes or {},
        "requestAttributes": request_attributes or {},
        "sessionStateJSON": session_state,
        "credentials": creds, "expected": expected,
    }


def v1_case(name, region, when, bot, alias, user, input_, creds,
            session_attributes=None, request_attributes=None):
    kwargs = dict(botName=bot, botAlias=alias, userId=user, accept="audio/pcm")
    if input_["type"] == "audio":
        body = pcm(input_["bytes"])
        kwargs["contentType"] = (
            "audio/l16; rate=16000; channels=1" if input_["sampleRate"] == 16000 else
            "audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false")
    else:
        body = input_["text"].encode("utf-8")
        kwargs["contentType"] = "text/plain; charset=utf-8"
    kwargs["inputStream"] = body
    if session_attributes:
        kwargs["sessionAttributes"] = sorted_dict(session_attributes)
    if request_attributes:
        kwargs["requestAttributes"] = sorted_dict(request_attributes)
    expected = record("lex-runtime", region, creds, when, lambda c: c.post_content(**kwargs))
    return {
        "name": name, "api": "v1", "region": region,
        "date": when.strftime("%Y%m%dT%H%M%SZ"),
        "target": {"bot": bot, "alias": alias, "user": user},
        "input": input_, "bodyBase64": base64.b64encode(body).decode("ascii"),
        "sessionAttributes": session_attributes or {},
        "requestAttributes": request_attributes or {},
        "sessionStateJSON": None,
        "credentials": creds, "expected": expected,
    }


def main():
    plain = {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": SECRET}
    temporary = {"accessKeyId": "ASIAEXAMPLE123", "secretAccessKey": SECRET, "sessionToken": TOKEN}
    d1 = datetime.datetime(2024, 5, 6, 7, 8, 9)
    d2 = datetime.datetime(2025, 12, 31, 23, 59, 59)
    d3 = datetime.datetime(2016, 2, 29, 0, 0, 0)
    state = compact({
        "dialogAction": {"type": "ElicitIntent"},
        "sessionAttributes": {"caller": "+447700900123", "nexmo-close": "false"},
    })
    cases = [
        v2_case("v2-audio16k-session-id-punctuation", "eu-west-2", d1, "ABCDEFGHIJ", "TSTALIASID", "en_GB",
                "call:1234.abcd_ef-01", {"type": "audio", "sampleRate": 16000, "bytes": 640}, plain),
        v2_case("v2-audio8k-attributes-token", "us-east-1", d2, "Q1W2E3R4T5", "ALIAS_01", "en_US",
                "CON-8b1c.2f:uuid_x", {"type": "audio", "sampleRate": 8000, "bytes": 320}, temporary,
                session_attributes={"caller": "447700900123", "x.y": "a:b"},
                request_attributes={"x-amz-lex:accept-content-types": "PlainText,SSML", "channel": "phone"}),
        v2_case("v2-text-session-state-token", "ap-southeast-2", d3, "0123456789", "TSTALIASID", "en_AU",
                "a:b", {"type": "text", "text": "I would like to book a room"}, temporary,
                session_state=state),
        v2_case("v2-audio16k-request-attributes-non-ascii", "eu-central-1", d1, "zzzzzzzzz9", "prod-alias",
                "de_DE", "__--..::", {"type": "audio", "sampleRate": 16000, "bytes": 1280}, plain,
                request_attributes={"greeting": "Grüß Gott \"quoted\"\n", "emoji": "\U0001F600"}),
        v1_case("v1-audio16k-user-punctuation", "us-east-1", d1, "BookTrip", "prod", "call:1234.abcd_ef-01",
                {"type": "audio", "sampleRate": 16000, "bytes": 640}, plain),
        v1_case("v1-audio8k-attributes-token", "eu-west-1", d2, "Order_Flowers", "Live_Alias", "user-8.k_hz:x",
                {"type": "audio", "sampleRate": 8000, "bytes": 320}, temporary,
                session_attributes={"nexmo-close": "true", "caller": "café \"quoted\""},
                request_attributes={"x-amz-lex:channel": "voice"}),
        v1_case("v1-text-latest-alias", "us-west-2", d3, "Bot", "$LATEST", "ab",
                {"type": "text", "text": "hello there"}, plain),
        v1_case("v1-text-request-attributes-token", "ap-southeast-2", d1, "HelpDesk", "beta", "x_y.z-0:1",
                {"type": "text", "text": "ünïcödé text"}, temporary,
                request_attributes={"a": "1", "B": "2"}),
    ]
    json.dump({"generator": "scripts/make-lex-vectors.py", "botocore": botocore.__version__,
               "cases": cases}, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
