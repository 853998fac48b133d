"""Server-side actions of the helpdesk's decision table."""

import re

import workbench

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: what was "sent", for tests and the curious (a real task would call its mail service)
OUTBOX: list[dict] = []


@workbench.action("send_password_generation_link")
def send_password_generation_link(inputs: dict, data: dict) -> dict:
    """Queue the password-reset e-mail; fails on an invalid address or one that bounces."""
    email = inputs.get("email", "").strip()
    if not EMAIL.match(email):
        return {"status": False, "reset_error": f"not an e-mail address: {email!r}"}
    if email.rsplit("@", 1)[1].startswith("bounce."):
        return {"status": False, "reset_error": f"the mail server refused {email}"}
    OUTBOX.append({"to": email, "subject": inputs.get("subject", ""), "body": inputs.get("template", "")})
    return {"status": True, "reset_sent_to": email}
