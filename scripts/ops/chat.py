"""Chat with the running assistant in the terminal over its REST channel (`make shell`)."""

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Dict, List, Optional, Tuple

from analytics.topics import SHELL_CLIENT
from scripts.ops import settings

# The report counts these conversations apart from the REST API's (analytics/topics.py).
METADATA = {"client": SHELL_CLIENT}


def send(url: str, sender: Optional[str], message: str) -> Tuple[List[Dict], str]:
    """Post one message to the REST channel: the bot's replies and the conversation's id
    (the server issues it on the first message)."""
    body: Dict = {"message": message, "metadata": METADATA}
    if sender:
        body["sender"] = sender
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8")), response.headers["X-Conversation-Id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    port = settings.port("RASA_PORT")
    parser.add_argument("--url", default=f"http://localhost:{port}/webhooks/rest/webhook")
    args = parser.parse_args()
    sender: Optional[str] = None
    buttons: List[Dict] = []
    print("Type a message (a number picks a button; Ctrl-D to quit).")
    for line in sys.stdin if not sys.stdin.isatty() else iter(lambda: input("you> "), None):
        text = line.strip()
        if text.isdigit() and 0 < int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        started = sender is None
        try:
            replies, sender = send(args.url, sender, text)
        except urllib.error.URLError as error:
            sys.exit(f"Cannot reach the assistant at {args.url} ({error}). Is `make run` running?")
        if started:  # what `make delete-conversation SENDER=...` needs
            print(f"(conversation {sender})")
        buttons = []
        for reply in replies:
            if "text" in reply:
                print(f"bot> {reply['text']}")
            for button in reply.get("buttons", []):
                buttons.append(button)
                print(f"     {len(buttons)}. {button['title']}")


if __name__ == "__main__":
    try:
        main()
    except (EOFError, KeyboardInterrupt):
        print()
