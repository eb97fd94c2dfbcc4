"""Names the local engine makes: generated workflow names and the creator label (pure functions)."""

from __future__ import annotations

import pytest

from hera_magics.local.naming import GENERATE_NAME_ALPHABET, dns_friendly, generated_name


def test_generated_names_use_the_kubernetes_alphabet():
    for _ in range(50):
        name = generated_name("hello-")
        assert name.startswith("hello-") and len(name) == 11
        assert set(name[6:]) <= set(GENERATE_NAME_ALPHABET)
    assert len(generated_name("p" * 80)) == 63


@pytest.mark.parametrize(
    ("text", "expected"),
    [("root", "root"), ("Jane.Doe@x.io", "jane.doe-x.io"), ("system:serviceaccount:argo:argo-server",
                                                             "system-serviceaccount-argo-argo-server")],
)
def test_dns_friendly_creator_label(text, expected):
    assert dns_friendly(text) == expected
