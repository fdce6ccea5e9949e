"""`downstack`: the terminal client for a Downstack server. It talks only to the JSON API."""
