"""The site's own date and time formats (FORMAT_MODULE_PATH): 24-hour times in both languages
("8:30 – 11:30"), never Django's English "8:30 a.m."."""
