"""Requests per scenario against each emulator, compared with the minimum the API allows (issue 11).

Each scenario applies one change set through the CLI and counts the requests the emulator saw,
reads of the plan included. The minimum is what any client must send: the reads a plan needs
(each listable type once; Intouch members and SMSConnector entries one group or list at a time,
as those APIs offer no other way; the settings and opt-out lists the checks read) and one write
per change or per batch where the API offers none smaller, plus one read-back per created group or
phone list to check the id the create returned before anything is attached to it (issue 10: a
wrong id would put members into another group). The ratio must be 1.00: nothing read twice (an
update does not GET what the refresh returned), nothing written that did not change.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from pathlib import Path

from tests.e2e.conftest import Emu, Repo, make_repo

IDS = re.compile(r"/(?:\d+|[0-9a-f]{32})(?=/|$)")


def applied(repo: Repo, emu: Emu, resources: str) -> Counter[str]:
    """Write ``resources``, apply, and return the requests seen, as ``METHOD /path`` with ids as ``N``."""
    repo.write("resources.yaml", textwrap.dedent(resources))
    emu.emulator.reset_counts()
    result = repo.cli("apply", str(repo.root), "--auto-approve")
    assert result.exit_code == 0, result.output
    calls: Counter[str] = Counter()
    for (method, path), n in emu.emulator.counts.items():
        calls[method + " " + IDS.sub("/N", path)] += n
    return calls


def assert_minimum(calls: Counter[str], minimum: Counter[str]) -> None:
    ratio = sum(calls.values()) / sum(minimum.values())
    extra, missing = calls - minimum, minimum - calls
    assert calls == minimum, f"ratio {ratio:.2f}; more than needed: {dict(extra)}; fewer: {dict(missing)}"


INTOUCH_READS = Counter({"GET /N/user": 1, "GET /N/groups": 1, "GET /N/contacts": 1})
INTOUCH_V1 = """\
    account: no
    groups:
      - name: Staff
      - name: VIP
        description: Best customers
    contacts:
      - {mobile: "+4790550001", first_name: Ann, last_name: Lie, groups: [Staff]}
      - {mobile: "+4790550002", first_name: Bo, last_name: Berg, groups: [VIP]}
      - {mobile: "+4790550003", first_name: Cy, groups: [VIP]}
"""


def test_intouch_requests_are_the_minimum(tmp_path: Path, intouch: Emu) -> None:
    """Intouch: fresh apply, one-field update, membership move, group edit: ratio 1.00 each."""
    repo = make_repo(tmp_path, {"no": ("intouch", intouch)}, region="NO")
    fresh = applied(repo, intouch, INTOUCH_V1)
    assert_minimum(
        fresh,
        INTOUCH_READS
        + Counter({"POST /N/groups": 2, "POST /N/contacts": 3, "PUT /N/groups/N/contacts/N": 3})
        + Counter({"GET /N/groups/N": 2}),  # each created group's id read back
    )
    members = Counter({"GET /N/groups/N/contacts": 2})  # one member list per group
    update = applied(repo, intouch, INTOUCH_V1.replace("first_name: Ann", "first_name: Anna"))
    assert_minimum(update, INTOUCH_READS + members + Counter({"PUT /N/contacts/N": 1}))
    move = applied(
        repo,
        intouch,
        INTOUCH_V1.replace("first_name: Ann", "first_name: Anna").replace(
            "Cy, groups: [VIP]", "Cy, groups: [Staff]"
        ),
    )
    assert_minimum(
        move,
        INTOUCH_READS
        + members
        + Counter({"DELETE /N/groups/N/contacts/N": 1, "PUT /N/groups/N/contacts/N": 1}),
    )
    group = applied(
        repo,
        intouch,
        INTOUCH_V1.replace("first_name: Ann", "first_name: Anna")
        .replace("Cy, groups: [VIP]", "Cy, groups: [Staff]")
        .replace("Best customers", "Our best customers"),
    )
    assert_minimum(group, INTOUCH_READS + members + Counter({"PUT /N/groups/N": 1}))


SMSC_SESSION = Counter(
    {
        "POST /api/Security/Login": 1,
        "DELETE /api/Security/Logout/N": 1,
        "GET /api/Users/GetFolders/N": 1,
        "GET /api/Phonelists/GetLists/N": 1,  # the root folder
        "GET /api/Phonelists/GetLists/N/N": 1,  # the sandbox user's one folder
        "GET /api/Company/GetHeaders/N": 1,  # campaign checks: senders
        "GET /api/Company/GetBrands/N": 1,  # and brands
        "GET /api/Status/GetAllStops/N": 1,  # opt-out checks of list numbers
        "GET /api/Status/GetAllReinstates/N": 1,
    }
)
SMSC_V1 = """\
    account: uk
    phone_lists:
      - name: VIP
        numbers: ["+447700900123", "+447700900124"]
    campaigns:
      - name: spring
        text: "Spring sale. Reply STOP to opt out."
        sender: "82830"
        brand: Acme
        send_at: 2030-03-06T09:00:00+00:00
        to: {phone_lists: [VIP]}
