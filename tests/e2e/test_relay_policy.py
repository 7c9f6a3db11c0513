"""Relay policy (docs/RELAY.md): off by default, and when on only clients
in relay.networks may send to non-local domains; everyone else still gets
550 5.7.1."""
import smtplib

import pytest

from relay_support import free_port, relay_overrides

pytestmark = pytest.mark.e2


def rcpt_reply(port, rcpt, source=None):
    with smtplib.SMTP("127.0.0.1", port, timeout=10, source_address=(source, 0) if source else None) as s:
        s.ehlo("client.test")
        s.mail("alice@example.test")
        return s.rcpt(rcpt)


def test_relaying_is_denied_by_default(mailnest_factory):
    a = mailnest_factory(name="a")
    code, text = rcpt_reply(a.smtp_port, "bob@b.test")
    assert (code, text[:5]) == (550, b"5.7.1")
    assert not (a.mail_root / ".queue").exists()


def test_client_outside_relay_networks_is_refused(mailnest_factory):
    a = mailnest_factory(name="a", **relay_overrides(free_port(), networks=["127.0.0.1/32", "::1/128"]))
    # 127.0.0.2 is loopback too, but not in relay.networks.
    code, text = rcpt_reply(a.smtp_port, "bob@b.test", source="127.0.0.2")
    assert (code, text[:5]) == (550, b"5.7.1")
    # Local recipients are still accepted from it.
    code, _ = rcpt_reply(a.smtp_port, "bob@example.test", source="127.0.0.2")
    assert code == 250
    # A listed client may relay.
    code, _ = rcpt_reply(a.smtp_port, "bob@b.test", source="127.0.0.1")
    assert code == 250


def test_bad_relay_network_is_a_config_error_naming_the_key(mailnest_factory):
    with pytest.raises(RuntimeError) as e:
        mailnest_factory(name="a", relay={"enabled": True, "networks": ["127.0.0.0/33"]})
    assert "relay.networks" in str(e.value)
