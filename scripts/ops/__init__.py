"""Running the assistant: the servers, the cluster, the containers and host services, their
deployment configs, the clinic page and terminal chat, conversation retention, the report and
backups. Nothing is imported here: the page image copies web_page.py alone with this file."""
