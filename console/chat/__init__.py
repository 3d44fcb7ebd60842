"""Approving from chat (issue 16): the providers' callbacks arrive at
``POST /api/v1/channels/{id}/interactions``. It sits in the console, above repairs and
policies, because a pressed button decides through their services."""
