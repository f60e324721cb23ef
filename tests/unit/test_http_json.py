"""take_json: an answer's JSON, parsed after its bytes are let go, as Response.json() reads it."""

from __future__ import annotations

import json

import pytest
import requests

from reconciler.http import take_json


def answer(body: bytes, content_type: str = "application/json; charset=utf-8") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    if content_type:
        response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response._content = body  # noqa: SLF001 - as reconciler.http keeps a read body
    return response


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps([{"Firstname": "Åsa", "ContactId": 7}]).encode(), "application/json; charset=utf-8"),
        ('{"Name": "Ünïcode"}'.encode("utf-16"), ""),  # no declared encoding: guessed, as json() does
        ('{"Name": "Ünïcode"}'.encode(), "application/json"),
        (b"42", "application/json"),
    ],
)
def test_the_json_is_what_response_json_gives_and_the_body_is_let_go(body: bytes, content_type: str) -> None:
    assert take_json(answer(body, content_type)) == answer(body, content_type).json()
    response = answer(body, content_type)
    take_json(response)
    assert response.content == b""


def test_an_answer_that_is_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        take_json(answer(b"<html>busy</html>"))
