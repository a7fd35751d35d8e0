"""Chat with the running assistant in the terminal over its REST channel (`make shell`)."""

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Dict, List


def send(url: str, sender: str, message: str) -> List[Dict]:
    """Post one message to the REST channel and return the bot's replies."""
    body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://localhost:5005/webhooks/rest/webhook")
    args = parser.parse_args()
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    buttons: List[Dict] = []
    print("Type a message (a number picks a button; Ctrl-D to quit).")
    for line in sys.stdin if not sys.stdin.isatty() else iter(lambda: input("you> "), None):
        text = line.strip()
        if text.isdigit() and 0 < int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        try:
            replies = send(args.url, sender, text)
        except urllib.error.URLError as error:
            sys.exit(f"Cannot reach the assistant at {args.url} ({error}). Is `make run` running?")
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
