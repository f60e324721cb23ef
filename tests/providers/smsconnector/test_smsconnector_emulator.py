"""Conformance of the SMSConnector emulator with the wire reference, over real HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from reconciler.providers.smsconnector.capabilities import ADD_ENTRIES_LIMIT
from reconciler.sandbox.smsconnector.emulator import SANDBOX_CREDENTIALS, SmsConnectorEmulator


def test_login_returns_logon_result_with_hex_token(api):
    """Security/Login answers a LogonResult whose Token is 32 hex characters."""
    body = {"Username": "demo", "Password": SANDBOX_CREDENTIALS["password"]}
    data = api.call("POST", "api/Security/Login", body).json()
    assert data["Status"] == "Success"
    assert re.fullmatch(r"[0-9a-f]{32}", data["Token"])
    assert {"Firstname", "Surname", "PhoneNumber", "Company"} <= set(data)


def test_wrong_password_is_invalid_credentials(api):
    """A wrong password gives HTTP 200, Status InvalidCredentials and a null Token."""
    response = api.call("POST", "api/Security/Login", {"Username": "demo", "Password": "nope"})
    assert response.status_code == 200
    assert response.json()["Status"] == "InvalidCredentials"
    assert response.json()["Token"] is None


def test_envelope_on_success_and_invalid_session(api):
    """Calls answer the StatusEnum/Status/Result envelope; an unknown token is StatusEnum 1 InvalidSession."""
    token = api.login()
    assert api.call("GET", f"api/Company/GetHeaders/{token}").json() == {
        "StatusEnum": 0,
        "Status": "Success",
        "Result": ["82830", "ACMELTD"],
    }
    assert api.call("GET", "api/Company/GetHeaders/" + "0" * 32).json() == {
        "StatusEnum": 1,
        "Status": "InvalidSession",
        "Result": [],
    }


def test_routes_are_case_insensitive(api):
    """Controller and action names match in any case (the seed mixes api/status/getrecentfails)."""
    token = api.login()
    assert api.ok("GET", f"API/company/GETBRANDS/{token}") == ["Acme"]
    assert api.ok("GET", f"api/status/getrecentfails/{token}", params={"DateFrom": "2026-01-01"}) == []


def test_framework_errors(api):
    """Unknown route 404, wrong verb 405, malformed JSON 400 and XML 415, each with a Message."""
    token = api.login()
    missing = api.call("GET", f"api/Nothing/Here/{token}")
    assert missing.status_code == 404 and "No HTTP resource" in missing.json()["Message"]
    wrong_verb = api.call("POST", f"api/Company/GetHeaders/{token}")
    assert wrong_verb.status_code == 405
    assert "does not support http method 'POST'" in wrong_verb.json()["Message"]
    bad_json = api.call(
        "POST", "api/Phonelists/CreateList", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and bad_json.json() == {"Message": "The request is invalid."}
    xml = api.call(
        "POST", "api/Phonelists/CreateList", data="<x/>", headers={"Content-Type": "application/xml"}
    )
    assert xml.status_code == 415


def test_injected_error_answers_500_message(emulator, api):
    """A fault-injected error answers HTTP 500 with the framework Message."""
    emulator.faults = type(emulator.faults).parse("error:times=1")
    response = api.call("GET", "api/Company/GetHeaders/x")
    assert response.status_code == 500 and response.json() == {"Message": "An error has occurred."}


def test_throttle_answers_429(emulator, api):
    """Over rpm_limit the emulator answers 429 with {"Message": "Too many requests"} (ASSUMPTION)."""
    emulator.rpm_limit = 2
    codes = [api.call("GET", "api/Company/GetHeaders/x").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api.call("GET", "api/Company/GetHeaders/x").json() == {"Message": "Too many requests"}


def test_session_idle_expiry_and_expire_hook(emulator, api, clock):
    """A token expires after session_idle_seconds without use; expire_sessions ends all sessions now."""
    token = api.login()
    clock.advance(3500)
    assert api.call("GET", f"api/Test/{token}").json()["StatusEnum"] == 0
    clock.advance(3500)  # idle time is measured from the last use
    assert api.call("GET", f"api/Test/{token}").json()["StatusEnum"] == 0
    clock.advance(3601)
    assert api.call("GET", f"api/Test/{token}").json()["Status"] == "InvalidSession"
    token = api.login()
    assert api.call("POST", "__emulator__/expire_sessions").status_code == 200
    assert api.call("GET", f"api/Test/{token}").json()["Status"] == "InvalidSession"


def test_logout_get_and_delete(api):
    """Logout by GET or DELETE ends the session; later calls with the token are InvalidSession."""
    for method in ("GET", "DELETE"):
        token = api.login()
        assert api.ok(method, f"api/Security/Logout/{token}") == ""
        assert api.call("GET", f"api/Test/{token}").json()["StatusEnum"] == 1


def test_reusable_token_login_and_verify(api):
    """RequestReusableToken gives a token that LoginWithReusableToken turns into a new session."""
    reusable = api.ok("GET", f"api/Security/RequestReusableToken/{api.login()}")
    verified = api.call("POST", "api/Security/VerifyReusableToken", reusable).json()
    assert verified["Status"] == "Success" and verified["Token"] is None
    data = api.call("POST", "api/Security/LoginWithReusableToken", reusable).json()
    assert data["Status"] == "Success"
    assert api.ok("GET", f"api/Users/GetCurrentUserInfo/{data['Token']}")["Username"] == "demo"
    bogus = api.call("POST", "api/Security/LoginWithReusableToken", "bogus").json()
    assert bogus["Status"] == "InvalidCredentials"


def test_folders_seeded(api):
    """GetFolders lists the seeded named folder; the root folder 0 is implicit."""
    token = api.login()
    assert api.ok("GET", f"api/Users/GetFolders/{token}") == [
        {"FolderID": 1, "Name": "Marketing", "ParentFolderID": None}
    ]
    assert api.ok("GET", f"api/Users/GetFoldersBasic/{token}") == [{"FolderID": 1, "Name": "Marketing"}]


def test_phone_lists_create_upsert_order_and_navigation(api):
    """CreateList takes ListName or Name; entries upsert, keep insertion order, and navigate."""
    token = api.login()
    first = api.ok("POST", "api/Phonelists/CreateList", {"SessionToken": token, "ListName": "A"})
    second = api.ok("POST", "api/Phonelists/CreateList", {"SessionToken": token, "Name": "B", "Folder": 1})
    assert api.ok("GET", f"api/Phonelists/GetLists/{token}") == [
        {"ListID": first, "ListName": "A", "Folder": 0, "NumberCount": 0}
    ]
    in_folder = api.ok("GET", f"api/Phonelists/GetLists/{token}", params={"Folder": 1})
    assert [x["ListName"] for x in in_folder] == ["B"]
    assert api.ok("GET", f"api/Phonelists/GetList/{token}/{second}")["ListName"] == "B"
    entries = [{"PhoneNumber": "447700900003"}, {"PhoneNumber": "07700 900001"}, {"PhoneNumber": "12"}]
    assert (
        api.ok(
            "POST",
            "api/Phonelists/AddMultipleEntries",
            {"SessionToken": token, "ListID": first, "ListEntries": entries},
        )
        == 2
    )
    assert (
        api.ok(
            "POST",
            "api/Phonelists/AddSingleEntry",
            {
                "SessionToken": token,
                "ListID": first,
                "ListEntry": {"PhoneNumber": "+447700900003", "FirstName": "Jo"},
            },
        )
        == 1
    )
    assert api.ok("GET", f"api/Phonelists/GetNumbers/{token}/{first}") == ["+447700900003", "07700 900001"]
    assert api.ok("GET", f"api/Phonelists/GetNumberDetail/{token}/{first}/447700900003")["FirstName"] == "Jo"
    assert api.ok("GET", f"api/Phonelists/GetNextNumber/{token}/{first}/447700900003") == "07700 900001"
    assert api.ok("GET", f"api/Phonelists/GetNextNumber/{token}/{first}/447700900001") is None
    assert api.ok("GET", f"api/Phonelists/GetPreviousNumber/{token}/{first}/447700900003") is None


def test_phone_list_failures(api):
    """Invalid number, unknown list, unknown folder and missing name answer their StatusEnum."""
    token = api.login()
    list_id = api.ok("POST", "api/Phonelists/CreateList", {"SessionToken": token, "ListName": "A"})
    single = api.call(
        "POST",
        "api/Phonelists/AddSingleEntry",
        {"SessionToken": token, "ListID": list_id, "ListEntry": {"PhoneNumber": "abc"}},
    ).json()
    assert (single["StatusEnum"], single["Result"]) == (2, 0)
    assert api.call("GET", f"api/Phonelists/GetNumbers/{token}/999").json()["Status"] == "NotFound"
    assert api.call("GET", f"api/Phonelists/GetLists/{token}/42").json()["Status"] == "NotFound"
    assert api.call("POST", "api/Phonelists/CreateList", {"SessionToken": token}).json()["StatusEnum"] == 2


def test_add_multiple_entries_batch_limit(emulator, api):
    """More than ADD_ENTRIES_LIMIT entries in one call is StatusEnum 2 and stores nothing."""
    token = api.login()
    list_id = api.ok("POST", "api/Phonelists/CreateList", {"SessionToken": token, "ListName": "A"})
    entries = [{"PhoneNumber": f"4477009{n:05d}"} for n in range(ADD_ENTRIES_LIMIT + 1)]
    data = api.call(
        "POST",
        "api/Phonelists/AddMultipleEntries",
        {"SessionToken": token, "ListID": list_id, "ListEntries": entries},
    ).json()
    assert (data["StatusEnum"], data["Status"]) == (2, "InvalidParameters")
    assert emulator.numbers(list_id) == []
    body = {"SessionToken": token, "ListID": list_id, "ListEntries": entries[:-1]}
    assert api.ok("POST", "api/Phonelists/AddMultipleEntries", body) == ADD_ENTRIES_LIMIT


def _campaign(api, token, **fields):
    body = {
        "SessionToken": token,
        "Title": "Sale",
        "Text": "20% off",
        "Folder": 0,
        "Brand": "Acme",
        "FromNumber": "82830",
        "LaunchAt": "2027-03-01T09:00:00+00:00",
        "Lease": 8,
        **fields,
    }
    return api.call("POST", "api/Campaigns/CreateCampaign", body).json()


def test_campaign_lifecycle(emulator, api, clock):
    """Created unarmed; Launch needs a linked list; after LaunchAt with the flag set it is sent and frozen."""
    token = api.login()
    campaign = _campaign(api, token)["Result"]
    list_id = api.ok("POST", "api/Phonelists/CreateList", {"SessionToken": token, "ListName": "A"})
    assert emulator.campaigns()[0]["armed"] is False
    ids = {"SessionToken": token, "CampaignID": campaign}
    assert api.call("POST", "api/Campaigns/LaunchCampaign", ids).json()["StatusEnum"] == 2
    assert api.ok("POST", "api/Campaigns/LinkCampaignAndPhonelist", {**ids, "ListID": list_id}) is True
    assert api.ok("POST", "api/Campaigns/LinkCampaignAndPhonelist", {**ids, "ListID": list_id}) is True
    assert api.ok("POST", "api/Campaigns/LaunchCampaign", ids) is True
    assert api.ok("POST", "api/Campaigns/StopCampaign", ids) is True
    assert api.ok("DELETE", "api/Campaigns/UnlinkCampaignAndPhonelist", {**ids, "ListID": list_id}) is True
    assert api.ok("DELETE", "api/Campaigns/UnlinkCampaignAndPhonelist", {**ids, "ListID": list_id}) is True
    api.ok("POST", "api/Campaigns/LinkCampaignAndPhonelist", {**ids, "ListID": list_id})
    api.ok("POST", "api/Campaigns/LaunchCampaign", ids)
    clock.now = datetime(2027, 3, 1, 9, 0, 1, tzinfo=UTC).timestamp()
    token = api.login()
    ids["SessionToken"] = token
    assert emulator.campaigns()[0]["sent"] is True
    for route in ("LinkCampaignAndPhonelist", "LaunchCampaign", "StopCampaign"):
        answer = api.call("POST", f"api/Campaigns/{route}", {**ids, "ListID": list_id}).json()
        assert answer["StatusEnum"] == 5
    assert (
        api.call("DELETE", "api/Campaigns/UnlinkCampaignAndPhonelist", {**ids, "ListID": list_id}).json()[
            "StatusEnum"
        ]
        == 5
    )


def test_campaign_validation(api):
    """Unknown brand, header or folder, a bad date, or LaunchAt in the past are refused."""
    token = api.login()
    assert _campaign(api, token, Brand="Other")["StatusEnum"] == 2
    assert _campaign(api, token, FromNumber="99999")["StatusEnum"] == 2
    assert _campaign(api, token, LaunchAt="tomorrow")["StatusEnum"] == 2
    assert _campaign(api, token, Folder=77)["StatusEnum"] == 3
    assert (
        api.call("POST", "api/Campaigns/StopCampaign", {"SessionToken": token, "CampaignID": 404}).json()[
            "StatusEnum"
        ]
        == 3
    )
    past = _campaign(api, token, LaunchAt="2020-01-01T09:00:00")["Result"]
    list_id = api.ok("POST", "api/Phonelists/CreateList", {"SessionToken": token, "ListName": "A"})
    ids = {"SessionToken": token, "CampaignID": past, "ListID": list_id}
    api.ok("POST", "api/Campaigns/LinkCampaignAndPhonelist", ids)
    assert api.call("POST", "api/Campaigns/LaunchCampaign", ids).json()["StatusEnum"] == 2


def test_stops_and_reinstates(emulator, api, clock):
    """STOP/START events: all, from a date, since yesterday; injected by method or control hook."""
    token = api.login()
    emulator.add_stop("07700 900123", "2026-01-10T10:00:00Z")
    emulator.add_reinstate("447700900123", "2026-02-10T10:00:00Z")
    assert api.call("POST", "__emulator__/stop", {"PhoneNumber": "447700900456"}).status_code == 200
    stops = api.ok("GET", f"api/Status/GetAllStops/{token}")
    assert [s["PhoneNumber"] for s in stops] == ["447700900123", "447700900456"]
    assert stops[0]["Date"] == "2026-01-10T10:00:00+00:00"
    assert [
        s["PhoneNumber"]
        for s in api.ok("GET", f"api/Status/GetStopsFromDate/{token}", params={"DateFrom": "2026-06-01"})
    ] == ["447700900456"]
    assert [s["PhoneNumber"] for s in api.ok("GET", f"api/Status/GetStops/{token}")] == ["447700900456"]
    assert len(api.ok("GET", f"api/Status/GetAllReinstates/{token}")) == 1
    assert api.ok("GET", f"api/Status/GetReinstates/{token}") == []
    assert (
        api.call("GET", f"api/Status/GetReinstatesFromDate/{token}", params={"DateFrom": "yesterday"}).json()[
            "StatusEnum"
        ]
        == 2
    )


def test_messages_and_text_ins(emulator, api):
    """SendInstantMessage validates its header and number; text-in contacts are limited to one week."""
    token = api.login()
    send = {"SessionToken": token, "FromNumber": "82830", "ToNumber": "07700900123", "Message": "Hi"}
    assert api.ok("POST", "api/Messages/SendInstantMessage", send) == ""
    refused = api.call("POST", "api/Messages/SendInstantMessage", {**send, "FromNumber": "1"}).json()
    assert refused["StatusEnum"] == 2
    assert re.fullmatch(r"\d{6}", api.ok("POST", "api/Messages/SendTwoFactorToken", send))
    emulator.add_inbound("07700900123", "82830", "Thanks")
    assert api.ok("GET", f"api/Messages/GetAllInboundMessages/{token}")[0]["Message"] == "Thanks"
    assert len(api.ok("GET", f"api/Messages/GetConversation/{token}/447700900123")) == 3
    emulator.add_text_in("07700900123", "WIN", text_in_id=5)
    assert api.ok("GET", f"api/TextIn/GetTextIns/{token}")[0]["Keyword"] == "WIN"
    window = {"DateFrom": "2026-11-20", "DateTo": "2026-11-25"}
    assert api.ok("GET", f"api/TextIn/GetContacts/{token}/5", params=window) == ["447700900123"]
    too_long = {"DateFrom": "2026-11-01", "DateTo": "2026-11-25"}
    assert api.call("GET", f"api/TextIn/GetContacts/{token}/5", params=too_long).json()["StatusEnum"] == 2


def test_send_needs_permission(emulator, api):
    """A user without the Send Message permission gets StatusEnum 4 NotPermitted."""
    emulator.add_user("viewer", "viewer-password", can_send=False)
    login = {"username": "viewer", "password": "viewer-password"}  # binding is case-insensitive
    token = api.call("POST", "api/Security/Login", login).json()["Token"]
    send = {"SessionToken": token, "FromNumber": "82830", "ToNumber": "07700900123", "Message": "Hi"}
    data = api.call("POST", "api/Messages/SendInstantMessage", send).json()
    assert (data["StatusEnum"], data["Status"]) == (4, "NotPermitted")


@pytest.mark.parametrize("path", ["api/Foo", "api/Foo?Bar=1"])
def test_foo_does_nothing(api, path):
    """api/Foo answers without content for GET and POST."""
    assert api.call("GET", path).status_code == 204
    assert api.call("POST", path).status_code == 204


def test_file_database_seeds_once(tmp_path):
    """A file database is seeded idempotently and keeps its data across emulator instances."""
    path = str(tmp_path / "smsc.db")
    first = SmsConnectorEmulator(path)
    first.add_stop("07700900123")
    first.db.close()
    second = SmsConnectorEmulator(path)
    assert second.db.execute("SELECT count(*) FROM company").fetchone()[0] == 3
    assert second.db.execute("SELECT count(*) FROM events").fetchone()[0] == 1
