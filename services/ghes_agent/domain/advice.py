"""What an administrator can do about a failed sync, chosen by the error's word.

``/sync/status`` answers it beside the error and the agent's page shows it. Errors that
already say what to do (the users source's, such as GHES refusing the site-admin token)
have no separate advice: their message is the advice.
"""

from __future__ import annotations

_KEPT = "The report is kept and sent again automatically."

ADVICE: dict[str, str] = {
    "unreachable": (
        "Check GHES_AGENT_CLOUD_URL and the network path from this host to the cloud (DNS, "
        f"proxy, firewall). {_KEPT}"
    ),
    "timeout": (
        "The cloud did not answer in time. Check the network path to it; on a very large "
        f"instance raise GHES_AGENT_HTTP_TIMEOUT_SECONDS. {_KEPT}"
    ),
    "unauthorized": (
        "The cloud refused this instance's token: it is wrong or revoked, or the instance was "
        "disconnected. On the cloud dashboard (Server instances) rotate the instance's token, "
        "or connect the instance again, and set GHES_AGENT_INSTANCE_TOKEN to the new token."
    ),
    "server_id_mismatch": (
        "The instance token belongs to another GHES instance. Connect this instance on the "
        "cloud dashboard and set GHES_AGENT_INSTANCE_TOKEN to its own token."
    ),
    "not_connected": (
        "This agent has no cloud to send to: set GHES_AGENT_CLOUD_URL and "
        "GHES_AGENT_INSTANCE_TOKEN, or use Export license usage and upload the file on the "
        "cloud dashboard (Add server usage)."
    ),
    "payload_too_large": (
        "The cloud refused the report's size. Ask the cloud's operator to raise its body size "
        "limit, or export the file and upload it."
    ),
    "invalid_report": (
        "The cloud refused the report's content: the agent and the cloud disagree on the "
        "format. Upgrade the agent to the cloud's version."
    ),
    "report_id_conflict": (
        "The cloud holds a different report under the same report_id: two agents may share "
        "one data directory. Give each agent its own GHES_AGENT_DATA_DIR and database."
    ),
    "interrupted": (
        "The agent stopped during the run. A report it had made is sent again automatically; "
        "press Sync now to read the users again."
    ),
    "unexpected": "The agent's log has the details of this error; press Sync now to try again.",
}
_CLOUD_SIDE = f"The cloud had a problem on its side. {_KEPT}"


def advice_for(code: str | None) -> str | None:
    """The advice for an error word; None when there is none beyond the message itself."""
    if code is None:
        return None
    if code in ADVICE:
        return ADVICE[code]
    if code == "database_unavailable" or code.startswith("http_5"):
        return _CLOUD_SIDE
    return None
