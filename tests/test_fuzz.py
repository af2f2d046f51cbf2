"""Fuzzing: no input earns a 5xx (DESIGN: HTTP; issue #13 item 10), each run bounded in time.

- schemathesis generates requests for every operation of the admin API's OpenAPI schema, with the token,
  against a live server on a township's data (both engines);
- hypothesis throws random bytes, random XML and random field values at both callbacks, signed and sealed
  as WeChat would, and at the callback parser itself.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from bot.channels import OfficialAccount, WeComApp
from bot.refusals import Refused
from bot.wirecrypto import Envelope
from app.main import create_app
from app.settings import Settings
from tests import township
from tests.conftest import T0
from tests.wxclient import Aes, Peer, xml_doc

TOKEN, KEY, CORP = "fuzz-token", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "wwfuzz0000000001"
ADMIN = {"Authorization": "Bearer fuzz-admin"}
FAST = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture
def live(serve, db):
    township.load(db)
    return serve(admin_token="fuzz-admin", work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP,
                 mp_token=TOKEN, mp_allow_plaintext=True)


def _operations() -> list[str]:
    """The admin API's operations, read from the app's own schema (no server needed to list them)."""
    app = create_app(Settings(_env_file=None, database_url="sqlite://"))
    return [op.ok().label for op in schemathesis.openapi.from_dict(app.openapi()).get_all_operations()
            if op.ok().path.startswith("/api/")]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("label", _operations())
def test_the_admin_api_never_answers_5xx(live, label):
    """Valid and invalid requests (schemathesis' positive and negative modes) to one operation, with the token."""
    schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
    operation = next(op.ok() for op in schema.get_all_operations() if op.ok().label == label)
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @FAST
    @given(case=strategy)
    def call(case):
        resp = case.call(base_url=live.url, headers=ADMIN, timeout=10)
        assert resp.status_code < 500, (case.method, case.formatted_path, case.query, case.body, resp.text[:300])

    call()


# -- the callbacks ----------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=200)
FIELD_NAMES = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event",
                               "EventKey", "AgentID", "Location_X", "Location_Y", "Scale", "Url", "Recognition"])
FIELD_VALUES = st.one_of(TEXT, st.integers(-2**70, 2**70).map(str), st.sampled_from(
    ["text", "event", "location", "voice", "link", "image", "subscribe", "click", "", "²", "9" * 400]))


@st.composite
def documents(draw) -> dict:
    """A callback document: mostly well-formed messages, with any field missing, odd or random."""
    doc = {"ToUserName": CORP, "FromUserName": draw(st.sampled_from(["gw", "u-x", "o-x"])), "CreateTime": T0,
           "MsgType": draw(st.sampled_from(["text", "event", "location", "voice", "link"])),
           "Content": draw(TEXT), "MsgId": draw(st.integers(1, 10**12))}
    for name, value in draw(st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=4)).items():
        doc[name] = value
    for name in draw(st.lists(FIELD_NAMES, max_size=2)):
        doc.pop(name, None)
    return doc


@pytest.mark.timeout(60)
@FAST
@given(doc=documents(), raw=st.binary(max_size=300), sealed=st.booleans())
def test_the_callbacks_never_answer_5xx(live, doc, raw, sealed):
    work = Peer(live.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)
    plain = Peer(live.url, "mp", TOKEN, account=CORP, timestamp=T0)
    try:
        inner = xml_doc(doc)
    except ValueError:  # the XML writer refuses some characters: send them raw instead
        inner = str(doc)
    body, encrypt = work.seal(inner) if sealed else (inner, None)
    for resp in (work.post_raw(body, work.query(encrypt)), work.post_raw(raw, work.query(encrypt)),
                 plain.post_raw(inner.encode("utf-8", "surrogatepass"), plain.query()),
                 plain.post_raw(raw, plain.query())):
        assert resp.status_code < 500, (resp.status_code, resp.text)


@FAST
@given(body=st.one_of(st.binary(max_size=500), TEXT.map(str.encode), documents().map(lambda d: xml_doc(d).encode())))
def test_the_parser_refuses_or_reads_any_body(body):
    """The channel adapters alone, without HTTP: any body is read or Refused, never another exception."""
    from datetime import UTC, datetime

    class Clock:
        def now(self):
            return datetime.fromtimestamp(T0, UTC)

    from tests.wxclient import sign

    query = {"timestamp": str(T0), "nonce": "1", "signature": sign(TOKEN, str(T0), "1")}
    for channel in (OfficialAccount(TOKEN, None, Clock(), 300),
                    WeComApp(TOKEN, Envelope(KEY, CORP, enterprise=True), Clock(), 300)):
        sealed = {**query, "msg_signature": sign(TOKEN, str(T0), "1", body.decode("latin-1"))}
        try:
            channel.open(sealed, body)
        except Refused:
            pass

