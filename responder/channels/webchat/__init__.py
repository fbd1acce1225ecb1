"""The website chat channel (issue 17): the widget's API on the daemon's HTTP endpoint."""
