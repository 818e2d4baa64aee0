"""The client address behind trusted reverse proxies (issue 14 §6): ``core.client_ip``."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from choshu.core.client_ip import client_ip, parse_address, parse_networks

PROXY = "10.0.0.5"
CLIENT = "203.0.113.7"


def _request(remote: str, forwarded: str | None = None) -> Any:
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.CHOSHU_TRUSTED_PROXIES = ("10.0.0.0/24", "2001:db8:1::/48", "192.0.2.254")


def test_without_trusted_proxies_the_header_is_ignored(settings: Any) -> None:
    settings.CHOSHU_TRUSTED_PROXIES = ()
    assert client_ip(_request(CLIENT, "198.51.100.1")) == CLIENT
    assert client_ip(_request(PROXY, CLIENT)) == PROXY


def test_a_spoofed_header_from_an_untrusted_client_changes_nothing(behind_proxy: None) -> None:
    # an attacker on the network sends the chief's desk address: it is not believed
    assert client_ip(_request(CLIENT, "192.0.2.10")) == CLIENT
    assert client_ip(_request(CLIENT, "10.0.0.9, 192.0.2.10")) == CLIENT


def test_one_trusted_proxy_names_the_client(behind_proxy: None) -> None:
    assert client_ip(_request(PROXY, CLIENT)) == CLIENT
    assert client_ip(_request(PROXY, f"  {CLIENT}  ")) == CLIENT


def test_a_chain_of_trusted_proxies_is_walked_from_the_right(behind_proxy: None) -> None:
    # client → 192.0.2.254 (edge, trusted) → 10.0.0.7 (trusted) → 10.0.0.5 (REMOTE_ADDR)
    assert client_ip(_request(PROXY, f"{CLIENT}, 192.0.2.254, 10.0.0.7")) == CLIENT


def test_what_the_client_wrote_left_of_its_own_address_is_not_believed(behind_proxy: None) -> None:
    # the client sent "X-Forwarded-For: 192.0.2.10"; the proxy appended the real address
    assert client_ip(_request(PROXY, f"192.0.2.10, {CLIENT}")) == CLIENT
    # even when the forged entry claims to be one of our proxies
    assert client_ip(_request(PROXY, f"10.0.0.9, {CLIENT}")) == CLIENT


def test_ipv6_proxies_and_clients(behind_proxy: None) -> None:
    assert client_ip(_request("2001:db8:1::2", "2001:db8:ffff::9")) == "2001:db8:ffff::9"
    # an IPv4 client written in IPv6 form is the IPv4 address
    assert client_ip(_request(PROXY, f"::ffff:{CLIENT}")) == CLIENT
    assert client_ip(_request(f"::ffff:{PROXY}", CLIENT)) == CLIENT


def test_every_hop_a_trusted_proxy_gives_the_leftmost(behind_proxy: None) -> None:
    assert client_ip(_request(PROXY, "10.0.0.8, 10.0.0.7")) == "10.0.0.8"


@pytest.mark.parametrize(
    "header",
    [
        "unknown",
        f"{CLIENT}:51234",  # a port
        "[2001:db8::1]",  # brackets
        "fe80::1%eth0",  # a zone
        "203.0.113.256",
        "1" * 200,
        "<script>",
        f"{CLIENT},,",  # an empty hop next to the proxy
        "\x00",
        "２０３.０.１１３.７",  # full-width digits
        f"{CLIENT}, 203.0.113.1 OR 1=1",
    ],
)
def test_a_malformed_header_falls_back_to_the_proxy_address(behind_proxy: None, header: str) -> None:
    assert client_ip(_request(PROXY, header)) == PROXY


def test_an_empty_header_or_none_gives_the_proxy_address(behind_proxy: None) -> None:
    assert client_ip(_request(PROXY, "")) == PROXY
    assert client_ip(_request(PROXY)) == PROXY


def test_a_malformed_remote_addr_is_returned_as_is_and_never_trusted(behind_proxy: None) -> None:
    assert client_ip(_request("", CLIENT)) == ""
    assert client_ip(_request("testclient", CLIENT)) == "testclient"


def test_parse_networks_names_the_bad_entry() -> None:
    assert [str(n) for n in parse_networks(["10.0.0.1", " 10.1.0.0/16 ", "", "2001:db8::/32"])] == [
        "10.0.0.1/32",
        "10.1.0.0/16",
        "2001:db8::/32",
    ]
    with pytest.raises(ValueError, match="proxy.local"):
        parse_networks(["10.0.0.1", "proxy.local"])


def test_parse_address_accepts_only_bare_addresses() -> None:
    assert str(parse_address(" 192.0.2.1 ")) == "192.0.2.1"
    assert str(parse_address("2001:DB8::1")) == "2001:db8::1"
    assert parse_address("192.0.2.1/32") is None
    assert parse_address("") is None
