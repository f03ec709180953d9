"""The senders of each channel, behind one protocol (``base.Provider``)."""
