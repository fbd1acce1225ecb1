"""`responder report`: figures about tickets opened in a period, for the terminal or HTML."""
