"""Services: channels that carry people in and out of the runtime (websocket, browser, Messenger, REST)."""
