"""A download's Content-Type is the uploader's declared type only when it is a type/subtype."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.mark.parametrize(
    ("declared", "sent"),
    [
        ("text/plain", "text/plain"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("0", "application/octet-stream"),
        ("not a type", "application/octet-stream"),
    ],
)
def test_the_download_content_type_is_a_valid_media_type(alice, declared, sent):
    vault = alice.client.post("/vault", {"name": "Deals"}, format="json").json()
    upload = alice.client.post(
        f"/vault/{vault['id']}/objects",
        {
            "file": SimpleUploadedFile("a.txt", b"hello"),
            "contentType": declared,
            "autoIndex": "false",
        },
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    response = alice.client.get(f"/vault/{vault['id']}/objects/{upload.json()['id']}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == sent
