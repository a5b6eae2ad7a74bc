"""Use cases. Views, the API, commands and tasks call these; these call `client.py`."""