"""


def test_smsconnector_requests_are_the_minimum(tmp_path: Path, smsconnector: Emu) -> None:
    """SMSConnector: fresh apply, list append, campaign replace: ratio 1.00 each."""
    repo = make_repo(tmp_path, {"uk": ("smsconnector", smsconnector)}, region="GB")
    campaign = Counter(
        {
            "POST /api/Campaigns/CreateCampaign": 1,
            "POST /api/Campaigns/LinkCampaignAndPhonelist": 1,
            "POST /api/Campaigns/LaunchCampaign": 1,
        }
    )
    fresh = applied(repo, smsconnector, SMSC_V1)
    create_list = Counter(
        {
            "POST /api/Phonelists/CreateList": 1,
            "GET /api/Phonelists/GetList/N/N": 1,  # the new list's id read back before numbers go in
            "POST /api/Phonelists/AddMultipleEntries": 1,
        }
    )
    assert_minimum(fresh, SMSC_SESSION + create_list + campaign)
    entries = Counter({"GET /api/Phonelists/GetNumbers/N/N": 1})  # one per existing list
    append = applied(
        repo, smsconnector, SMSC_V1.replace('"+447700900124"', '"+447700900124", "+447700900125"')
    )
    assert_minimum(append, SMSC_SESSION + entries + Counter({"POST /api/Phonelists/AddMultipleEntries": 1}))
    replace = applied(
        repo,
        smsconnector,
        SMSC_V1.replace('"+447700900124"', '"+447700900124", "+447700900125"').replace(
            "Spring sale.", "Spring sale!"
        ),
    )
    stop = Counter({"POST /api/Campaigns/StopCampaign": 1})  # campaigns cannot be edited or deleted
    assert_minimum(replace, SMSC_SESSION + entries + stop + campaign)


INTIME_READS = Counter(
    {
        "GET /api/1.0/contacts/listgroups.ashx": 1,
        "GET /api/1.0/nix/list.ashx": 1,
        "GET /api/1.0/reminder/list.ashx": 1,
    }
)
INTIME_V1 = """\
    account: se
    groups:
      - name: Patienter
    contacts:
      - {mobile: "0709876543", first_name: Anna, groups: [Patienter]}
      - {mobile: "0708765432", first_name: Bo, groups: [Patienter]}
    campaigns:
      - name: flu
        sender: Tandklinik
        text: "Flu shots 1-5 March."
        send_at: 2030-02-25T09:00:00
        to: {groups: [Patienter]}
"""


def test_intime_requests_are_the_minimum(tmp_path: Path, intime: Emu) -> None:
    """InTime: fresh apply (contacts in one batch), campaign replace: ratio 1.00 each."""
    repo = make_repo(tmp_path, {"se": ("intime", intime)}, region="SE")
    fresh = applied(repo, intime, INTIME_V1)
    writes = Counter(
        {
            "POST /api/1.0/contacts/addgroup.ashx": 1,
            "GET /api/1.0/contacts/listgroups.ashx": 1,  # the new group ids read back
            "POST /api/1.0/contacts/add.ashx": 1,  # both contacts in one batch
            "POST /api/1.0/message/create.ashx": 1,
        }
    )
    assert_minimum(fresh, INTIME_READS + writes)
    replace = applied(repo, intime, INTIME_V1.replace("1-5 March", "1-6 March"))
    assert_minimum(
        replace,
        INTIME_READS
        + Counter({"POST /api/1.0/message/delete.ashx": 1, "POST /api/1.0/message/create.ashx": 1}),
    )
