"""Messaging providers' webhooks: Twilio's status callbacks and inbound texts, WhatsApp's subscription check,
statuses and inbound messages. Verified from the raw body before anything is read, stored once per
callback, acted on in the request's transaction (a refused one stores nothing)."""
