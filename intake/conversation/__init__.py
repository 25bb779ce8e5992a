"""The reporter's side of the conversation: comments, replies, acceptance, rating,
reopening, and following a complaint."""
