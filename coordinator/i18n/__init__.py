"""The languages people read Homeward in: message catalogues, the reader's language, names."""
