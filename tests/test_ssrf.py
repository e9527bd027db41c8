"""Result links: https to public addresses only (every redirect hop is checked the same
way by the caller); the configured gateway's own origin is trusted as it is."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from imagestudio.web import messages, ssrf

SIMULATOR = "http://127.0.0.1:8123/v1"


@pytest.fixture
def dns(monkeypatch):
    """Names resolve to what the test says; literal addresses to themselves."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in table[host]
            ]
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "unknown") from None
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def test_an_https_link_to_a_public_host_is_fetched(dns):
    dns["cdn.example"] = ["93.184.216.34"]
    assert ssrf.check_url("https://cdn.example/a.png") == [ipaddress.ip_address("93.184.216.34")]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "ff02::1",
    ],
)
def test_a_name_resolving_inside_is_refused(dns, address):
    dns["inside.example"] = [address]
    with pytest.raises(ssrf.AddressRefused) as refused:
        ssrf.check_url("https://inside.example/a.png")
    assert address not in str(refused.value)  # the log line names the host, not the address


def test_one_private_address_among_public_ones_is_refused(dns):
    dns["mixed.example"] = ["93.184.216.34", "10.0.0.5"]
    with pytest.raises(ssrf.AddressRefused):
        ssrf.check_url("https://mixed.example/a.png")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/a.png",
        "https://[::1]/a.png",
        "https://2130706433/a.png",  # 127.0.0.1 as one number
        "https://0x7f.1/a.png",
        "https://127.1/a.png",
        "https://[::ffff:169.254.169.254]/latest/meta-data",
        "https://localhost/a.png",
    ],
)
def test_literal_and_odd_spellings_of_inside_addresses_are_refused(url):
    with pytest.raises(ssrf.AddressRefused):
        ssrf.check_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://cdn.example/a.png", "ftp://cdn.example/a.png", "file:///etc/passwd", "/a.png", ""],
)
def test_only_https_is_fetched(dns, url):
    dns["cdn.example"] = ["93.184.216.34"]
    with pytest.raises(ssrf.AddressRefused):
        ssrf.check_url(url)


def test_an_unresolvable_name_is_refused(dns):
    with pytest.raises(ssrf.AddressRefused):
        ssrf.check_url("https://nowhere.invalid/a.png")


def test_the_configured_gateway_origin_is_trusted_even_on_loopback():
    assert ssrf.check_url("http://127.0.0.1:8123/files/a.png", trusted_bases=[SIMULATOR]) == []


def test_trust_is_for_that_origin_only():
    with pytest.raises(ssrf.AddressRefused):
        ssrf.check_url("http://127.0.0.1:6379/", trusted_bases=[SIMULATOR])
    with pytest.raises(ssrf.AddressRefused):
        ssrf.check_url("https://127.0.0.1:8123/a.png", trusted_bases=[SIMULATOR])


def test_the_message_for_people_names_no_address():
    text = messages.result_link_refused()
    assert "127.0.0.1" not in text and "http" not in text
